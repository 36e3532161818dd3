// The registry client against an in-process fake registry (node:http on 127.0.0.1:0) that
// implements just enough of the distribution API: token and basic auth, manifests, blobs
// (with redirects to a second "storage" server, Range, corruption, broken connections),
// uploads (monolithic, chunked, mount), tags with pagination, and injected failures.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import * as https from 'node:https';
import { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { NotFoundError } from '../../pkg/errors';
import { DigestMismatchError, DigestVerifier, sha256Digest } from '../../pkg/image/digest';
import { MediaType } from '../../pkg/image/manifest';
import { parseChallenges, TokenCache } from '../../pkg/image/registry-auth';
import { RegistryClient, RegistryClientOptions } from '../../pkg/image/registry-client';
import { RegistryConnectionError, RegistryError, UnauthorizedError } from '../../pkg/image/registry-errors';

// A self-signed certificate for 127.0.0.1, valid 2000-2100.
const CERT = `-----BEGIN CERTIFICATE-----
MIIBXDCCAQKgAwIBAgIBATAKBggqhkjOPQQDAjAUMRIwEAYDVQQDDAkxMjcuMC4w
LjEwIBcNMDAwMTAxMDAwMDAwWhgPMjEwMDAxMDEwMDAwMDBaMBQxEjAQBgNVBAMM
CTEyNy4wLjAuMTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABPGpJhkzc39pymoQ
UO3AGtyVEY/RrSWJRfZBf5R4J5ch3vNyX8eRyuvNuXJ5IMY5kMpvre4yoPVYBdWE
CGmdUeGjQzBBMA8GA1UdEQQIMAaHBH8AAAEwDwYDVR0TAQH/BAUwAwEB/zAdBgNV
HQ4EFgQUkYXlg1jVCRqsMME35eIr64Wb2PcwCgYIKoZIzj0EAwIDSAAwRQIhAItq
zisGRnU3ertZBBSE/I2z+Dq2OsBoFBaQ5TlVqgEyAiAyPXOvbKzIQSnEroHu2hU/
PdLDq8a4qGueWR0e5F4K0w==
-----END CERTIFICATE-----
`;
const KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgTaC/Nc2GA4de0nfz
+5t1rjGQ1zDe0+fj48o0Ao0S0LehRANCAATxqSYZM3N/acpqEFDtwBrclRGP0a0l
iUX2QX+UeCeXId7zcl/HkcrrzblyeSDGOZDKb63uMqD1WAXVhAhpnVHh
-----END PRIVATE KEY-----
`;

interface LoggedRequest {
  method: string;
  path: string;
  auth?: string;
  range?: string;
  contentRange?: string;
  bodyLength: number;
}

interface Failure {
  match: (method: string, path: string) => boolean;
  status: number;
  times: number;
  headers?: Record<string, string>;
}

interface Upload {
  repo: string;
  data: Buffer[];
}

interface FakeOptions {
  auth?: 'bearer' | 'basic';
  users?: Record<string, string>;
  /** repositories that need a logged-in user even to pull */
  privateRepos?: string[];
  redirectBlobs?: boolean;
  absoluteLocations?: boolean;
  tls?: boolean;
}

class FakeRegistry {
  readonly log: LoggedRequest[] = [];
  readonly storageLog: LoggedRequest[] = [];
  readonly manifests = new Map<string, { bytes: Buffer; mediaType: string }>();
  readonly blobs = new Map<string, Map<string, Buffer>>();
  readonly corrupt = new Set<string>();
  readonly tamperedManifests = new Set<string>();
  /** digests whose next GET sends half the body and then drops the connection */
  readonly breakOnce = new Set<string>();
  readonly failures: Failure[] = [];
  readonly tokens = new Map<string, { user?: string; scopes: string[] }>();
  tokenRequests: Array<{ method: string; query: string; auth?: string; body: string }> = [];
  private readonly uploads = new Map<string, Upload>();
  private server!: http.Server;
  private storage!: http.Server;
  port = 0;
  storagePort = 0;

  constructor(readonly opts: FakeOptions = {}) {}

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => void this.handle(req, res);
    this.server = this.opts.tls ? https.createServer({ cert: CERT, key: KEY }, handler) : http.createServer(handler);
    this.storage = http.createServer((req, res) => this.serveStorage(req, res));
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    await new Promise<void>((r) => this.storage.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    this.storagePort = (this.storage.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    for (const s of [this.server, this.storage]) {
      s.closeAllConnections();
      await new Promise((r) => s.close(r));
    }
  }

  putBlob(repo: string, data: Buffer): string {
    const d = sha256Digest(data);
    if (!this.blobs.has(repo)) this.blobs.set(repo, new Map());
    this.blobs.get(repo)!.set(d, data);
    return d;
  }

  putManifest(repo: string, tag: string, doc: object, mediaType: string = MediaType.OCI_MANIFEST): { bytes: Buffer; digest: string } {
    const bytes = Buffer.from(JSON.stringify(doc));
    const digest = sha256Digest(bytes);
    this.manifests.set(`${repo}:${tag}`, { bytes, mediaType });
    this.manifests.set(`${repo}@${digest}`, { bytes, mediaType });
    return { bytes, digest };
  }

  private challenge(scope?: string, error?: string): string {
    if (this.opts.auth === 'basic') return 'Basic realm="fake"';
    let c = `Bearer realm="http://127.0.0.1:${this.port}/token",service="fake.registry"`;
    if (scope) c += `,scope="${scope}"`;
    if (error) c += `,error="${error}"`;
    return c;
  }

  private basicUser(auth: string | undefined): string | undefined {
    if (!auth?.startsWith('Basic ')) return undefined;
    const [u, ...p] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
    return this.opts.users?.[u] === p.join(':') ? u : undefined;
  }

  /** True when the request may do `action` on `repo`; otherwise answers 401 itself. */
  private allowed(req: http.IncomingMessage, res: http.ServerResponse, repo: string | undefined, action: string): boolean {
    if (!this.opts.auth) return true;
    const auth = req.headers.authorization;
    const scope = repo ? `repository:${repo}:${action}` : undefined;
    if (this.opts.auth === 'basic') {
      if (this.basicUser(auth)) return true;
    } else if (auth?.startsWith('Bearer ')) {
      const t = this.tokens.get(auth.slice(7));
      if (t && (!scope || t.scopes.some((s) => s.startsWith(`repository:${repo}:`) && s.split(':')[2].split(',').includes(action)))) return true;
    }
    res.writeHead(401, { 'WWW-Authenticate': this.challenge(scope, auth ? 'insufficient_scope' : undefined), 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
    return false;
  }

  private issueToken(req: http.IncomingMessage, res: http.ServerResponse, url: URL, body: string): void {
    this.tokenRequests.push({ method: req.method ?? '', query: url.search, auth: req.headers.authorization, body });
    let user: string | undefined;
    let scopes: string[];
    if (req.method === 'POST') {
      const form = new URLSearchParams(body);
      if (form.get('grant_type') !== 'refresh_token' || form.get('refresh_token') !== 'refresh-me') {
        res.writeHead(401).end();
        return;
      }
      user = 'alice';
      scopes = (form.get('scope') ?? '').split(' ').filter(Boolean);
    } else {
      if (req.headers.authorization) {
        user = this.basicUser(req.headers.authorization);
        if (!user) {
          res.writeHead(401, { 'Content-Type': 'application/json' });
          res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'incorrect username or password' }] }));
          return;
        }
      }
      scopes = url.searchParams.getAll('scope');
    }
    // Grant what the user may have: anonymous users only pull public repositories.
    const granted = scopes.map((s) => {
      const [kind, repo, actions] = s.split(':');
      const ok = actions.split(',').filter((a) => user || (a === 'pull' && !this.opts.privateRepos?.includes(repo)));
      return `${kind}:${repo}:${ok.join(',')}`;
    });
    const token = crypto.randomBytes(8).toString('hex');
    this.tokens.set(token, { user, scopes: granted });
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ token, expires_in: 300 }));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', `http://${this.host}`);
    const method = req.method ?? 'GET';
    this.log.push({
      method,
      path: url.pathname + url.search,
      auth: req.headers.authorization,
      range: req.headers.range,
      contentRange: req.headers['content-range'] as string | undefined,
      bodyLength: body.length,
    });
    const failure = this.failures.find((f) => f.times > 0 && f.match(method, url.pathname));
    if (failure) {
      failure.times--;
      res.writeHead(failure.status, failure.headers).end();
      return;
    }
    if (url.pathname === '/token') return this.issueToken(req, res, url, body.toString());
    if (url.pathname === '/v2/') {
      if (this.allowed(req, res, undefined, 'pull')) res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
      return;
    }
    const m = /^\/v2\/(.+?)\/(manifests|blobs|tags)\/(.*)$/.exec(url.pathname);
    if (!m) {
      res.writeHead(404).end();
      return;
    }
    const [, repo, kind, rest] = m;
    const push = method === 'PUT' || method === 'POST' || method === 'PATCH';
    if (!this.allowed(req, res, repo, push ? 'push' : 'pull')) return;
    if (kind === 'manifests') return this.manifest(req, res, repo, rest, body);
    if (kind === 'tags') return this.tagsList(res, repo, url);
    if (rest.startsWith('uploads/')) return this.upload(req, res, repo, rest.slice(8), url, body);
    return this.blob(req, res, repo, rest);
  }

  private error(res: http.ServerResponse, status: number, code: string, message: string): void {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ code, message }] }));
  }

  private manifest(req: http.IncomingMessage, res: http.ServerResponse, repo: string, ref: string, body: Buffer): void {
    const key = ref.includes(':') ? `${repo}@${ref}` : `${repo}:${ref}`;
    if (req.method === 'PUT') {
      const mediaType = req.headers['content-type'] ?? '';
      const digest = sha256Digest(body);
      this.manifests.set(key, { bytes: body, mediaType });
      this.manifests.set(`${repo}@${digest}`, { bytes: body, mediaType });
      res.writeHead(201, { 'Docker-Content-Digest': digest, Location: `/v2/${repo}/manifests/${digest}` }).end();
      return;
    }
    const found = this.manifests.get(key);
    if (!found) return this.error(res, 404, 'MANIFEST_UNKNOWN', 'manifest unknown');
    const bytes = this.tamperedManifests.has(ref) ? Buffer.concat([found.bytes, Buffer.from(' ')]) : found.bytes;
    res.writeHead(200, { 'Content-Type': found.mediaType, 'Content-Length': bytes.length, 'Docker-Content-Digest': sha256Digest(found.bytes) });
    res.end(req.method === 'HEAD' ? undefined : bytes);
  }

  private tagsList(res: http.ServerResponse, repo: string, url: URL): void {
    const tags = [...this.manifests.keys()].filter((k) => k.startsWith(`${repo}:`)).map((k) => k.slice(repo.length + 1)).sort();
    if (!tags.length) return this.error(res, 404, 'NAME_UNKNOWN', 'repository name not known to registry');
    const n = Number(url.searchParams.get('n') ?? 2);
    const last = url.searchParams.get('last');
    const from = last ? tags.indexOf(last) + 1 : 0;
    const page = tags.slice(from, from + n);
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (from + n < tags.length) headers.Link = `</v2/${repo}/tags/list?n=${n}&last=${page[page.length - 1]}>; rel="next"`;
    res.writeHead(200, headers).end(JSON.stringify({ name: repo, tags: page }));
  }

  private blob(req: http.IncomingMessage, res: http.ServerResponse, repo: string, digest: string): void {
    const data = this.blobs.get(repo)?.get(digest);
    if (!data) return this.error(res, 404, 'BLOB_UNKNOWN', 'blob unknown to registry');
    if (this.opts.redirectBlobs) {
      res.writeHead(307, { Location: `http://127.0.0.1:${this.storagePort}/storage/${repo}/${digest}` }).end();
      return;
    }
    this.sendBlob(req, res, digest, data);
  }

  private sendBlob(req: http.IncomingMessage, res: http.ServerResponse, digest: string, data: Buffer): void {
    let bytes = this.corrupt.has(digest) ? Buffer.from(data.map((b, i) => (i === 3 ? b ^ 0xff : b))) : data;
    const range = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const headers: Record<string, string | number> = { 'Content-Type': 'application/octet-stream', 'Docker-Content-Digest': digest };
    let status = 200;
    if (range) {
      const start = Number(range[1]);
      headers['Content-Range'] = `bytes ${start}-${bytes.length - 1}/${bytes.length}`;
      bytes = bytes.subarray(start);
      status = 206;
    }
    headers['Content-Length'] = bytes.length;
    res.writeHead(status, headers);
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    if (this.breakOnce.delete(digest)) {
      res.write(bytes.subarray(0, Math.floor(bytes.length / 2)), () => setTimeout(() => res.socket?.destroy(), 20));
      return;
    }
    res.end(bytes);
  }

  private serveStorage(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://storage');
    this.storageLog.push({ method: req.method ?? '', path: url.pathname, auth: req.headers.authorization, range: req.headers.range, bodyLength: 0 });
    const m = /^\/storage\/(.+)\/(sha256:[a-f0-9]{64})$/.exec(url.pathname);
    const data = m && this.blobs.get(m[1])?.get(m[2]);
    if (!m || !data) {
      res.writeHead(404).end();
      return;
    }
    this.sendBlob(req, res, m[2], data);
  }

  private location(repo: string, id: string): string {
    // An opaque state parameter that clients must pass back untouched.
    const path = `/v2/${repo}/blobs/uploads/${id}?_state=a%2Bb%3D%2Fc`;
    return this.opts.absoluteLocations ? `http://${this.host}${path}` : path;
  }

  private upload(req: http.IncomingMessage, res: http.ServerResponse, repo: string, id: string, url: URL, body: Buffer): void {
    if (req.method === 'POST') {
      const mount = url.searchParams.get('mount');
      const from = url.searchParams.get('from');
      const source = mount && from ? this.blobs.get(from)?.get(mount) : undefined;
      if (mount && source) {
        this.putBlob(repo, source);
        res.writeHead(201, { Location: `/v2/${repo}/blobs/${mount}`, 'Docker-Content-Digest': mount }).end();
        return;
      }
      const uuid = crypto.randomUUID();
      this.uploads.set(uuid, { repo, data: [] });
      res.writeHead(202, { Location: this.location(repo, uuid), Range: '0-0', 'Docker-Upload-UUID': uuid }).end();
      return;
    }
    const upload = this.uploads.get(id);
    if (!upload || url.searchParams.get('_state') !== 'a+b=/c') return this.error(res, 404, 'BLOB_UPLOAD_UNKNOWN', 'blob upload unknown');
    const have = upload.data.reduce((n, b) => n + b.length, 0);
    if (req.method === 'PATCH') {
      const cr = /^(\d+)-(\d+)$/.exec(req.headers['content-range'] ?? '');
      if (!cr || Number(cr[1]) !== have || Number(cr[2]) !== have + body.length - 1) return this.error(res, 416, 'BLOB_UPLOAD_INVALID', 'bad range');
      upload.data.push(body);
      res.writeHead(202, { Location: this.location(repo, id), Range: `0-${have + body.length - 1}` }).end();
      return;
    }
    upload.data.push(body);
    const all = Buffer.concat(upload.data);
    const digest = url.searchParams.get('digest') ?? '';
    if (sha256Digest(all) !== digest) return this.error(res, 400, 'DIGEST_INVALID', 'provided digest did not match uploaded content');
    this.uploads.delete(id);
    this.putBlob(repo, all);
    res.writeHead(201, { Location: `/v2/${repo}/blobs/${digest}`, 'Docker-Content-Digest': digest }).end();
  }
}

