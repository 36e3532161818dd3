// Registry credentials in the files Podman and Docker keep them in, read in Podman's order
// (containers-auth.json(5)), so `podman login` and `docker login` carry over:
//   --authfile / $REGISTRY_AUTH_FILE (alone: an explicit file replaces the search)
//   ${XDG_RUNTIME_DIR}/containers/auth.json   (where login writes; /run/containers/UID otherwise)
//   ${XDG_CONFIG_HOME:-~/.config}/containers/auth.json
//   ${DOCKER_CONFIG:-~/.docker}/config.json
//   ~/.dockercfg                              (the legacy format: no "auths" level)
// Keys may be a host or host/namespace[/repo]; the longest match wins. docker.io is also found
// under index.docker.io, registry-1.docker.io and https://index.docker.io/v1/.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { HostError, InvalidArgumentError, NotFoundError } from '../errors';
import { log } from '../log';
import { helperErase, helperGet, helperStore } from './credential-helper';

export interface Credentials {
  username: string;
  password: string;
  /** an OAuth2 refresh token (Docker's `identitytoken`), used instead of the password */
  identityToken?: string;
}

export interface AuthStoreOptions {
  /** --authfile; defaults to $REGISTRY_AUTH_FILE */
  authFile?: string;
  env?: NodeJS.ProcessEnv;
  /** the per-user runtime dir (EngineConfig.runtimeDir); defaults to $XDG_RUNTIME_DIR */
  runtimeDir?: string;
}

export interface AuthFile {
  path: string;
  /** ~/.dockercfg: entries at the top level, keys are URLs */
  legacy: boolean;
}

interface AuthEntry {
  auth?: string;
  username?: string;
  password?: string;
  identitytoken?: string;
}

interface AuthDocument {
  auths?: Record<string, AuthEntry>;
  credHelpers?: Record<string, string>;
  credsStore?: string;
  [other: string]: unknown;
}

export interface RemoveResult {
  /** true when an entry was removed from the file login writes (or its helper) */
  removed: boolean;
  /** the file that was changed or would have been */
  file: string;
  /** another file that still holds credentials for the host (e.g. from `docker login`) */
  elsewhere?: string;
}

const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';

function envOf(opts: AuthStoreOptions): NodeJS.ProcessEnv {
  return opts.env ?? process.env;
}

function homeOf(env: NodeJS.ProcessEnv): string {
  return env.HOME || os.homedir();
}

/** The file login writes and logout edits. */
export function writableAuthFile(opts: AuthStoreOptions = {}): string {
  const env = envOf(opts);
  const explicit = opts.authFile || env.REGISTRY_AUTH_FILE;
  if (explicit) return explicit;
  const runtimeDir = opts.runtimeDir || env.XDG_RUNTIME_DIR;
  if (runtimeDir) return path.join(runtimeDir, 'containers', 'auth.json');
  const uid = process.getuid ? process.getuid() : 0;
  return `/run/containers/${uid}/auth.json`;
}

/** The files credentials are looked up in, in order. */
export function authFiles(opts: AuthStoreOptions = {}): AuthFile[] {
  const env = envOf(opts);
  const home = homeOf(env);
  const first = writableAuthFile(opts);
  if (opts.authFile || env.REGISTRY_AUTH_FILE) return [{ path: first, legacy: false }];
  const configHome = env.XDG_CONFIG_HOME || path.join(home, '.config');
  const dockerDir = env.DOCKER_CONFIG || path.join(home, '.docker');
  return [
    { path: first, legacy: false },
    { path: path.join(configHome, 'containers', 'auth.json'), legacy: false },
    { path: path.join(dockerDir, 'config.json'), legacy: false },
    { path: path.join(home, '.dockercfg'), legacy: true },
  ];
}

/** Hub spellings share one key, as in containers/image's normalizeRegistry. */
function normaliseRegistry(host: string): string {
  return host === 'docker.io' || host === 'registry-1.docker.io' || host === 'index.docker.io' ? 'docker.io' : host;
}

