// A client for one registry host speaking the distribution API (OCI distribution-spec):
// ping, auth, manifests, blobs, tags, and (in registry-upload.ts) pushes. It knows nothing
// about mirrors, short names or storage: pull and push orchestration pick endpoints
// (registry-endpoints.ts) and make one client per endpoint.
import type { IncomingMessage } from 'node:http';
import { Readable } from 'node:stream';
import { InvalidArgumentError, NotFoundError, TspodError } from '../errors';
import { AuthStoreOptions, Credentials, lookupCredentials } from './auth-store';
import { DigestMismatchError, DigestVerifier, digestLike, sha256Digest, validateDigest } from './digest';
import { MANIFEST_ACCEPT } from './manifest';
import { CachedToken, TokenCache, basicAuthorization, chooseChallenge, Challenge, fetchToken, parseChallenges, repositoryScope, sharedTokenCache } from './registry-auth';
import { downloadBlob } from './blob-download';
import { RegistryError, UnauthorizedError, connectionError, formatErrorDetails, parseErrorBody, tlsHint, RegistryConnectionError } from './registry-errors';
import {
  DEFAULT_RETRY_DELAYS,
  HttpAgents,
  HttpRequestSpec,
  certsDirCAs,
  discard,
  header,
  isRedirect,
  readBody,
  sendOnce,
  sendWithRetries,
} from './registry-http';
import { UploadBlobOptions, UploadResult, putManifest, uploadBlob } from './registry-upload';

export type { UploadBlobOptions, UploadResult } from './registry-upload';
export { RegistryConnectionError, RegistryError, UnauthorizedError } from './registry-errors';

/** Where to find credentials: a fixed set, a lookup per repository, or null for anonymous. */
export type CredentialSource = Credentials | null | ((repository: string) => Promise<Credentials | undefined>);

export interface RegistryClientOptions {
  /** undefined: look them up in the auth files (auth-store.ts) for each repository */
  credentials?: CredentialSource;
  authStore?: AuthStoreOptions;
  /** extra trusted CA certificates (PEM); default: the host's certs.d directories */
  ca?: string[];
  /** waits between retries (tests shorten them) */
  retryDelays?: number[];
  tokenCache?: TokenCache;
}

export interface RegistryTarget {
  /** host[:port] as in references and auth files (docker.io, 127.0.0.1:5000) */
  host: string;
  insecure?: boolean;
  allowHttp?: boolean;
}

export interface ManifestResponse {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

export interface ManifestHead {
  digest?: string;
  mediaType?: string;
  size?: number;
}

export interface GetBlobOptions {
  /** resume from this byte: needs `verifier`, seeded with the bytes already held */
  offset?: number;
  /** the descriptor's size: more bytes fail at once */
  expectedSize?: number;
  verifier?: DigestVerifier;
}

export interface BlobDownload {
  /** the verified content from `offset`; errors with DigestMismatchError at the end if bad */
  stream: DigestVerifier;
  /** the blob's total size when the registry said */
  size?: number;
  offset: number;
}

/** @internal a request as registry-upload.ts and blob-download.ts make them */
export interface ApiRequest {
  method: string;
  /** a path on the registry (`/v2/...`) or an absolute URL from a Location header */
  target: string | URL;
  headers?: Record<string, string>;
  body?: HttpRequestSpec['body'];
  scopes: string[];
  repository: string;
  /** for error messages: "fetching manifest x" */
  context: string;
  /** false: one attempt (bodies that cannot be replayed, upload sessions) */
  retry?: boolean;
}

const MANIFEST_LIMIT = 4 << 20;
const ERROR_BODY_LIMIT = 64 << 10;
const MAX_REDIRECTS = 10;

function isDigestRef(reference: string): boolean {
  return reference.includes(':');
}

export class RegistryClient {
  readonly host: string;
  readonly insecure: boolean;
  readonly allowHttp: boolean;
  readonly retryDelays: number[];
  /** Docker Hub's API lives on another name than its references use. */
  private readonly apiHost: string;
  private readonly agents: HttpAgents;
  private readonly tokens: TokenCache;
  private readonly creds = new Map<string, Promise<Credentials | undefined>>();
  private readonly pendingTokens = new Map<string, Promise<CachedToken>>();
  private base: URL | undefined;
  private challenge: Challenge | undefined;
  private pinging: Promise<void> | undefined;

  constructor(
    target: RegistryTarget,
    private readonly options: RegistryClientOptions = {},
  ) {
    this.host = target.host;
    this.apiHost = target.host === 'docker.io' ? 'registry-1.docker.io' : target.host;
    this.insecure = target.insecure ?? false;
    this.allowHttp = target.allowHttp ?? this.insecure;
    this.retryDelays = options.retryDelays ?? DEFAULT_RETRY_DELAYS;
    this.agents = new HttpAgents({ ca: options.ca ?? certsDirCAs(target.host, options.authStore?.env) });
    this.tokens = options.tokenCache ?? sharedTokenCache;
  }