const started: Array<FakeRegistry | RegistryClient> = [];
after(async () => {
  for (const x of started) {
    if (x instanceof FakeRegistry) await x.stop();
    else x.close();
  }
});

async function fake(opts: FakeOptions = {}): Promise<FakeRegistry> {
  const f = await new FakeRegistry(opts).start();
  started.push(f);
  return f;
}

function client(f: FakeRegistry, opts: RegistryClientOptions = {}, target: { insecure?: boolean; allowHttp?: boolean } = { allowHttp: true }): RegistryClient {
  const c = new RegistryClient({ host: f.host, ...target }, { credentials: null, retryDelays: [5, 10, 20], tokenCache: new TokenCache(), ca: [], ...opts });
  started.push(c);
  return c;
}

async function readAll(stream: Readable): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const c of stream) out.push(c as Buffer);
  return Buffer.concat(out);
}

function image(f: FakeRegistry, repo: string, tag: string): { manifestDigest: string; layer: Buffer; layerDigest: string } {
  const layer = crypto.randomBytes(50_000);
  const layerDigest = f.putBlob(repo, layer);
  const config = Buffer.from('{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}');
  const configDigest = f.putBlob(repo, config);
  const { digest } = f.putManifest(repo, tag, {
    schemaVersion: 2,
    mediaType: MediaType.OCI_MANIFEST,
    config: { mediaType: MediaType.OCI_CONFIG, digest: configDigest, size: config.length },
    layers: [{ mediaType: MediaType.OCI_LAYER, digest: layerDigest, size: layer.length }],
  });
  return { manifestDigest: digest, layer, layerDigest };
}

