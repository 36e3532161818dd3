// Docker credential helpers (`docker-credential-NAME get|store|erase`, the protocol of
// docker/docker-credential-helpers): the server URL or a JSON document on stdin, JSON on
// stdout. Named by `credHelpers` / `credsStore` in a Docker config.json or auth.json.
import { spawn } from 'node:child_process';
import { HostError, InvalidArgumentError } from '../errors';

export interface HelperCredentials {
  username: string;
  secret: string;
}

/** What helpers print when they hold nothing for the URL (docker-credential-helpers' ErrCredentialsNotFound). */
const NOT_FOUND = 'credentials not found in native keychain';
const TIMEOUT_MS = 30_000;

function helperBinary(name: string): string {
  // The name becomes part of an executable's name: refuse anything path-like.
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw new InvalidArgumentError(`invalid credential helper name "${name}"`);
  return `docker-credential-${name}`;
}

interface HelperResult {
  code: number;
  stdout: string;
  stderr: string;
}

function run(name: string, verb: string, input: string, env: NodeJS.ProcessEnv): Promise<HelperResult> {
  const bin = helperBinary(name);
  return new Promise((resolve, reject) => {
    const child = spawn(bin, [verb], { env, stdio: ['pipe', 'pipe', 'pipe'], timeout: TIMEOUT_MS });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') reject(new HostError(`credential helper ${bin} is configured but not found in $PATH`));
      else reject(new HostError(`running ${bin} ${verb}: ${err.message}`));
    });
    child.on('close', (code, signal) => resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr }));
    // A helper that exits without reading stdin must not crash us with EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

function failure(name: string, verb: string, r: HelperResult): HostError {
  const detail = (r.stdout.trim() || r.stderr.trim() || `exit status ${r.code}`).split('\n')[0];
  return new HostError(`credential helper docker-credential-${name} ${verb} failed: ${detail}`);
}

/** The helper's credentials for `serverURL`, or undefined when it has none. */
export async function helperGet(name: string, serverURL: string, env: NodeJS.ProcessEnv = process.env): Promise<HelperCredentials | undefined> {
  const r = await run(name, 'get', serverURL, env);
  if (r.code !== 0) {
    if (r.stdout.includes(NOT_FOUND) || r.stderr.includes(NOT_FOUND)) return undefined;
    throw failure(name, 'get', r);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(r.stdout);
  } catch {
    throw new HostError(`credential helper docker-credential-${name} get printed invalid JSON`);
  }
  const o = doc as { Username?: unknown; Secret?: unknown };
  if (typeof o.Secret !== 'string' || o.Secret === '') return undefined;
  return { username: typeof o.Username === 'string' ? o.Username : '', secret: o.Secret };
}

export async function helperStore(name: string, serverURL: string, creds: HelperCredentials, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const r = await run(name, 'store', JSON.stringify({ ServerURL: serverURL, Username: creds.username, Secret: creds.secret }), env);
  if (r.code !== 0) throw failure(name, 'store', r);
}

/** Erases the helper's entry; false when it had none. */
export async function helperErase(name: string, serverURL: string, env: NodeJS.ProcessEnv = process.env): Promise<boolean> {
  const r = await run(name, 'erase', serverURL, env);
  if (r.code === 0) return true;
  if (r.stdout.includes(NOT_FOUND) || r.stderr.includes(NOT_FOUND)) return false;
  throw failure(name, 'erase', r);
}