  /** The scheme and host the registry answered on, once pinged. */
  get baseUrl(): URL | undefined {
    return this.base;
  }

  /** Closes pooled connections. */
  close(): void {
    this.agents.destroy();
  }

  /** GET /v2/: picks https or (when allowed) http and learns how the registry authenticates. */
  ping(): Promise<void> {
    this.pinging ??= this.probe().catch((err: unknown) => {
      this.pinging = undefined;
      throw err;
    });
    return this.pinging;
  }

  private async probe(): Promise<void> {
    const context = `pinging registry ${this.host}`;
    const errors: TspodError[] = [];
    for (const scheme of this.allowHttp ? ['https:', 'http:'] : ['https:']) {
      const base = new URL(`${scheme}//${this.apiHost}/`);
      let res: IncomingMessage;
      try {
        res = await sendWithRetries({ method: 'GET', url: new URL('/v2/', base), insecure: this.insecure }, this.agents, { delays: this.retryDelays, networkErrors: false });
      } catch (err) {
        errors.push(connectionError(err, context));
        continue;
      }
      const status = res.statusCode ?? 0;
      discard(res);
      if (status === 200 || status === 401) {
        this.base = base;
        this.challenge = status === 401 ? chooseChallenge(parseChallenges(header(res, 'www-authenticate'))) : undefined;
        return;
      }
      errors.push(new RegistryError(`${context}: unexpected HTTP ${status} from ${base.origin}/v2/ (is this a registry?)`, status));
    }
    // https's failure is the one to report, unless the server speaks plain HTTP and http was
    // tried too: then http's answer is the informative one.
    const [viaHttps, viaHttp] = errors;
    const err = viaHttps instanceof RegistryConnectionError && viaHttps.plainHttp && viaHttp ? viaHttp : viaHttps;
    if (err instanceof RegistryConnectionError && err.tls) {
      throw new RegistryConnectionError(`${err.message}; ${tlsHint(this.host)}`, err.code, true, err.plainHttp);
    }
    throw err;
  }

  private credentialsFor(repository: string): Promise<Credentials | undefined> {
    const src = this.options.credentials;
    if (src === null) return Promise.resolve(undefined);
    if (typeof src === 'object') return Promise.resolve(src);
    let p = this.creds.get(repository);
    if (!p) {
      p = typeof src === 'function' ? src(repository) : lookupCredentials(repository ? `${this.host}/${repository}` : this.host, this.options.authStore);
      this.creds.set(repository, p);
    }
    return p;
  }

  /** The Authorization header for `scopes`, fetching a token when the registry wants one. */
  private async authorization(scopes: string[], creds: Credentials | undefined, fresh: boolean): Promise<string | undefined> {
    const ch = this.challenge;
    if (ch?.scheme === 'basic') return creds && (creds.username || creds.password) ? basicAuthorization(creds) : undefined;
    if (ch?.scheme !== 'bearer') return undefined;
    const key = TokenCache.key(this.host, creds?.username ?? '', scopes);
    const cached = fresh ? undefined : this.tokens.get(key);
    if (cached) return `Bearer ${cached}`;
    // Parallel layer downloads share one token request instead of each making their own.
    let pending = this.pendingTokens.get(key);
    if (!pending) {
      pending = fetchToken(this.host, ch, scopes, creds, async (spec) => {
        try {
          return await sendWithRetries({ ...spec, insecure: this.insecure }, this.agents, { delays: this.retryDelays, networkErrors: true });
        } catch (err) {
          throw connectionError(err, `getting a token for ${this.host} from ${spec.url.origin}`);
        }
      }).finally(() => this.pendingTokens.delete(key));
      this.pendingTokens.set(key, pending);
    }
    const token = await pending;
    this.tokens.set(key, token);
    return `Bearer ${token.token}`;
  }

  /** One request, following redirects; Authorization goes only to the registry's own host. */
  private async exchange(url: URL, req: ApiRequest, auth: string | undefined): Promise<IncomingMessage> {
    let current = url;
    for (let hops = 0; ; hops++) {
      const headers: Record<string, string> = { ...req.headers };
      if (auth && current.host === this.base?.host) headers.Authorization = auth;
      const spec: HttpRequestSpec = { method: req.method, url: current, headers, body: req.body, insecure: this.insecure };
      let res: IncomingMessage;
      try {
        res = req.retry === false ? await sendOnce(spec, this.agents) : await sendWithRetries(spec, this.agents, { delays: this.retryDelays, networkErrors: true });
      } catch (err) {
        throw connectionError(err, `${req.context}: ${current.host}`);
      }
      const location = header(res, 'location');
      if (!isRedirect(res.statusCode ?? 0) || !location || (req.method !== 'GET' && req.method !== 'HEAD') || hops >= MAX_REDIRECTS) return res;
      discard(res);
      current = new URL(location, current);
    }
  }