test('WWW-Authenticate parsing', () => {
  assert.deepEqual(parseChallenges('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"'), [
    { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push' } },
  ]);
  assert.deepEqual(parseChallenges('Basic realm="x \\"y\\"", Bearer realm=http://t/token'), [
    { scheme: 'basic', params: { realm: 'x "y"' } },
    { scheme: 'bearer', params: { realm: 'http://t/token' } },
  ]);
  assert.deepEqual(parseChallenges(undefined), []);
});

test('anonymous token auth: manifest by tag, then by digest, one token', async () => {
  const f = await fake({ auth: 'bearer' });
  const img = image(f, 'library/busybox', 'latest');
  const c = client(f);
  const byTag = await c.getManifest('library/busybox', 'latest');
  assert.equal(byTag.digest, img.manifestDigest);
  assert.equal(byTag.mediaType, MediaType.OCI_MANIFEST);
  const byDigest = await c.getManifest('library/busybox', img.manifestDigest);
  assert.deepEqual(byDigest.bytes, byTag.bytes);
  assert.equal(f.tokenRequests.length, 1, 'the token is cached for the scope');
  assert.match(f.tokenRequests[0].query, /service=fake\.registry/);
  assert.match(decodeURIComponent(f.tokenRequests[0].query), /scope=repository:library\/busybox:pull/);
  assert.equal(f.tokenRequests[0].auth, undefined);
  const accept = f.log.find((r) => r.path.includes('/manifests/'));
  assert.ok(accept?.auth?.startsWith('Bearer '));
  assert.deepEqual(await c.headManifest('library/busybox', 'latest'), { digest: img.manifestDigest, mediaType: MediaType.OCI_MANIFEST, size: byTag.bytes.length });
  assert.equal(await c.headManifest('library/busybox', 'nope'), undefined);
});

test('parallel requests share one token request', async () => {
  const f = await fake({ auth: 'bearer' });
  const img = image(f, 'app', 'v1');
  const c = client(f);
  const downloads = await Promise.all([1, 2, 3, 4].map(() => c.getBlob('app', img.layerDigest)));
  await Promise.all(downloads.map((d) => readAll(d.stream)));
  assert.equal(f.tokenRequests.length, 1);
});

test('a manifest fetched by digest is verified', async () => {
  const f = await fake();
  const img = image(f, 'app', 'v1');
  f.tamperedManifests.add(img.manifestDigest);
  await assert.rejects(client(f).getManifest('app', img.manifestDigest), DigestMismatchError);
});

test('missing manifests and repositories are NotFoundError with Docker-like messages', async () => {
  const f = await fake({ auth: 'bearer' });
  image(f, 'library/busybox', 'latest');
  const c = client(f);
  await assert.rejects(c.getManifest('library/nope', 'latest'), (err: unknown) => {
    assert.ok(err instanceof NotFoundError);
    assert.equal(err.message, `manifest unknown: ${f.host}/library/nope:latest not found`);
    return true;
  });
  await assert.rejects(c.listTags('library/nope'), { message: `repository name not known to registry: ${f.host}/library/nope` });
  await assert.rejects(c.getBlob('library/busybox', sha256Digest('x')), /blob unknown: .*@sha256:/);
});

test('private repositories: 401 without credentials, token with them', async () => {
  const f = await fake({ auth: 'bearer', users: { alice: 'pw' }, privateRepos: ['team/app'] });
  const img = image(f, 'team/app', 'v1');
  await assert.rejects(client(f).getManifest('team/app', 'v1'), (err: unknown) => {
    assert.ok(err instanceof UnauthorizedError);
    assert.equal(err.message, `authentication required for ${f.host}: run "tspod login ${f.host}"`);
    return true;
  });
  const good = client(f, { credentials: { username: 'alice', password: 'pw' } });
  assert.equal((await good.getManifest('team/app', 'v1')).digest, img.manifestDigest);
  assert.match(f.tokenRequests.at(-1)?.auth ?? '', /^Basic /);
  assert.match(f.tokenRequests.at(-1)?.query ?? '', /account=alice/);
  const bad = client(f, { credentials: { username: 'alice', password: 'wrong' } });
  await assert.rejects(bad.getManifest('team/app', 'v1'), (err: unknown) => {
    assert.ok(err instanceof UnauthorizedError);
    assert.match(err.message, /authentication failed for 127\.0\.0\.1:\d+ as alice: unauthorized: incorrect username or password/);
    return true;
  });
});

test('credentials are looked up per repository through a callback', async () => {
  const f = await fake({ auth: 'bearer', users: { alice: 'pw' }, privateRepos: ['team/app'] });
  image(f, 'team/app', 'v1');
  const asked: string[] = [];
  const c = client(f, {
    credentials: async (repo) => {
      asked.push(repo);
      return { username: 'alice', password: 'pw' };
    },
  });
  await c.getManifest('team/app', 'v1');
  assert.ok(asked.includes('team/app'));
});

test('identity tokens use the OAuth2 refresh-token POST', async () => {
  const f = await fake({ auth: 'bearer', privateRepos: ['team/app'] });
  image(f, 'team/app', 'v1');
  await client(f, { credentials: { username: '', password: '', identityToken: 'refresh-me' } }).getManifest('team/app', 'v1');
  const t = f.tokenRequests.at(-1);
  assert.equal(t?.method, 'POST');
  assert.match(t?.body ?? '', /grant_type=refresh_token/);
  assert.match(decodeURIComponent(t?.body ?? ''), /scope=repository:team\/app:pull/);
});

test('basic auth registries get the credentials on every request', async () => {
  const f = await fake({ auth: 'basic', users: { bob: 's3cret' } });
  const img = image(f, 'app', 'v1');
  await assert.rejects(client(f).getManifest('app', 'v1'), UnauthorizedError);
  const c = client(f, { credentials: { username: 'bob', password: 's3cret' } });
  assert.equal((await c.getManifest('app', 'v1')).digest, img.manifestDigest);
  const expected = 'Basic ' + Buffer.from('bob:s3cret').toString('base64');
  assert.equal(f.log.at(-1)?.auth, expected);
});

test('verifyLogin checks credentials for token and basic registries', async () => {
  const bearer = await fake({ auth: 'bearer', users: { alice: 'pw' } });
  await client(bearer, { credentials: { username: 'alice', password: 'pw' } }).verifyLogin();
  assert.match(bearer.tokenRequests.at(-1)?.auth ?? '', /^Basic /);
  await assert.rejects(client(bearer, { credentials: { username: 'alice', password: 'x' } }).verifyLogin(), UnauthorizedError);
  const basic = await fake({ auth: 'basic', users: { bob: 'pw' } });
  await client(basic, { credentials: { username: 'bob', password: 'pw' } }).verifyLogin();
  await assert.rejects(client(basic, { credentials: { username: 'bob', password: 'x' } }).verifyLogin(), (err: unknown) => {
    assert.ok(err instanceof UnauthorizedError);
    assert.match(err.message, /^authentication failed for 127\.0\.0\.1:\d+ as bob/);
    return true;
  });
  await client(await fake(), { credentials: { username: 'any', password: 'thing' } }).verifyLogin();
});

test('blobs follow redirects to storage without the Authorization header', async () => {
  const f = await fake({ auth: 'bearer', redirectBlobs: true });
  const img = image(f, 'app', 'v1');
  const c = client(f);
  const { stream, size, offset } = await c.getBlob('app', img.layerDigest, { expectedSize: img.layer.length });
  assert.equal(size, img.layer.length);
  assert.equal(offset, 0);
  assert.deepEqual(await readAll(stream), img.layer);
  assert.equal(stream.digest, img.layerDigest);
  assert.equal(f.storageLog.length, 1);
  assert.equal(f.storageLog[0].auth, undefined, 'no credentials leak to the storage host');
  assert.ok(f.log.some((r) => r.path.includes('/blobs/') && r.auth?.startsWith('Bearer ')));
  assert.equal(await c.blobExists('app', img.layerDigest), true);
  assert.equal(await c.blobExists('app', sha256Digest('nope')), false);
});

test('a corrupted blob fails with DigestMismatchError', async () => {
  const f = await fake();
  const img = image(f, 'app', 'v1');
  f.corrupt.add(img.layerDigest);
  const { stream } = await client(f).getBlob('app', img.layerDigest);
  await assert.rejects(readAll(stream), (err: unknown) => {
    assert.ok(err instanceof DigestMismatchError);
    assert.equal(err.expectedDigest, img.layerDigest);
    return true;
  });
});

test('a blob longer than its descriptor says fails early', async () => {
  const f = await fake();
  const img = image(f, 'app', 'v1');
  const { stream } = await client(f).getBlob('app', img.layerDigest, { expectedSize: 100 });
  await assert.rejects(readAll(stream), /size mismatch: expected 100 bytes/);
});

test('Range resume of a partial download', async () => {
  const f = await fake({ redirectBlobs: true });
  const img = image(f, 'app', 'v1');
  const c = client(f);
  const have = img.layer.subarray(0, 12_345);
  const verifier = new DigestVerifier(img.layerDigest, { expectedSize: img.layer.length });
  verifier.seed(have);
  const { stream, offset, size } = await c.getBlob('app', img.layerDigest, { offset: have.length, verifier });
  assert.equal(offset, have.length);
  assert.equal(size, img.layer.length);
  assert.deepEqual(Buffer.concat([have, await readAll(stream)]), img.layer);
  assert.equal(f.storageLog.at(-1)?.range, 'bytes=12345-');
  await assert.rejects(c.getBlob('app', img.layerDigest, { offset: 10 }), /needs a DigestVerifier seeded/);
});

test('a connection dropped mid-blob is resumed with a Range request', async () => {
  const f = await fake();
  const img = image(f, 'app', 'v1');
  f.breakOnce.add(img.layerDigest);
  const { stream } = await client(f).getBlob('app', img.layerDigest, { expectedSize: img.layer.length });
  assert.deepEqual(await readAll(stream), img.layer);
  const gets = f.log.filter((r) => r.method === 'GET' && r.path.endsWith(img.layerDigest));
  assert.equal(gets.length, 2);
  assert.equal(gets[0].range, undefined);
  assert.match(gets[1].range ?? '', /^bytes=\d+-$/);
});

test('monolithic upload: POST then PUT with the digest, relative Location', async () => {
  const f = await fake({ auth: 'bearer', users: { alice: 'pw' } });
  const c = client(f, { credentials: { username: 'alice', password: 'pw' } });
  const data = crypto.randomBytes(10_000);
  const digest = sha256Digest(data);
  const r = await c.uploadBlob('me/app', digest, data.length, () => Readable.from([data]));
  assert.deepEqual(r, { digest, size: data.length, status: 'uploaded' });
  assert.deepEqual(f.blobs.get('me/app')?.get(digest), data);
  const put = f.log.find((l) => l.method === 'PUT');
  assert.ok(put?.path.includes('_state=a%2Bb%3D%2Fc'), 'the opaque state is passed back untouched');
  assert.ok(put?.path.includes(`digest=${encodeURIComponent(digest)}`));
  assert.equal(put?.bodyLength, data.length);
  assert.match(decodeURIComponent(f.tokenRequests.at(-1)?.query ?? ''), /scope=repository:me\/app:pull,push/);
  // A second upload finds the blob there already.
  assert.equal((await c.uploadBlob('me/app', digest, data.length, () => Readable.from([data]))).status, 'exists');
});

test('chunked upload: PATCHes with Content-Range, absolute Locations, closing PUT', async () => {
  const f = await fake({ absoluteLocations: true });
  const c = client(f);
  const data = crypto.randomBytes(25_000);
  const digest = sha256Digest(data);
  // Chunks arrive from the source in sizes unrelated to the chunk size.
  const source = () => Readable.from([data.subarray(0, 7000), data.subarray(7000, 9000), data.subarray(9000)]);
  const r = await c.uploadBlob('app', digest, data.length, source, { chunkSize: 10_000 });
  assert.equal(r.status, 'uploaded');
  assert.deepEqual(f.blobs.get('app')?.get(digest), data);
  const patches = f.log.filter((l) => l.method === 'PATCH');
  assert.deepEqual(
    patches.map((p) => p.contentRange),
    ['0-9999', '10000-19999', '20000-24999'],
  );
  const put = f.log.filter((l) => l.method === 'PUT');
  assert.equal(put.length, 1);
  assert.equal(put[0].bodyLength, 0);
});

test('a source that is shorter than announced fails instead of hanging', async () => {
  const f = await fake();
  const data = crypto.randomBytes(1000);
  const digest = sha256Digest(data);
  await assert.rejects(client(f).uploadBlob('app', digest, 2000, () => Readable.from([data])), DigestMismatchError);
  await assert.rejects(client(f).uploadBlob('app', digest, 2000, () => Readable.from([data]), { chunkSize: 300 }), DigestMismatchError);
});

test('a wrong digest is rejected by the registry as a 400, not retried', async () => {
  const f = await fake();
  const data = crypto.randomBytes(100);
  await assert.rejects(client(f).uploadBlob('app', sha256Digest('other'), data.length, () => Readable.from([data])), (err: unknown) => {
    assert.ok(err instanceof RegistryError);
    assert.equal(err.status, 400);
    assert.deepEqual(err.codes, ['DIGEST_INVALID']);
    assert.match(err.message, /digest_invalid: provided digest did not match uploaded content/);
    return true;
  });
  assert.equal(f.log.filter((l) => l.method === 'POST').length, 1);
});

test('cross-repository mount, and the fallback when the source lacks the blob', async () => {
  const f = await fake({ auth: 'bearer', users: { alice: 'pw' } });
  const img = image(f, 'base/img', 'v1');
  const c = client(f, { credentials: { username: 'alice', password: 'pw' } });
  const mounted = await c.uploadBlob('me/app', img.layerDigest, img.layer.length, () => Readable.from([img.layer]), { mountFrom: 'base/img' });
  assert.equal(mounted.status, 'mounted');
  assert.ok(f.log.some((l) => l.method === 'POST' && l.path.includes(`mount=${encodeURIComponent(img.layerDigest)}`) && l.path.includes('from=base%2Fimg')));
  assert.match(decodeURIComponent(f.tokenRequests.at(-1)?.query ?? ''), /scope=repository:base\/img:pull/);
  assert.equal(f.log.filter((l) => l.method === 'PUT').length, 0);
  const other = crypto.randomBytes(500);
  const d = sha256Digest(other);
  const r = await c.uploadBlob('me/app', d, other.length, () => Readable.from([other]), { mountFrom: 'base/img' });
  assert.equal(r.status, 'uploaded');
  assert.deepEqual(f.blobs.get('me/app')?.get(d), other);
});

test('putManifest returns the digest and the manifest can be read back', async () => {
  const f = await fake();
  const c = client(f);
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: MediaType.OCI_INDEX, manifests: [] }));
  const digest = await c.putManifest('app', 'v2', bytes, MediaType.OCI_INDEX);
  assert.equal(digest, sha256Digest(bytes));
  const back = await c.getManifest('app', 'v2');
  assert.deepEqual(back.bytes, bytes);
  assert.equal(back.mediaType, MediaType.OCI_INDEX);
  await assert.rejects(c.putManifest('app', sha256Digest('other'), bytes, MediaType.OCI_INDEX), DigestMismatchError);
});

