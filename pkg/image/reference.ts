// Image references in Docker's grammar (github.com/distribution/reference):
//   [registry[:port]/]path-component[/path-component...][:tag][@algorithm:hex]
// Parsing is pure. Short names (`alpine`, `user/app`) are only qualified with docker.io when
// the caller asks: Podman resolves them through registries.conf instead (short-names.ts).
import { InvalidArgumentError } from '../errors';
import { digestProblem } from './digest';

export interface ImageReference {
  /** registry host[:port] (`docker.io` for Docker Hub); '' for a short name not yet resolved */
  registry: string;
  /** path on the registry (`library/alpine`, `user/app`) */
  repository: string;
  tag?: string;
  digest?: string;
}

export interface ParseReferenceOptions {
  /** qualify short names with docker.io (Docker's behaviour); otherwise their registry is '' */
  qualify?: boolean;
}

export const DOCKER_HUB = 'docker.io';
export const DEFAULT_TAG = 'latest';
const NAME_MAX = 255;

const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[\w][\w.-]{0,127}$/;
const DOMAIN_COMPONENT = /^(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])$/;
const PORT = /^[0-9]+$/;
const IPV6 = /^\[[a-fA-F0-9:]+\]$/;
const ID_LIKE = /^[a-f0-9]{64}$/;

function invalid(detail?: string): InvalidArgumentError {
  return new InvalidArgumentError(detail ? `invalid reference format: ${detail}` : 'invalid reference format');
}

/** Does this first path component name a registry (Podman's and Docker's shared rule)? */
function looksLikeRegistry(component: string): boolean {
  return component.includes('.') || component.includes(':') || component === 'localhost';
}

function validHost(host: string): boolean {
  let name = host;
  let port: string | undefined;
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    if (end < 0) return false;
    name = host.slice(0, end + 1);
    const rest = host.slice(end + 1);
    if (rest && !rest.startsWith(':')) return false;
    port = rest ? rest.slice(1) : undefined;
    if (!IPV6.test(name)) return false;
  } else {
    const colon = host.indexOf(':');
    if (colon >= 0) {
      name = host.slice(0, colon);
      port = host.slice(colon + 1);
    }
    if (!name.split('.').every((c) => DOMAIN_COMPONENT.test(c))) return false;
  }
  return port === undefined || PORT.test(port);
}

/** The registry part of `s`, if its first component names one. */
function splitRegistry(name: string): { registry: string; path: string } {
  const slash = name.indexOf('/');
  if (slash < 0 || !looksLikeRegistry(name.slice(0, slash))) return { registry: '', path: name };
  return { registry: name.slice(0, slash), path: name.slice(slash + 1) };
}

/** True when `s` names no registry: `alpine`, `user/app`, but not `quay.io/x`, `localhost/x`. */
export function isShortName(s: string): boolean {
  const name = s.split('@')[0];
  return splitRegistry(name).registry === '';
}

/** docker.io spellings and the implicit `library/` namespace, as Docker normalises them. */
function normaliseHub(registry: string, path: string): { registry: string; path: string } {
  if (registry === 'index.docker.io') registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && !path.includes('/')) path = `library/${path}`;
  return { registry, path };
}

export function parseReference(s: string, opts: ParseReferenceOptions = {}): ImageReference {
  if (s === '') throw invalid('repository name must have at least one component');
  if (ID_LIKE.test(s)) {
    throw new InvalidArgumentError(`invalid repository name (${s}), cannot specify 64-byte hexadecimal strings`);
  }
  let rest = s;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    // Docker first checks the shape (algorithm:hex of 32+), then go-digest the algorithm.
    if (!/^[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}$/.test(digest)) throw invalid();
    const problem = digestProblem(digest);
    if (problem) throw invalid(problem);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon > rest.lastIndexOf('/')) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!TAG.test(tag)) throw invalid(tag.length > 128 ? 'tag must not be more than 128 characters' : undefined);
  }
  const split = splitRegistry(rest);
  if (split.registry && !validHost(split.registry)) throw invalid();
  const components = split.path.split('/');
  if (!components.every((c) => PATH_COMPONENT.test(c))) {
    const lower = components.every((c) => PATH_COMPONENT.test(c.toLowerCase()));
    throw invalid(lower ? 'repository name must be lowercase' : undefined);
  }
  if (rest.length > NAME_MAX) throw invalid(`repository name must not be more than ${NAME_MAX} characters`);
  let registry = split.registry;
  let path = split.path;
  if (registry || opts.qualify) ({ registry, path } = normaliseHub(registry || DOCKER_HUB, path));
  const ref: ImageReference = { registry, repository: path };
  if (tag !== undefined) ref.tag = tag;
  if (digest !== undefined) ref.digest = digest;
  return ref;
}

/** `ref` on `registry`, with docker.io's `library/` rule applied to the repository. */
export function qualifyReference(ref: ImageReference, registry: string): ImageReference {
  const n = normaliseHub(registry, ref.repository);
  return { ...ref, registry: n.registry, repository: n.path };
}

export function isQualified(ref: ImageReference): boolean {
  return ref.registry !== '';
}

/** `registry/repository` without tag or digest (Docker's "name"). */
export function repositoryName(ref: ImageReference): string {
  return ref.registry ? `${ref.registry}/${ref.repository}` : ref.repository;
}

/** The full form: `docker.io/library/alpine:latest`, `host:5000/app@sha256:...`. */
export function formatReference(ref: ImageReference): string {
  let s = repositoryName(ref);
  if (ref.tag !== undefined) s += `:${ref.tag}`;
  if (ref.digest !== undefined) s += `@${ref.digest}`;
  return s;
}

/** Docker's short form: `alpine:latest`, `user/app:1`; other registries stay in full. */
export function familiarName(ref: ImageReference): string {
  let name = repositoryName(ref);
  if (ref.registry === DOCKER_HUB) {
    name = ref.repository.startsWith('library/') && ref.repository.split('/').length === 2 ? ref.repository.slice(8) : ref.repository;
  }
  if (ref.tag !== undefined) name += `:${ref.tag}`;
  if (ref.digest !== undefined) name += `@${ref.digest}`;
  return name;
}

/** Adds `:latest` when the reference has neither tag nor digest (Docker's TagNameOnly). */
export function withDefaultTag(ref: ImageReference): ImageReference {
  if (ref.tag !== undefined || ref.digest !== undefined) return ref;
  return { ...ref, tag: DEFAULT_TAG };
}

/** The tag or digest a registry request names (digest wins: it is exact). */
export function manifestReference(ref: ImageReference): string {
  return ref.digest ?? ref.tag ?? DEFAULT_TAG;
}
