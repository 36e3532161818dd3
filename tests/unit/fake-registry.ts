// A small in-process registry (node:http on 127.0.0.1:0) for tests that push and pull:
// blobs per repository (HEAD/GET), uploads (monolithic PUT, PATCH chunks, cross-repository
// mount, DELETE to cancel), manifests by tag and digest, optional Basic auth, and a log of
// every request. registry-client.test.ts has a fuller one for the client's own edge cases
// (tokens, redirects, broken connections); this one is what push orchestration needs.
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import { AddressInfo } from 'node:net';

export interface LoggedRequest {
  method: string;
  /** path and query */
  path: string;
  auth?: string;
  contentRange?: string;
  bodyLength: number;
}

export interface FakeRegistryOptions {
  /** users and passwords: every request then needs Basic auth */
  users?: Record<string, string>;
}

const sha256 = (data: Buffer): string => `sha256:${crypto.createHash('sha256').update(data).digest('hex')}`;

export class FakeRegistry {
  readonly log: LoggedRequest[] = [];
  readonly blobs = new Map<string, Map<string, Buffer>>();
  readonly manifests = new Map<string, { bytes: Buffer; mediaType: string }>();
  private readonly uploads = new Map<string, { repo: string; data: Buffer[] }>();
  private server?: http.Server;
  port = 0;

  constructor(readonly opts: FakeRegistryOptions = {}) {}

  get host(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.server = http.createServer((req, res) => void this.handle(req, res));
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }

  putBlob(repo: string, data: Buffer): string {
    const digest = sha256(data);
    if (!this.blobs.has(repo)) this.blobs.set(repo, new Map());
    this.blobs.get(repo)?.set(digest, data);
    return digest;
  }

  blob(repo: string, digest: string): Buffer | undefined {
    return this.blobs.get(repo)?.get(digest);
  }

  manifest(repo: string, ref: string): { bytes: Buffer; mediaType: string } | undefined {
    return this.manifests.get(ref.includes(':') ? `${repo}@${ref}` : `${repo}:${ref}`);
  }

  /** Requests with this method whose path starts with `prefix`. */
  requests(method: string, prefix = ''): LoggedRequest[] {
    return this.log.filter((r) => r.method === method && r.path.startsWith(prefix));
  }

  private authorized(req: http.IncomingMessage, res: http.ServerResponse): boolean {
    if (!this.opts.users) return true;
    const auth = req.headers.authorization;
    if (auth?.startsWith('Basic ')) {
      const plain = Buffer.from(auth.slice(6), 'base64').toString();
      const colon = plain.indexOf(':');
      if (this.opts.users[plain.slice(0, colon)] === plain.slice(colon + 1)) return true;
    }
    res.writeHead(401, { 'WWW-Authenticate': 'Basic realm="fake"', 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'authentication required' }] }));
    return false;
  }

  private error(res: http.ServerResponse, status: number, code: string): void {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ code, message: code.toLowerCase().replace(/_/g, ' ') }] }));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    const url = new URL(req.url ?? '/', `http://${this.host}`);
    const method = req.method ?? 'GET';
    this.log.push({ method, path: url.pathname + url.search, auth: req.headers.authorization, contentRange: req.headers['content-range'] as string | undefined, bodyLength: body.length });
    if (!this.authorized(req, res)) return;
    if (url.pathname === '/v2/') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end('{}');
      return;
    }
    const m = /^\/v2\/(.+?)\/(manifests|blobs)\/(.*)$/.exec(url.pathname);
    if (!m) return this.error(res, 404, 'NOT_FOUND');
    const [, repo, kind, rest] = m;
    if (kind === 'manifests') return this.serveManifest(req, res, repo, rest, body);
    if (rest.startsWith('uploads/')) return this.serveUpload(req, res, repo, rest.slice('uploads/'.length), url, body);
    const data = this.blob(repo, rest);
    if (!data) return this.error(res, 404, 'BLOB_UNKNOWN');
    res.writeHead(200, { 'Content-Length': data.length, 'Docker-Content-Digest': rest, 'Content-Type': 'application/octet-stream' });
    res.end(method === 'HEAD' ? undefined : data);
  }

  private serveManifest(req: http.IncomingMessage, res: http.ServerResponse, repo: string, ref: string, body: Buffer): void {
    if (req.method === 'PUT') {
      const entry = { bytes: body, mediaType: req.headers['content-type'] ?? '' };
      const digest = sha256(body);
      this.manifests.set(ref.includes(':') ? `${repo}@${ref}` : `${repo}:${ref}`, entry);
      this.manifests.set(`${repo}@${digest}`, entry);
      res.writeHead(201, { 'Docker-Content-Digest': digest, Location: `/v2/${repo}/manifests/${digest}` }).end();
      return;
    }
    const found = this.manifest(repo, ref);
    if (!found) return this.error(res, 404, 'MANIFEST_UNKNOWN');
    res.writeHead(200, { 'Content-Type': found.mediaType, 'Content-Length': found.bytes.length, 'Docker-Content-Digest': sha256(found.bytes) });
    res.end(req.method === 'HEAD' ? undefined : found.bytes);
  }

  private serveUpload(req: http.IncomingMessage, res: http.ServerResponse, repo: string, id: string, url: URL, body: Buffer): void {
    if (req.method === 'POST') {
      const mount = url.searchParams.get('mount');
      const from = url.searchParams.get('from');
      const source = mount && from ? this.blob(from, mount) : undefined;
      if (mount && source) {
        this.putBlob(repo, source);
        res.writeHead(201, { Location: `/v2/${repo}/blobs/${mount}`, 'Docker-Content-Digest': mount }).end();
        return;
      }
      const uuid = crypto.randomUUID();
      this.uploads.set(uuid, { repo, data: [] });
      res.writeHead(202, { Location: `/v2/${repo}/blobs/uploads/${uuid}`, Range: '0-0' }).end();
      return;
    }
    const upload = this.uploads.get(id);
    if (!upload || upload.repo !== repo) return this.error(res, 404, 'BLOB_UPLOAD_UNKNOWN');
    if (req.method === 'DELETE') {
      this.uploads.delete(id);
      res.writeHead(204).end();
      return;
    }
    const have = upload.data.reduce((n, b) => n + b.length, 0);
    if (req.method === 'PATCH') {
      const range = /^(\d+)-(\d+)$/.exec((req.headers['content-range'] as string | undefined) ?? '');
      if (!range || Number(range[1]) !== have || Number(range[2]) !== have + body.length - 1) return this.error(res, 416, 'BLOB_UPLOAD_INVALID');
      upload.data.push(body);
      res.writeHead(202, { Location: `/v2/${repo}/blobs/uploads/${id}`, Range: `0-${have + body.length - 1}` }).end();
      return;
    }
    upload.data.push(body);
    const all = Buffer.concat(upload.data);
    const digest = url.searchParams.get('digest') ?? '';
    if (sha256(all) !== digest) return this.error(res, 400, 'DIGEST_INVALID');
    this.uploads.delete(id);
    this.putBlob(repo, all);
    res.writeHead(201, { Location: `/v2/${repo}/blobs/${digest}`, 'Docker-Content-Digest': digest }).end();
  }

  /** Upload sessions opened and neither finished nor cancelled. */
  get openUploads(): number {
    return this.uploads.size;
  }
}