test('tags follow Link pagination', async () => {
  const f = await fake();
  for (const t of ['a', 'b', 'c', 'd', 'e']) f.putManifest('app', t, { schemaVersion: 2, manifests: [] }, MediaType.OCI_INDEX);
  assert.deepEqual(await client(f).listTags('app'), ['a', 'b', 'c', 'd', 'e']);
  assert.equal(f.log.filter((l) => l.path.startsWith('/v2/app/tags/list')).length, 3);
});

test('503 twice then success is retried; 4xx are not', async () => {
  const f = await fake();
  const img = image(f, 'app', 'v1');
  f.failures.push({ match: (_m, p) => p.includes('/manifests/'), status: 503, times: 2 });
  const c = client(f);
  assert.equal((await c.getManifest('app', 'v1')).digest, img.manifestDigest);
  assert.equal(f.log.filter((l) => l.path.includes('/manifests/')).length, 3);
  f.failures.push({ match: (_m, p) => p.includes('/manifests/'), status: 400, times: 5 });
  await assert.rejects(c.getManifest('app', 'v1'), (err: unknown) => err instanceof RegistryError && err.status === 400);
  assert.equal(f.log.filter((l) => l.path.includes('/manifests/')).length, 4);
  f.failures.length = 0;
});

test('429 honours Retry-After; persistent 5xx are reported after 3 retries', async () => {
  const f = await fake();
  const img = image(f, 'app', 'v1');
  f.failures.push({ match: (_m, p) => p.includes('/blobs/'), status: 429, times: 1, headers: { 'Retry-After': '0' } });
  const c = client(f);
  const { stream } = await c.getBlob('app', img.layerDigest);
  assert.deepEqual(await readAll(stream), img.layer);
  f.failures.push({ match: (_m, p) => p.includes('/manifests/'), status: 502, times: 10 });
  await assert.rejects(c.getManifest('app', 'v1'), (err: unknown) => err instanceof RegistryError && err.status === 502);
  assert.equal(f.log.filter((l) => l.path.includes('/manifests/')).length, 4);
});

