// `--filter` for images (images, image prune): Docker's keys and meanings, Podman's extras.
// Values of one key are OR-ed, different keys AND-ed, as Docker does. Parsing checks keys and
// value shapes up front so a typo is one error line, not an empty list. Pure: images that a
// filter names (before=, since=) are resolved by the caller's lookup function.
import { InvalidArgumentError } from '../errors';
import { DOCKER_HUB, ImageReference, parseReference } from './reference';
import { goDurationNs } from '../format/go-duration';

/** What a filter needs to know about an image. */
export interface FilterableImage {
  id: string;
  names: string[];
  digests: string[];
  manifestDigest: string | null;
  /** ms since the epoch */
  created: number;
  labels: Record<string, string>;
  dangling: boolean;
  intermediate: boolean;
  containers: number;
}

export type FilterKey = 'dangling' | 'reference' | 'before' | 'since' | 'label' | 'label!' | 'until' | 'id' | 'digest' | 'intermediate' | 'containers' | 'readonly';

const KEYS: readonly string[] = ['dangling', 'reference', 'before', 'since', 'label', 'until', 'id', 'digest', 'intermediate', 'containers', 'readonly'];
const BOOLEAN_KEYS: readonly string[] = ['dangling', 'intermediate', 'containers', 'readonly'];

export type ImageFilters = Map<FilterKey, string[]>;

/** Which keys `image prune` accepts (Docker's). */
export const PRUNE_FILTER_KEYS: readonly string[] = ['until', 'label', 'label!'];

/** Parses `key=value` / `label!=value` flags; `allowed` limits the keys (prune takes fewer). */
export function parseImageFilters(flags: readonly string[], allowed?: readonly string[], now = Date.now()): ImageFilters {
  const out: ImageFilters = new Map();
  for (const flag of flags) {
    const eq = flag.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`invalid image filter "${flag}": must be in the format "filter=value or filter!=value"`);
    let key = flag.slice(0, eq);
    const value = flag.slice(eq + 1);
    const negated = key.endsWith('!');
    if (negated) key = key.slice(0, -1);
    if (!KEYS.includes(key) || (negated && key !== 'label')) throw new InvalidArgumentError(`unsupported image filter "${negated ? `${key}!` : key}"`);
    const fullKey = (negated ? `${key}!` : key) as FilterKey;
    if (allowed && !allowed.includes(fullKey)) throw new InvalidArgumentError(`unsupported image filter "${fullKey}"`);
    if (BOOLEAN_KEYS.includes(key)) parseBool(key, value);
    if (key === 'until') parseUntil(value, now);
    if (key === 'reference' && value === '') throw new InvalidArgumentError('invalid reference filter: empty pattern');
    const list = out.get(fullKey);
    if (list) list.push(value);
    else out.set(fullKey, [value]);
  }
  return out;
}

function parseBool(key: string, value: string): boolean {
  // Go's strconv.ParseBool, which both Docker and Podman use
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(value)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(value)) return false;
  throw new InvalidArgumentError(`invalid ${key} filter value "${value}": must be true or false`);
}

/** A Go duration (`90m`, `1h30m`, `2.5h`) in ms, or undefined. */
export function parseGoDuration(text: string): number | undefined {
  const ns = goDurationNs(text);
  return ns === undefined ? undefined : ns / 1e6;
}

/**
 * `until=` as Docker reads it (api/types/time.GetTimestamp): a duration back from now, a Unix
 * time (`1704067200`, `1704067200.5`), or an RFC 3339 date or date-time (local time when no
 * zone is given). Returns ms since the epoch.
 */
export function parseUntil(value: string, now = Date.now()): number {
  const duration = parseGoDuration(value);
  if (duration !== undefined) return now - duration;
  if (/^\d+(\.\d+)?$/.test(value)) return Math.round(Number(value) * 1000);
  if (/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})?)?$/.test(value)) {
    const hasZone = /(Z|[+-]\d{2}:\d{2})$/.test(value) && value.includes('T');
    const ms = Date.parse(value.includes('T') || hasZone ? value : `${value}T00:00:00`);
    if (!Number.isNaN(ms)) return ms;
  }
  throw new InvalidArgumentError(`invalid until filter value "${value}": use a duration (24h), a Unix timestamp or an RFC 3339 date`);
}

/**
 * Go's path.Match, which Docker's reference filter uses: `*` any run of characters other than
 * `/`, `?` one such character, `[...]` a class (`[^...]` negated, ranges, `\` escapes).
 * Returns undefined for a malformed pattern.
 */
export function globMatch(pattern: string, text: string): boolean | undefined {
  const re = globRegExp(pattern);
  return re ? re.test(text) : undefined;
}

const globCache = new Map<string, RegExp | null>();

function globRegExp(pattern: string): RegExp | undefined {
  const cached = globCache.get(pattern);
  if (cached !== undefined) return cached ?? undefined;
  let re: RegExp | null = null;
  try {
    re = new RegExp(`^${globSource(pattern)}$`, 'su');
  } catch (err) {
    if (!(err instanceof BadPattern)) throw err;
  }
  globCache.set(pattern, re);
  return re ?? undefined;
}

class BadPattern extends Error {}

