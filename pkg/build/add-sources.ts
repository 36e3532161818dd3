// ADD's extras over COPY: URL sources (downloaded, checked against --checksum, saved 0600
// under the URL's last path component, never extracted) and local tar archives (plain, gzip,
// bzip2, xz), which are unpacked into the destination instead of copied. Archives are
// unpacked by GNU tar into an empty scratch directory first and then copied into the root like
// any directory, so a hostile archive cannot reach past the image's root.
import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { InvalidArgumentError, TspodError } from '../errors';

const run = promisify(execFile);

export function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

/** A tar, possibly compressed with gzip, bzip2 or xz, judged by its first bytes as Docker does. */
export function isArchive(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const head = Buffer.alloc(512);
    const n = fs.readSync(fd, head, 0, 512, 0);
    if (n >= 2 && head[0] === 0x1f && head[1] === 0x8b) return true;
    if (n >= 3 && head.subarray(0, 3).toString('latin1') === 'BZh') return true;
    if (n >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return true;
    return n >= 262 && head.subarray(257, 262).toString('latin1') === 'ustar';
  } finally {
    fs.closeSync(fd);
  }
}

/** Unpacks an archive into `dir` (empty), keeping the owners it records. */
export async function unpackArchive(file: string, dir: string): Promise<void> {
  try {
    await run('tar', ['-x', '-f', file, '-C', dir, '--same-owner', '--same-permissions', '--no-overwrite-dir'], { maxBuffer: 1 << 20 });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? (err as Error).message;
    throw new TspodError(`ADD: cannot unpack ${path.basename(file)}: ${stderr.trim().split('\n').pop()}`);
  }
}

/** `sha256:<hex>` from ADD --checksum. */
export function parseChecksum(spec: string): string {
  const m = /^sha256:([0-9a-f]{64})$/.exec(spec);
  if (!m) throw new InvalidArgumentError(`invalid --checksum ${JSON.stringify(spec)}: expected sha256:<64 hex digits>`);
  return m[1];
}

/** The file name a URL is saved under: its last path component (Docker's rule). */
export function urlFileName(url: string): string {
  const name = path.posix.basename(new URL(url).pathname);
  return name === '' || name === '/' ? 'index.html' : decodeURIComponent(name);
}

/** Downloads a URL into dir; returns the file (mode 0600, mtime from Last-Modified). */
export async function download(url: string, dir: string, checksum?: string): Promise<string> {
  let res: Response;
  try {
    res = await fetch(url, { redirect: 'follow' });
  } catch (err) {
    throw new TspodError(`ADD ${url}: ${(err as Error & { cause?: Error }).cause?.message ?? (err as Error).message}`);
  }
  if (!res.ok) throw new TspodError(`ADD ${url}: the server answered ${res.status} ${res.statusText}`);
  const body = Buffer.from(await res.arrayBuffer());
  const hex = crypto.createHash('sha256').update(body).digest('hex');
  if (checksum !== undefined && hex !== checksum) throw new TspodError(`ADD ${url}: checksum mismatch: expected sha256:${checksum}, got sha256:${hex}`);
  const file = path.join(dir, urlFileName(url));
  fs.writeFileSync(file, body, { mode: 0o600 });
  const modified = res.headers.get('last-modified');
  const when = modified ? Date.parse(modified) : NaN;
  if (!Number.isNaN(when)) fs.utimesSync(file, new Date(when), new Date(when));
  return file;
}