  /** @internal Sends an API request with auth: a 401 with a new challenge is answered once. */
  async send(req: ApiRequest): Promise<IncomingMessage> {
    await this.ping();
    const url = typeof req.target === 'string' ? new URL(req.target, this.base) : req.target;
    const creds = await this.credentialsFor(req.repository);
    const res = await this.exchange(url, req, await this.authorization(req.scopes, creds, false));
    if (res.statusCode !== 401) return res;
    const ch = chooseChallenge(parseChallenges(header(res, 'www-authenticate')));
    // A Basic challenge we cannot answer, or none at all: report this 401.
    if (!ch || (ch.scheme === 'basic' && !(creds?.username || creds?.password))) return res;
    discard(res);
    this.challenge = ch;
    const scopes = [...new Set([...req.scopes, ...(ch.params.scope ? ch.params.scope.split(' ') : [])])];
    return this.exchange(url, req, await this.authorization(scopes, creds, true));
  }

  /** @internal The typed error for a failed response; consumes its body. */
  async responseError(res: IncomingMessage, kind: 'manifest' | 'blob' | 'tags' | 'upload' | 'login', repository: string, name: string): Promise<TspodError> {
    const status = res.statusCode ?? 0;
    const body = await readBody(res, ERROR_BODY_LIMIT).catch(() => Buffer.alloc(0));
    const details = parseErrorBody(body);
    const detail = formatErrorDetails(details);
    const creds = await this.credentialsFor(repository).catch(() => undefined);
    if (status === 401) {
      if (creds) return new UnauthorizedError(`authentication failed for ${this.host} as ${creds.username || 'token'}${detail ? `: ${detail}` : ''}`);
      return new UnauthorizedError(`authentication required for ${this.host}: run "tspod login ${this.host}"`);
    }
    if (status === 403) {
      const hint = creds ? '' : `; run "tspod login ${this.host}"`;
      return new UnauthorizedError(`access to ${name} denied${detail ? `: ${detail}` : ''}${hint}`);
    }
    if (status === 404) {
      if (kind === 'manifest') return new NotFoundError(`manifest unknown: ${name} not found`);
      if (kind === 'blob') return new NotFoundError(`blob unknown: ${name} not found`);
      if (kind === 'tags') return new NotFoundError(`repository name not known to registry: ${name}`);
    }
    const codes = details.map((d) => d.code);
    return new RegistryError(`${kind === 'upload' ? 'uploading to' : 'reading'} ${name}: HTTP ${status}${detail ? `: ${detail}` : ''}`, status, codes);
  }

  private nameOf(repository: string, reference?: string): string {
    const base = `${this.host}/${repository}`;
    if (reference === undefined) return base;
    return isDigestRef(reference) ? `${base}@${reference}` : `${base}:${reference}`;
  }

  /**
   * `tspod login`: checks the credentials against the registry without a repository scope.
   * Throws UnauthorizedError when they are refused; a registry without auth accepts anything.
   */
  async verifyLogin(): Promise<void> {
    await this.ping();
    const creds = await this.credentialsFor('');
    if (this.challenge?.scheme === 'bearer') {
      await this.authorization([], creds, true);
      return;
    }
    const res = await this.send({ method: 'GET', target: '/v2/', scopes: [], repository: '', context: `logging in to ${this.host}` });
    if (res.statusCode !== 200) throw await this.responseError(res, 'login', '', this.host);
    discard(res);
  }

  /** The manifest or index `reference` (a tag or a digest) names, verified when by digest. */
  async getManifest(repository: string, reference: string): Promise<ManifestResponse> {
    if (isDigestRef(reference)) validateDigest(reference);
    const name = this.nameOf(repository, reference);
    const res = await this.send({
      method: 'GET',
      target: `/v2/${repository}/manifests/${reference}`,
      headers: { Accept: MANIFEST_ACCEPT },
      scopes: [repositoryScope(repository, ['pull'])],
      repository,
      context: `fetching manifest ${name}`,
    });
    if (res.statusCode !== 200) throw await this.responseError(res, 'manifest', repository, name);
    let bytes: Buffer;
    try {
      bytes = await readBody(res, MANIFEST_LIMIT);
    } catch (err) {
      throw connectionError(err, `fetching manifest ${name}`);
    }
    const digest = isDigestRef(reference) ? digestLike(reference, bytes) : sha256Digest(bytes);
    if (isDigestRef(reference) && digest !== reference) throw new DigestMismatchError(reference, digest, undefined, bytes.length, 'manifest');
    return { bytes, mediaType: effectiveMediaType(bytes, header(res, 'content-type')), digest };
  }

