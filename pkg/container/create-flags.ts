// Parsing of run/create flag values that have a syntax of their own (-v, --mount, --tmpfs,
// -e, --env-file, --label, --restart), as pure functions the CLI calls (--log-opt: log-config.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError } from '../errors';
import { parseByteSize } from '../format/human-units';
import { MountRequest, RestartPolicy } from './container-config';

const PROPAGATION = new Set(['rprivate', 'private', 'rshared', 'shared', 'rslave', 'slave']);
const BIND_OPTS = new Set(['ro', 'rw', 'z', 'Z', 'U', 'nosuid', 'suid', 'nodev', 'dev', 'noexec', 'exec', 'bind', 'rbind', 'copy', 'nocopy', ...PROPAGATION]);

function isHostPath(source: string): boolean {
  return source.startsWith('/') || source.startsWith('.') || source.startsWith('~');
}

function mountOptions(opts: string[], flag: string): { readonly: boolean; options: string[] } {
  let readonly = false;
  const options: string[] = [];
  for (const o of opts) {
    if (!BIND_OPTS.has(o)) throw new InvalidArgumentError(`invalid option "${o}" in ${flag}: use ro, rw, z, Z, U, nosuid, nodev, noexec or a propagation mode`);
    if (o === 'ro') readonly = true;
    else if (o === 'rw') readonly = false;
    // SELinux relabeling (z, Z) means nothing here; U (chown) and copy are not needed for binds.
    else if (!['z', 'Z', 'U', 'copy', 'nocopy', 'bind'].includes(o)) options.push(o);
  }
  return { readonly, options };
}

function checkDestination(dest: string, flag: string): void {
  if (!dest.startsWith('/')) throw new InvalidArgumentError(`invalid container path "${dest}" in ${flag}: it must be absolute`);
}

/** -v HOST:CTR[:OPTS], -v NAME:CTR[:OPTS], -v CTR (anonymous volume). */
export function parseVolumeFlag(value: string, cwd = process.cwd(), home = process.env.HOME ?? '/'): MountRequest {
  const parts = value.split(':');
  if (parts.length === 1) {
    checkDestination(parts[0], `-v ${value}`);
    return { type: 'volume', destination: parts[0], readonly: false, options: [] };
  }
  if (parts.length > 3) throw new InvalidArgumentError(`invalid volume specification "${value}": use SOURCE:DESTINATION[:OPTIONS]`);
  const [source, destination, opts = ''] = parts;
  if (!source) throw new InvalidArgumentError(`invalid volume specification "${value}": empty source`);
  checkDestination(destination, `-v ${value}`);
  const { readonly, options } = mountOptions(opts ? opts.split(',') : [], `-v ${value}`);
  if (isHostPath(source)) {
    const expanded = source.startsWith('~') ? path.join(home, source.slice(1)) : source;
    return { type: 'bind', source: path.resolve(cwd, expanded), destination, readonly, options };
  }
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(source)) throw new InvalidArgumentError(`invalid volume name "${source}": names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*`);
  return { type: 'volume', source, destination, readonly, options };
}

