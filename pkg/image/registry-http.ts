// One HTTP exchange with a registry over node:http / node:https, and the retry policy
// around it. Global fetch is not used: it cannot skip TLS verification for one insecure
// registry without reaching into undici. Keep-alive agents reuse connections across the many
// small requests of a pull; their idle sockets are unref'd by Node, so a finished CLI
// command still exits at once.
import * as fs from 'node:fs';
import type * as http from 'node:http';
import type * as https from 'node:https';
import * as path from 'node:path';
import { Readable } from 'node:stream';
import { isTransientNetworkError } from './registry-errors';

interface HttpModules {
  http: typeof import('node:http');
  https: typeof import('node:https');
  tls: typeof import('node:tls');
}
let loadedHttp: HttpModules | undefined;

/** node:http, node:https and node:tls, loaded on first use: they cannot be part of the start-up
 * snapshot and loading them costs more than a local `run` does in all, which never needs them. */
export function httpModules(): HttpModules {
  loadedHttp ??= { http: require('node:http'), https: require('node:https'), tls: require('node:tls') };
  return loadedHttp;
}

export interface HttpRequestSpec {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  /** a Buffer, or a factory so a retry can send the same body again */
  body?: Buffer | (() => Readable);
  /** skip certificate verification (insecure registries) */
  insecure?: boolean;
}

export interface RetryPolicy {
  /** waits before the 1st, 2nd, ... retry; its length is the number of retries */
  delays: number[];
  /** retry connection-level failures (not while probing /v2/: refused should fail fast) */
  networkErrors: boolean;
}

export const DEFAULT_RETRY_DELAYS = [200, 1000, 3000];
/** A Retry-After longer than this is not waited for: the error is reported instead. */
const MAX_RETRY_AFTER_MS = 60_000;
const HEADERS_TIMEOUT_MS = 60_000;
/** a body that stops flowing for this long is a dead connection */
const BODY_IDLE_TIMEOUT_MS = 10 * 60_000;

export const USER_AGENT = 'tspod/0.1 (containers/image compatible)';

export interface HttpAgentsOptions {
  /** extra CA certificates (PEM) trusted besides the system roots */
  ca?: string[];
}

/** Connection pools for one registry client: plain, verified TLS and unverified TLS. */
export class HttpAgents {
  private readonly plain: http.Agent;
  private readonly secure: https.Agent;
  private readonly insecure: https.Agent;

  constructor(opts: HttpAgentsOptions = {}) {
    const { http, https, tls } = httpModules();
    this.plain = new http.Agent({ keepAlive: true, maxSockets: 8 });
    // Passing `ca` replaces Node's roots, so the system roots go in with the extra ones.
    const ca = opts.ca?.length ? [...tls.rootCertificates, ...opts.ca] : undefined;
    this.secure = new https.Agent({ keepAlive: true, maxSockets: 8, ca });
    // Nothing is verified here, so no root certificates either (an empty `ca` keeps Node from
    // loading its ~140 roots into every TLS context: a cost paid before even a plain-HTTP
    // registry answers the TLS probe with a failure).
    this.insecure = new https.Agent({ keepAlive: true, maxSockets: 8, rejectUnauthorized: false, ca: [] });
  }

  agentFor(url: URL, insecure: boolean): http.Agent {
    if (url.protocol === 'http:') return this.plain;
    return insecure ? this.insecure : this.secure;
  }

  destroy(): void {
    this.plain.destroy();
    this.secure.destroy();
    this.insecure.destroy();
  }
}

/** CA certificates for `host` from certs.d, where Podman and Docker look for them. */
export function certsDirCAs(host: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const configHome = env.XDG_CONFIG_HOME || path.join(env.HOME || '/', '.config');
  const dirs = [path.join(configHome, 'containers', 'certs.d', host), path.join('/etc/containers/certs.d', host), path.join('/etc/docker/certs.d', host)];
  const out: string[] = [];
  for (const dir of dirs) {
    let names: string[];
    try {
      names = fs.readdirSync(dir);
    } catch {
      continue;
    }
    for (const n of names.filter((f) => f.endsWith('.crt')).sort()) out.push(fs.readFileSync(path.join(dir, n), 'utf8'));
  }
  return out;
}

/** One attempt: resolves with the response (any status), rejects on connection errors. */
export function sendOnce(spec: HttpRequestSpec, agents: HttpAgents): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    const { http, https } = httpModules();
    const mod = spec.url.protocol === 'http:' ? http : https;
    const headers: Record<string, string> = { 'User-Agent': USER_AGENT, ...spec.headers };
    if (Buffer.isBuffer(spec.body)) headers['Content-Length'] = String(spec.body.length);
    else if (!spec.body && spec.method !== 'GET' && spec.method !== 'HEAD') headers['Content-Length'] ??= '0';
    const req = mod.request(spec.url, { method: spec.method, headers, agent: agents.agentFor(spec.url, spec.insecure ?? false) });
    req.setTimeout(HEADERS_TIMEOUT_MS, () => req.destroy(Object.assign(new Error('timed out'), { code: 'ETIMEDOUT' })));
    req.on('error', reject);
    req.on('response', (res) => {
      req.setTimeout(BODY_IDLE_TIMEOUT_MS);
      resolve(res);
    });
    if (Buffer.isBuffer(spec.body)) req.end(spec.body);
    else if (spec.body) {
      const body = spec.body();
      body.on('error', (err) => req.destroy(err));
      body.pipe(req);
    } else req.end();
  });
}

export function sleep(ms: number): Promise<void> {
  // Not unref'd: a CLI command waiting to retry must not exit in the meantime.
  return new Promise((r) => setTimeout(r, ms));
}

function retryAfterMs(res: http.IncomingMessage): number | undefined {
  const v = res.headers['retry-after'];
  if (!v) return undefined;
  if (/^\d+$/.test(v)) return Number(v) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function retryableStatus(status: number): boolean {
  return status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

/** Reads and drops a response body so its socket goes back to the pool. */
export function discard(res: http.IncomingMessage): void {
  res.resume();
}

export async function readBody(res: http.IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of res) {
    total += (chunk as Buffer).length;
    if (total > limit) {
      res.destroy();
      throw Object.assign(new Error(`response body larger than ${limit} bytes`), { code: 'ETOOBIG' });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * Sends with retries: transient network errors (when the policy allows), 5xx and 429 are
 * retried after the policy's delays (429 honours Retry-After); 4xx are returned at once.
 * After the last retry, a failing response is returned for the caller to report.
 */
export async function sendWithRetries(spec: HttpRequestSpec, agents: HttpAgents, policy: RetryPolicy): Promise<http.IncomingMessage> {
  for (let attempt = 0; ; attempt++) {
    const last = attempt >= policy.delays.length;
    let res: http.IncomingMessage;
    try {
      res = await sendOnce(spec, agents);
    } catch (err) {
      if (last || !policy.networkErrors || !isTransientNetworkError(err)) throw err;
      await sleep(policy.delays[attempt]);
      continue;
    }
    const status = res.statusCode ?? 0;
    if (last || !retryableStatus(status)) return res;
    const wait = status === 429 ? (retryAfterMs(res) ?? policy.delays[attempt]) : policy.delays[attempt];
    if (wait > MAX_RETRY_AFTER_MS) return res;
    discard(res);
    await sleep(wait);
  }
}

export function isRedirect(status: number): boolean {
  return status === 301 || status === 302 || status === 303 || status === 307 || status === 308;
}

/** Header value as one string (Node gives arrays for repeated headers). */
export function header(res: http.IncomingMessage, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v.join(', ') : v;
}
