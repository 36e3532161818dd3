// Where a fully qualified reference is pulled from and pushed to, from registries.conf:
// mirrors first (in order, filtered by pull-from-mirror), then the origin, whose location
// may rewrite the name (`prefix = "docker.io"`, `location = "127.0.0.1:5000"`). Pushes go to
// the origin only, as in containers/image. `blocked = true` refuses the registry outright,
// mirrors included.
import { TspodError } from '../errors';
import { RegistriesConfig, RegistryEntry, findRegistry } from '../config/registries-conf';
import { ImageReference, formatReference, repositoryName } from './reference';

export interface RegistryEndpoint {
  /** registry host[:port] to contact and to look credentials up for */
  host: string;
  /** the repository on that host (rewritten by the entry's or mirror's location) */
  repository: string;
  /** skip TLS verification and fall back to plain http (registries.conf or --tls-verify=false) */
  insecure: boolean;
  /** plain http may be tried after https: insecure registries and the loopback host */
  allowHttp: boolean;
  isMirror: boolean;
}

export interface EndpointOptions {
  /** --tls-verify: false makes every endpoint insecure; true forces verification */
  tlsVerify?: boolean;
}

/** A registry that registries.conf blocks. */
export class BlockedRegistryError extends TspodError {}

/** Loopback registries speak plain http by habit; Docker treats 127.0.0.0/8 as insecure too. */
export function isLoopbackHost(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : host.split(':')[0];
  return name === 'localhost' || name === '[::1]' || /^127\.\d+\.\d+\.\d+$/.test(name);
}

/** The part of `name` the entry's prefix matched: for `*.example.com` the host itself. */
function matchedPrefix(entry: RegistryEntry, name: string): string {
  return entry.prefix.startsWith('*.') ? name.split('/')[0] : entry.prefix;
}

function rewrite(location: string, prefix: string, name: string): { host: string; repository: string } {
  const full = location + name.slice(prefix.length);
  const slash = full.indexOf('/');
  if (slash < 0) return { host: full, repository: '' };
  return { host: full.slice(0, slash), repository: full.slice(slash + 1) };
}

function endpoint(host: string, repository: string, insecure: boolean, isMirror: boolean, opts: EndpointOptions): RegistryEndpoint {
  const skipVerify = opts.tlsVerify === false ? true : opts.tlsVerify === true ? false : insecure;
  // An explicit --tls-verify=true means https only, even on the loopback host.
  const allowHttp = skipVerify || (opts.tlsVerify !== true && isLoopbackHost(host));
  return { host, repository, insecure: skipVerify, allowHttp, isMirror };
}

function checkBlocked(entry: RegistryEntry | undefined, ref: ImageReference, conf: RegistriesConfig): void {
  if (!entry?.blocked) return;
  const files = conf.files.length ? conf.files.map((f) => `"${f}"`).join(', ') : 'registries.conf';
  throw new BlockedRegistryError(`registry ${ref.registry} is blocked in ${files}: cannot use ${formatReference(ref)}`);
}

function mirrorApplies(pullFromMirror: string, ref: ImageReference): boolean {
  if (pullFromMirror === 'digest-only') return ref.digest !== undefined;
  if (pullFromMirror === 'tag-only') return ref.digest === undefined;
  return true;
}

function origin(entry: RegistryEntry | undefined, name: string, ref: ImageReference, opts: EndpointOptions): RegistryEndpoint {
  if (!entry) return endpoint(ref.registry, ref.repository, false, false, opts);
  // Wildcard entries cannot rewrite (containers-registries.conf(5)): the host stays.
  const location = entry.prefix.startsWith('*.') ? matchedPrefix(entry, name) : entry.location;
  const r = rewrite(location, matchedPrefix(entry, name), name);
  return endpoint(r.host, r.repository, entry.insecure, false, opts);
}

/** Endpoints to try, in order, to pull `ref` (which must be fully qualified). */
export function pullEndpoints(ref: ImageReference, conf: RegistriesConfig, opts: EndpointOptions = {}): RegistryEndpoint[] {
  const name = repositoryName(ref);
  const entry = findRegistry(conf, name);
  checkBlocked(entry, ref, conf);
  const out: RegistryEndpoint[] = [];
  for (const m of entry?.mirrors ?? []) {
    if (!mirrorApplies(m.pullFromMirror, ref)) continue;
    const r = rewrite(m.location, matchedPrefix(entry as RegistryEntry, name), name);
    out.push(endpoint(r.host, r.repository, m.insecure, true, opts));
  }
  out.push(origin(entry, name, ref, opts));
  return out;
}

/** The one endpoint a push of `ref` goes to: the origin, never a mirror. */
export function pushEndpoint(ref: ImageReference, conf: RegistriesConfig, opts: EndpointOptions = {}): RegistryEndpoint {
  const name = repositoryName(ref);
  const entry = findRegistry(conf, name);
  checkBlocked(entry, ref, conf);
  return origin(entry, name, ref, opts);
}

/** Insecure settings for a bare host (login, search), where there is no repository. */
export function hostEndpoint(host: string, conf: RegistriesConfig, opts: EndpointOptions = {}): RegistryEndpoint {
  const entry = findRegistry(conf, host);
  return endpoint(host, '', entry?.insecure ?? false, false, opts);
}