/** --mount type=bind|volume|tmpfs,source=,target=,readonly,... (Docker's CSV form). */
export function parseMountFlag(value: string, cwd = process.cwd()): MountRequest {
  const fields = new Map<string, string>();
  const flags: string[] = [];
  for (const item of value.split(',')) {
    const eq = item.indexOf('=');
    if (eq < 0) flags.push(item.trim());
    else fields.set(item.slice(0, eq).trim(), item.slice(eq + 1).trim());
  }
  const type = fields.get('type') ?? 'volume';
  const destination = fields.get('target') ?? fields.get('destination') ?? fields.get('dst');
  if (!destination) throw new InvalidArgumentError(`--mount ${value}: target is required`);
  checkDestination(destination, `--mount ${value}`);
  const readonly = flags.includes('readonly') || flags.includes('ro') || fields.get('readonly') === 'true' || fields.get('ro') === 'true';
  const source = fields.get('source') ?? fields.get('src');
  if (type === 'tmpfs') {
    const options: string[] = [];
    const size = fields.get('tmpfs-size');
    if (size) options.push(`size=${parseByteSize(size) ?? size}`);
    const mode = fields.get('tmpfs-mode');
    if (mode) options.push(`mode=${mode}`);
    return { type: 'tmpfs', destination, readonly, options };
  }
  if (type === 'bind') {
    if (!source) throw new InvalidArgumentError(`--mount ${value}: a bind mount needs source=`);
    const abs = path.resolve(cwd, source);
    if (!fs.existsSync(abs)) throw new InvalidArgumentError(`--mount ${value}: bind source path does not exist: ${abs}`);
    const prop = fields.get('bind-propagation');
    return { type: 'bind', source: abs, destination, readonly, options: prop ? [prop] : [] };
  }
  if (type === 'volume') return { type: 'volume', source: source || undefined, destination, readonly, options: [] };
  throw new InvalidArgumentError(`--mount ${value}: unknown type "${type}": use bind, volume or tmpfs`);
}

/** --tmpfs /ctr[:opts]. */
export function parseTmpfsFlag(value: string): MountRequest {
  const i = value.indexOf(':');
  const destination = i < 0 ? value : value.slice(0, i);
  checkDestination(destination, `--tmpfs ${value}`);
  const options = i < 0 ? [] : value.slice(i + 1).split(',').filter(Boolean);
  return { type: 'tmpfs', destination, readonly: options.includes('ro'), options: options.filter((o) => o !== 'ro' && o !== 'rw') };
}

/** -e NAME=value, or -e NAME taking the value from our environment (dropped when unset). */
export function parseEnvFlag(value: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const eq = value.indexOf('=');
  if (eq === 0) throw new InvalidArgumentError(`invalid environment variable "${value}"`);
  if (eq > 0) return value;
  const v = env[value];
  return v === undefined ? undefined : `${value}=${v}`;
}

export function readEnvFile(file: string, env: NodeJS.ProcessEnv = process.env): string[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new InvalidArgumentError(`reading env file ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (!t || t.startsWith('#')) continue;
    const parsed = parseEnvFlag(t, env);
    if (parsed) out.push(parsed);
  }
  return out;
}

export function parseLabels(labels: string[], files: string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  const add = (entry: string) => {
    const eq = entry.indexOf('=');
    const key = eq < 0 ? entry : entry.slice(0, eq);
    if (!key) throw new InvalidArgumentError(`invalid label "${entry}": the key is empty`);
    out[key] = eq < 0 ? '' : entry.slice(eq + 1);
  };
  for (const f of files) for (const line of fs.readFileSync(f, 'utf8').split('\n')) if (line.trim() && !line.trim().startsWith('#')) add(line.trim());
  for (const l of labels) add(l);
  return out;
}

/** `--annotation KEY=VALUE`, repeatable (run, create, manifest add/annotate). */
export function parseAnnotations(values: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`no value given for annotation "${v}": use --annotation KEY=VALUE`);
    out[v.slice(0, eq)] = v.slice(eq + 1);
  }
  return out;
}

export function parseRestartPolicy(value: string | undefined): RestartPolicy {
  if (!value || value === 'no') return { name: 'no', maxRetries: 0 };
  const [name, count] = value.split(':');
  if (name === 'on-failure') {
    const n = count === undefined ? 0 : Number(count);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`invalid restart policy "${value}": the retry count must be a whole number`);
    return { name, maxRetries: n };
  }
  if ((name === 'always' || name === 'unless-stopped') && count === undefined) return { name, maxRetries: 0 };
  throw new InvalidArgumentError(`invalid restart policy "${value}": use no, on-failure[:N], always or unless-stopped`);
}