test('an upload that hits a 5xx starts over', async () => {
  const f = await fake();
  const c = client(f);
  const data = crypto.randomBytes(3000);
  const digest = sha256Digest(data);
  f.failures.push({ match: (m) => m === 'PUT', status: 500, times: 1 });
  const r = await c.uploadBlob('app', digest, data.length, () => Readable.from([data]));
  assert.equal(r.status, 'uploaded');
  assert.equal(f.log.filter((l) => l.method === 'POST').length, 2);
});

test('connection refused is reported as such when pinging', async () => {
  const f = await fake();
  const port = f.port;
  await f.stop();
  started.splice(started.indexOf(f), 1);
  const c = new RegistryClient({ host: `127.0.0.1:${port}`, allowHttp: true }, { credentials: null, retryDelays: [1], ca: [] });
  await assert.rejects(c.ping(), (err: unknown) => {
    assert.ok(err instanceof RegistryConnectionError);
    assert.equal(err.message, `pinging registry 127.0.0.1:${port}: connection refused`);
    return true;
  });
  c.close();
});

test('https to a plain-HTTP registry suggests --tls-verify=false', async () => {
  const f = await fake();
  const c = client(f, {}, { allowHttp: false });
  await assert.rejects(c.ping(), (err: unknown) => {
    assert.ok(err instanceof RegistryConnectionError);
    assert.equal(err.tls, true);
    assert.match(err.message, /^pinging registry 127\.0\.0\.1:\d+: http: server gave HTTP response to HTTPS client; .*--tls-verify=false/);
    return true;
  });
  // Allowed to fall back (loopback or insecure), the same registry works over http.
  const fallback = client(f);
  await fallback.ping();
  assert.equal(fallback.baseUrl?.protocol, 'http:');
});

test('TLS: self-signed certificates need insecure or a CA', async () => {
  const f = await fake({ tls: true });
  const img = image(f, 'app', 'v1');
  await assert.rejects(client(f, {}, { allowHttp: false }).ping(), (err: unknown) => {
    assert.ok(err instanceof RegistryConnectionError);
    assert.match(err.message, /x509: certificate signed by unknown authority .*--tls-verify=false/);
    return true;
  });
  // The loopback http fallback must not hide the certificate problem behind http's answer.
  await assert.rejects(client(f, {}, { allowHttp: true }).ping(), /x509: certificate signed by unknown authority/);
  const insecure = client(f, {}, { insecure: true, allowHttp: true });
  assert.equal((await insecure.getManifest('app', 'v1')).digest, img.manifestDigest);
  assert.equal(insecure.baseUrl?.protocol, 'https:');
  const trusted = client(f, { ca: [CERT] }, { allowHttp: false });
  assert.equal((await trusted.getManifest('app', 'v1')).digest, img.manifestDigest);
});