/** A file key as a comparable name: scheme and URL path dropped, Hub spellings unified. */
export function normaliseAuthKey(key: string, legacy = false): string {
  let k = key.replace(/^https?:\/\//, '');
  if (legacy || k !== key) k = k.split('/')[0];
  const slash = k.indexOf('/');
  return slash < 0 ? normaliseRegistry(k) : normaliseRegistry(k.slice(0, slash)) + k.slice(slash);
}

/** The key login writes for `host` (host or host/namespace, without scheme). */
function loginKey(host: string): string {
  const key = normaliseAuthKey(host);
  if (key === '' || /[:@]/.test(key.split('/').slice(1).join('/'))) {
    throw new InvalidArgumentError(`invalid registry "${host}": expected a host[:port] or host/namespace, without tag or digest`);
  }
  return key;
}

/** What a credential helper is asked for: Docker Hub's historical URL, else the host. */
function helperServerURL(host: string): string {
  return normaliseRegistry(host) === 'docker.io' ? DOCKER_HUB_KEY : host;
}

function readDocument(file: AuthFile): AuthDocument | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file.path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new InvalidArgumentError(`reading ${file.path}: ${(err as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = text.trim() === '' ? {} : JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`${file.path}: invalid JSON (${(err as Error).message}); fix or remove the file`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new InvalidArgumentError(`${file.path}: not a JSON object`);
  return file.legacy ? { auths: doc as Record<string, AuthEntry> } : (doc as AuthDocument);
}

function decodeEntry(entry: AuthEntry, where: string): Credentials | undefined {
  let username = entry.username ?? '';
  let password = entry.password ?? '';
  if (entry.auth) {
    const plain = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = plain.indexOf(':');
    if (colon < 0) throw new InvalidArgumentError(`${where}: the "auth" field is not base64 of user:password`);
    username = plain.slice(0, colon);
    password = plain.slice(colon + 1);
  }
  if (entry.identitytoken) return { username, password, identityToken: entry.identitytoken };
  return username || password ? { username, password } : undefined;
}

function fromHelper(creds: { username: string; secret: string } | undefined): Credentials | undefined {
  if (!creds) return undefined;
  // Helpers mark an identity token with the username "<token>" (docker-credential-helpers).
  if (creds.username === '<token>') return { username: '', password: '', identityToken: creds.secret };
  return { username: creds.username, password: creds.secret };
}

/** `host/a/b` → [`host/a/b`, `host/a`, `host`]: the keys to try, longest first. */
function candidateKeys(name: string): string[] {
  const parts = normaliseAuthKey(name).split('/');
  const out: string[] = [];
  for (let n = parts.length; n >= 1; n--) out.push(parts.slice(0, n).join('/'));
  return out;
}

/**
 * Credentials for a registry host or a repository on it (`host/ns/repo`), or undefined for
 * anonymous access.
 */
export async function lookupCredentials(hostOrRepo: string, opts: AuthStoreOptions = {}): Promise<Credentials | undefined> {
  const env = envOf(opts);
  const keys = candidateKeys(hostOrRepo);
  const host = keys[keys.length - 1];
  for (const file of authFiles(opts)) {
    const doc = readDocument(file);
    if (!doc) continue;
    const helper = helperFor(doc, host);
    if (helper) {
      const creds = fromHelper(await helperGet(helper, helperServerURL(host), env));
      if (creds) return creds;
    } else if (doc.credsStore) {
      // Docker Desktop leaves credsStore pointing at helpers that are often not installed
      // here; like containers/image, that must not break anonymous pulls.
      try {
        const creds = fromHelper(await helperGet(doc.credsStore, helperServerURL(host), env));
        if (creds) return creds;
      } catch (err) {
        if (!(err instanceof HostError)) throw err;
        log.warn(`${file.path}: credsStore: ${err.message}`);
      }
    }
    const entries = Object.entries(doc.auths ?? {}).map(([k, v]) => [normaliseAuthKey(k, file.legacy), v] as const);
    for (const key of keys) {
      const hit = entries.find(([k]) => k === key);
      const creds = hit && decodeEntry(hit[1], `${file.path}: "${key}"`);
      if (creds) return creds;
    }
  }
  return undefined;
}

/** The user name `tspod login --get-login HOST` prints; NotFoundError when not logged in. */
export async function getLogin(host: string, opts: AuthStoreOptions = {}): Promise<string> {
  const creds = await lookupCredentials(host, opts);
  if (!creds) throw new NotFoundError(`not logged into ${host}`);
  return creds.username;
}

/** Writes `doc` beside the target and renames it over, so readers never see half a file. */
function writeDocument(file: string, doc: AuthDocument): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${crypto.randomBytes(4).toString('hex')}`);
  const fd = fs.openSync(tmp, 'wx', 0o600);
  try {
    fs.writeFileSync(fd, JSON.stringify(doc, null, '\t') + '\n');
    fs.fsyncSync(fd);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  try {
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

function helperFor(doc: AuthDocument, key: string): string | undefined {
  return Object.entries(doc.credHelpers ?? {}).find(([k]) => normaliseAuthKey(k) === key)?.[1];
}

/** Saves a login; returns the file written (or the helper's name, when one is configured). */
export async function storeCredentials(host: string, username: string, password: string, opts: AuthStoreOptions = {}): Promise<string> {
  const key = loginKey(host);
  const file = writableAuthFile(opts);
  const doc = readDocument({ path: file, legacy: false }) ?? {};
  const helper = helperFor(doc, key);
  if (helper) {
    await helperStore(helper, helperServerURL(key), { username, secret: password }, envOf(opts));
    return `docker-credential-${helper}`;
  }
  const auths: Record<string, AuthEntry> = {};
  // Drop other spellings of the same key so the new login is the one found.
  for (const [k, v] of Object.entries(doc.auths ?? {})) if (normaliseAuthKey(k) !== key) auths[k] = v;
  auths[key] = { auth: Buffer.from(`${username}:${password}`).toString('base64') };
  writeDocument(file, { ...doc, auths });
  return file;
}

/**
 * Logs out of `host`, or of everything in the writable file when `host` is undefined
 * (`logout --all`). Reports, rather than edits, credentials found in other files: those
 * belong to `docker login` or another tool.
 */
export async function removeCredentials(host: string | undefined, opts: AuthStoreOptions = {}): Promise<RemoveResult> {
  const file = writableAuthFile(opts);
  const doc = readDocument({ path: file, legacy: false });
  if (host === undefined) {
    if (doc?.auths && Object.keys(doc.auths).length) writeDocument(file, { ...doc, auths: {} });
    return { removed: true, file };
  }
  const key = loginKey(host);
  let removed = false;
  const helper = doc && helperFor(doc, key);
  if (helper) removed = await helperErase(helper, helperServerURL(key), envOf(opts));
  if (doc?.auths) {
    const kept = Object.entries(doc.auths).filter(([k]) => normaliseAuthKey(k) !== key);
    if (kept.length !== Object.keys(doc.auths).length) {
      writeDocument(file, { ...doc, auths: Object.fromEntries(kept) });
      removed = true;
    }
  }
  if (removed) return { removed, file };
  const others = authFiles(opts).filter((f) => f.path !== file);
  for (const other of others) {
    const d = readDocument(other);
    if (d && Object.keys(d.auths ?? {}).some((k) => normaliseAuthKey(k, other.legacy) === key)) return { removed, file, elsewhere: other.path };
  }
  return { removed, file };
}