function globSource(pattern: string): string {
  const chars = [...pattern];
  let i = 0;
  // Go's getEsc: one class character, `\`-escaped or plain; `-` and `]` must be escaped
  const classChar = (): string => {
    let c = chars[i];
    if (c === undefined || c === '-' || c === ']') throw new BadPattern();
    if (c === '\\') {
      c = chars[++i];
      if (c === undefined) throw new BadPattern();
    }
    i++;
    return c;
  };
  let src = '';
  while (i < chars.length) {
    const c = chars[i++];
    if (c === '*') src += '[^/]*';
    else if (c === '?') src += '[^/]';
    else if (c === '\\') {
      if (i >= chars.length) throw new BadPattern();
      src += escapeRe(chars[i++]);
    } else if (c === '[') {
      const negated = chars[i] === '^';
      if (negated) i++;
      let ranges = '';
      for (let n = 0; ; n++) {
        if (chars[i] === ']' && n > 0) {
          i++;
          break;
        }
        const lo = classChar();
        let hi = lo;
        if (chars[i] === '-') {
          i++;
          hi = classChar();
        }
        if (hi.codePointAt(0)! < lo.codePointAt(0)!) throw new BadPattern();
        ranges += lo === hi ? escapeRe(lo, true) : `${escapeRe(lo, true)}-${escapeRe(hi, true)}`;
      }
      src += `[${negated ? '^' : ''}${ranges}]`;
    } else src += escapeRe(c);
  }
  return src;
}

/** A literal character for the RegExp source ('u' mode allows only these escapes; `-` only in a class). */
function escapeRe(c: string, inClass = false): string {
  return /[.*+?^${}()|[\]\\/]/.test(c) || (inClass && c === '-') ? `\\${c}` : c;
}

/**
 * The spellings of a stored name a reference pattern may match: the full name with and
 * without tag, Docker's familiar form (`busybox:latest`, `busybox`), and the name without
 * `localhost/` (how people refer to images they built or tagged).
 */
export function referenceCandidates(name: string): string[] {
  let ref: ImageReference;
  try {
    ref = parseReference(name);
  } catch {
    return [name];
  }
  const repo = ref.registry ? `${ref.registry}/${ref.repository}` : ref.repository;
  const suffix = (ref.tag !== undefined ? `:${ref.tag}` : '') + (ref.digest !== undefined ? `@${ref.digest}` : '');
  const out = [repo + suffix, repo];
  let short: string | undefined;
  if (ref.registry === DOCKER_HUB) short = /^library\/[^/]+$/.test(ref.repository) ? ref.repository.slice(8) : ref.repository;
  else if (ref.registry === 'localhost') short = ref.repository;
  if (short !== undefined) out.push(short + suffix, short);
  return out;
}

/** Does the stored name match a `reference=` pattern (Docker's FamiliarMatch, widened as above)? */
export function referenceMatches(pattern: string, name: string): boolean {
  return referenceCandidates(name).some((c) => globMatch(pattern, c) === true);
}

function labelMatches(spec: string, labels: Record<string, string>): boolean {
  const eq = spec.indexOf('=');
  if (eq < 0) return Object.hasOwn(labels, spec);
  const key = spec.slice(0, eq);
  return Object.hasOwn(labels, key) && labels[key] === spec.slice(eq + 1);
}

function digestHexOf(value: string): string {
  return value.startsWith('sha256:') ? value.slice(7) : value;
}

/** Looks up the image a before=/since= filter names; throws when there is none. */
export type ImageResolver = (name: string) => { id: string; created: number } | undefined;

export interface ImageFilterContext {
  resolve: ImageResolver;
  now?: number;
}

/** An image-level predicate plus the names that pass `reference=` (all names when absent). */
export interface CompiledFilters {
  matches(image: FilterableImage): boolean;
  /** the names of `image` that the reference filter keeps; all when there is none */
  names(image: FilterableImage): string[];
  hasReference: boolean;
}

export function compileImageFilters(filters: ImageFilters, ctx: ImageFilterContext): CompiledFilters {
  const now = ctx.now ?? Date.now();
  const anchor = (key: string, value: string): number => {
    const found = ctx.resolve(value);
    if (!found) throw new InvalidArgumentError(`could not find local image for filter "${key}=${value}": ${value}: image not known`);
    return found.created;
  };
  const checks: ((img: FilterableImage) => boolean)[] = [];
  for (const [key, values] of filters) {
    switch (key) {
      case 'dangling':
      case 'intermediate':
      case 'readonly': {
        const wanted = values.map((v) => parseBool(key, v));
        const field = (img: FilterableImage): boolean => (key === 'readonly' ? false : img[key]);
        checks.push((img) => wanted.includes(field(img)));
        break;
      }
      case 'containers': {
        const wanted = values.map((v) => parseBool(key, v));
        checks.push((img) => wanted.includes(img.containers > 0));
        break;
      }
      case 'before': {
        const times = values.map((v) => anchor(key, v));
        checks.push((img) => times.some((t) => img.created < t));
        break;
      }
      case 'since': {
        const times = values.map((v) => anchor(key, v));
        checks.push((img) => times.some((t) => img.created > t));
        break;
      }
      case 'until': {
        const times = values.map((v) => parseUntil(v, now));
        checks.push((img) => times.some((t) => img.created < t));
        break;
      }
      case 'label':
        checks.push((img) => values.some((v) => labelMatches(v, img.labels)));
        break;
      case 'label!':
        checks.push((img) => !values.some((v) => labelMatches(v, img.labels)));
        break;
      case 'id':
        checks.push((img) => values.some((v) => digestHexOf(img.id).startsWith(digestHexOf(v))));
        break;
      case 'digest':
        checks.push((img) =>
          values.some((v) => img.manifestDigest === v || img.digests.some((d) => d.endsWith(`@${v}`))),
        );
        break;
      case 'reference':
        checks.push((img) => img.names.some((n) => values.some((v) => referenceMatches(v, n))));
        break;
    }
  }
  const references = filters.get('reference');
  return {
    matches: (img) => checks.every((check) => check(img)),
    names: (img) => (references ? img.names.filter((n) => references.some((v) => referenceMatches(v, n))) : img.names),
    hasReference: references !== undefined,
  };
}
