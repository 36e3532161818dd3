// RUN --mount=type=bind|cache|tmpfs|secret|ssh,... and RUN --network: parsed and checked
// the way BuildKit does, with its defaults filled in, so the executor gets a complete value.

import { posix } from 'node:path';

export type RunMountType = 'bind' | 'cache' | 'tmpfs' | 'secret' | 'ssh';

export interface RunMount {
  type: RunMountType;
  /** Where it appears in the RUN container. */
  target: string;
  /** bind/cache: path in `from` (or the context); secret: unused. */
  source?: string;
  /** bind/cache: a stage name or image to take the source from. */
  from?: string;
  readonly: boolean;
  /** cache: the cache's identity (defaults to the target); secret/ssh: which one. */
  id?: string;
  sharing: 'shared' | 'private' | 'locked';
  mode?: number;
  uid?: number;
  gid?: number;
  /** secret/ssh: fail when missing instead of skipping the mount. */
  required: boolean;
  /** tmpfs: size in bytes. */
  size?: number;
  /** secret: also (or only) expose it as this environment variable. */
  env?: string;
}

export class MountError extends Error {}

const TYPES: RunMountType[] = ['bind', 'cache', 'tmpfs', 'secret', 'ssh'];
const BOOLEAN_KEYS = new Set(['readonly', 'ro', 'readwrite', 'rw', 'required']);

/** Splits a comma-separated list the way Go's csv reader does (double quotes group commas). */
function splitFields(value: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const ch = value[i];
    if (ch === '"') {
      if (quoted && value[i + 1] === '"') {
        field += '"';
        i++;
      } else quoted = !quoted;
    } else if (ch === ',' && !quoted) {
      fields.push(field);
      field = '';
    } else field += ch;
  }
  if (quoted) throw new MountError(`unterminated quote in --mount=${value}`);
  fields.push(field);
  return fields;
}

function parseBool(key: string, value: string | undefined): boolean {
  if (value === undefined) return true;
  const v = value.toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new MountError(`invalid value for ${key}: ${value} (use true or false)`);
}

function parseId(key: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new MountError(`invalid value for ${key}: ${value} (a number is expected)`);
  return Number(value);
}

/** Bytes from a size like 64m, 1g, 512k, 1024 (binary multiples, as docker's tmpfs size). */
export function parseByteSize(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?$/i.exec(value.trim());
  if (!m) throw new MountError(`invalid size: ${value} (use a number with an optional k, m or g suffix)`);
  const power = ' kmgtp'.indexOf(m[2].toLowerCase() || ' ');
  return Math.floor(Number(m[1]) * 1024 ** power);
}

/** Parses one --mount value; throws MountError naming the bad field. */
export function parseRunMount(value: string): RunMount {
  const mount: Partial<RunMount> & { type: RunMountType } = { type: 'bind', sharing: 'shared', required: false };
  let readonly: boolean | undefined;
  for (const field of splitFields(value)) {
    if (field.trim() === '') continue;
    const eq = field.indexOf('=');
    const key = (eq < 0 ? field : field.slice(0, eq)).trim().toLowerCase();
    const val = eq < 0 ? undefined : field.slice(eq + 1);
    if (val === undefined && !BOOLEAN_KEYS.has(key)) throw new MountError(`invalid field '${field}' in --mount: expected key=value`);
    const v = val as string;
    switch (key) {
      case 'type':
        if (!TYPES.includes(v as RunMountType)) throw new MountError(`unsupported mount type "${v}": use bind, cache, tmpfs, secret or ssh`);
        mount.type = v as RunMountType;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        mount.target = v;
        break;
      case 'source':
      case 'src':
        mount.source = v;
        break;
      case 'from':
        mount.from = v;
        break;
      case 'readonly':
      case 'ro':
        readonly = parseBool(key, val);
        break;
      case 'readwrite':
      case 'rw':
        readonly = !parseBool(key, val);
        break;
      case 'required':
        mount.required = parseBool(key, val);
        break;
      case 'id':
        mount.id = v;
        break;
      case 'sharing':
        if (v !== 'shared' && v !== 'private' && v !== 'locked') throw new MountError(`unsupported sharing value "${v}": use shared, private or locked`);
        mount.sharing = v;
        break;
      case 'mode':
        if (!/^[0-7]+$/.test(v)) throw new MountError(`invalid value for mode: ${v} (an octal mode like 0755 is expected)`);
        mount.mode = parseInt(v, 8);
        break;
      case 'uid':
        mount.uid = parseId(key, v);
        break;
      case 'gid':
        mount.gid = parseId(key, v);
        break;
      case 'size':
        mount.size = parseByteSize(v);
        break;
      case 'env':
        mount.env = v;
        break;
      default:
        throw new MountError(`unexpected key '${key}' in '${field}'`);
    }
  }
  return completeMount(mount, readonly);
}

function completeMount(m: Partial<RunMount> & { type: RunMountType }, readonly: boolean | undefined): RunMount {
  switch (m.type) {
    case 'secret':
      if (!m.id && !m.target && !m.env) throw new MountError('--mount=type=secret needs id=NAME (or target=PATH)');
      m.id ??= posix.basename(m.target as string);
      if (!m.target && !m.env) m.target = `/run/secrets/${m.id}`;
      m.mode ??= 0o400;
      break;
    case 'ssh':
      m.id ??= 'default';
      m.target ??= '/run/buildkit/ssh_agent.0';
      m.mode ??= 0o600;
      break;
    default:
      if (!m.target) throw new MountError(`--mount=type=${m.type} needs target=PATH`);
  }
  if (m.type === 'cache') {
    m.id ??= m.target;
    if (m.from === undefined) m.mode ??= 0o755;
  }
  if (m.type !== 'tmpfs' && m.size !== undefined) throw new MountError('size= applies to type=tmpfs mounts only');
  // bind and secret mounts are read-only unless asked otherwise; cache and tmpfs are writable.
  const defaultReadonly = m.type === 'bind' || m.type === 'secret' || m.type === 'ssh';
  return { ...m, target: m.target ?? '', readonly: readonly ?? defaultReadonly } as RunMount;
}

export const RUN_NETWORK_MODES = ['default', 'none', 'host'];

/** Checks RUN --network; returns the mode. */
export function parseRunNetwork(value: string): string {
  if (!RUN_NETWORK_MODES.includes(value)) throw new MountError(`unsupported network mode "${value}": use default, none or host`);
  return value;
}
