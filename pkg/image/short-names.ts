// Short-name resolution as Podman does it (containers-registries.conf(5), "SHORT-NAME
// ALIASES" and containers/image pkg/shortnames): an alias from [aliases] wins; otherwise
// every unqualified-search registry is a candidate, tried in order by pull. Prompting in
// "enforcing" mode is the caller's business: this module only reports the mode.
import * as path from 'node:path';
import { InvalidArgumentError } from '../errors';
import { RegistriesConfig } from '../config/registries-conf';
import { ImageReference, isShortName, parseReference, qualifyReference, withDefaultTag } from './reference';

export type ResolutionSource = 'qualified' | 'alias' | 'search';

export interface ShortNameResolution {
  /** fully qualified references with a tag or digest, in the order to try them */
  candidates: ImageReference[];
  source: ResolutionSource;
  /** the configuration file the alias came from, for messages */
  aliasFile?: string;
  /** registries.conf's short-name-mode (enforcing / permissive / disabled) */
  shortNameMode: string;
}

/** The file to name in messages about the search list: the last one read, or the user's. */
function configFileForMessage(conf: RegistriesConfig, fallback?: string): string {
  return conf.files[conf.files.length - 1] ?? fallback ?? '/etc/containers/registries.conf';
}

/** Alias values must be fully qualified names without tag or digest, as Podman requires. */
function parseAliasValue(key: string, value: string, file: string): ImageReference {
  let ref: ImageReference;
  try {
    ref = parseReference(value);
  } catch (err) {
    throw new InvalidArgumentError(`${file}: alias "${key}" = "${value}": ${(err as Error).message}`);
  }
  if (!ref.registry) throw new InvalidArgumentError(`${file}: alias "${key}" = "${value}" must be a fully qualified name (registry/repository)`);
  if (ref.tag !== undefined || ref.digest !== undefined) {
    throw new InvalidArgumentError(`${file}: alias "${key}" = "${value}" must not contain a tag or digest`);
  }
  return ref;
}

function aliasFor(short: ImageReference, conf: RegistriesConfig): ImageReference | undefined {
  const value = conf.aliases[short.repository];
  if (value === undefined) return undefined;
  const target = parseAliasValue(short.repository, value, configFileForMessage(conf));
  // The short name's own tag or digest carries over to the alias target.
  return dropUndefined(withDefaultTag({ ...target, tag: short.tag, digest: short.digest }));
}

function dropUndefined(ref: ImageReference): ImageReference {
  const out: ImageReference = { registry: ref.registry, repository: ref.repository };
  if (ref.tag !== undefined) out.tag = ref.tag;
  if (ref.digest !== undefined) out.digest = ref.digest;
  return out;
}

/**
 * The references a pull of `name` tries, in order. A qualified name is its own single
 * candidate. `configFile` names the user's registries.conf in the error when no file exists.
 */
export function resolveShortName(name: string, conf: RegistriesConfig, configFile?: string): ShortNameResolution {
  const mode = conf.shortNameMode;
  if (!isShortName(name)) {
    return { candidates: [withDefaultTag(parseReference(name))], source: 'qualified', shortNameMode: mode };
  }
  const short = parseReference(name);
  const alias = aliasFor(short, conf);
  if (alias) {
    return { candidates: [alias], source: 'alias', aliasFile: configFileForMessage(conf, configFile), shortNameMode: mode };
  }
  if (conf.unqualifiedSearch.length === 0) {
    const file = configFileForMessage(conf, configFile);
    throw new InvalidArgumentError(
      `short-name "${name}" did not resolve to an alias and no unqualified-search registries are defined in "${file}"; ` +
        `add unqualified-search-registries = ["docker.io"] to ${path.basename(file)} or use a fully qualified name such as docker.io/${qualifyReference(short, 'docker.io').repository}`,
    );
  }
  const candidates = uniqueRegistries(conf.unqualifiedSearch).map((r) => withDefaultTag(qualifyReference(short, r)));
  return { candidates, source: 'search', shortNameMode: mode };
}

/**
 * Names to look for among local images, in order: an alias, `localhost/NAME`, then NAME on
 * each search registry. Unlike pull this never fails on an empty search list: images built
 * locally are named `localhost/...`.
 */
export function localCandidates(name: string, conf: RegistriesConfig): ImageReference[] {
  if (!isShortName(name)) return [withDefaultTag(parseReference(name))];
  const short = parseReference(name);
  const out: ImageReference[] = [];
  const alias = aliasFor(short, conf);
  if (alias) out.push(alias);
  out.push(withDefaultTag(qualifyReference(short, 'localhost')));
  for (const r of uniqueRegistries(conf.unqualifiedSearch)) out.push(withDefaultTag(qualifyReference(short, r)));
  return out;
}

function uniqueRegistries(list: string[]): string[] {
  return [...new Set(list.map((r) => (r === 'index.docker.io' ? 'docker.io' : r)))];
}