  /** The manifest's digest, type and size without its body; undefined when it does not exist. */
  async headManifest(repository: string, reference: string): Promise<ManifestHead | undefined> {
    const name = this.nameOf(repository, reference);
    const res = await this.send({
      method: 'HEAD',
      target: `/v2/${repository}/manifests/${reference}`,
      headers: { Accept: MANIFEST_ACCEPT },
      scopes: [repositoryScope(repository, ['pull'])],
      repository,
      context: `checking manifest ${name}`,
    });
    if (res.statusCode !== 200 && res.statusCode !== 404) throw await this.responseError(res, 'manifest', repository, name);
    discard(res);
    if (res.statusCode === 404) return undefined;
    const length = header(res, 'content-length');
    return { digest: header(res, 'docker-content-digest'), mediaType: header(res, 'content-type')?.split(';')[0].trim(), size: length ? Number(length) : undefined };
  }

  /**
   * A blob as a verified stream. A connection that breaks mid-transfer is resumed with a
   * Range request; with `offset`, the download itself resumes an earlier partial one.
   */
  async getBlob(repository: string, digest: string, opts: GetBlobOptions = {}): Promise<BlobDownload> {
    validateDigest(digest);
    const offset = opts.offset ?? 0;
    if (offset > 0 && (!opts.verifier || opts.verifier.bytes !== offset)) {
      throw new InvalidArgumentError(`resuming blob ${digest} at ${offset} needs a DigestVerifier seeded with the first ${offset} bytes`);
    }
    const verifier = opts.verifier ?? new DigestVerifier(digest, { expectedSize: opts.expectedSize });
    return downloadBlob(this, repository, digest, offset, verifier, this.nameOf(repository, digest));
  }

  /** True when the repository holds the blob (HEAD, following redirects). */
  async blobExists(repository: string, digest: string, scopes = [repositoryScope(repository, ['pull'])]): Promise<boolean> {
    const name = this.nameOf(repository, digest);
    const res = await this.send({ method: 'HEAD', target: `/v2/${repository}/blobs/${digest}`, scopes, repository, context: `checking blob ${name}` });
    if (res.statusCode !== 200 && res.statusCode !== 404) throw await this.responseError(res, 'blob', repository, name);
    discard(res);
    return res.statusCode === 200;
  }

  /** Uploads a blob unless the repository has it; `mountFrom` tries a cross-repository mount first. */
  uploadBlob(repository: string, digest: string, size: number, streamFactory: () => Readable, opts: UploadBlobOptions = {}): Promise<UploadResult> {
    return uploadBlob(this, repository, digest, size, streamFactory, opts);
  }

  /** PUTs the exact manifest bytes under a tag or digest; returns the manifest's digest. */
  putManifest(repository: string, reference: string, bytes: Buffer, mediaType: string): Promise<string> {
    return putManifest(this, repository, reference, bytes, mediaType);
  }

  /** All tags of a repository, following the registry's pagination. */
  async listTags(repository: string): Promise<string[]> {
    const name = this.nameOf(repository);
    const tags: string[] = [];
    let target: string | URL = `/v2/${repository}/tags/list`;
    for (let page = 0; page < 10_000; page++) {
      const res: IncomingMessage = await this.send({ method: 'GET', target, scopes: [repositoryScope(repository, ['pull'])], repository, context: `listing tags of ${name}` });
      if (res.statusCode !== 200) throw await this.responseError(res, 'tags', repository, name);
      const doc = JSON.parse((await readBody(res, MANIFEST_LIMIT)).toString('utf8')) as { tags?: unknown };
      if (Array.isArray(doc.tags)) tags.push(...doc.tags.filter((t): t is string => typeof t === 'string'));
      const next = /<([^>]+)>\s*;\s*rel="?next"?/.exec(header(res, 'link') ?? '');
      if (!next) break;
      target = new URL(next[1], this.base);
    }
    return tags;
  }
}

/** The body's own mediaType wins over a generic Content-Type (some registries send application/json). */
function effectiveMediaType(bytes: Buffer, contentType: string | undefined): string {
  try {
    const doc = JSON.parse(bytes.toString('utf8')) as { mediaType?: unknown };
    if (typeof doc.mediaType === 'string' && doc.mediaType) return doc.mediaType;
  } catch {
    // parseManifest reports malformed JSON; here the header is all there is.
  }
  return contentType?.split(';')[0].trim() ?? '';
}
