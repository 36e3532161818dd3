// `image inspect`: Docker's ImageInspect document (its field names and shapes, so `{{.Config.Cmd}}`
// and scripts written for Docker work), plus the fields Podman adds (Digest, ManifestType,
// Labels, Annotations, NamesHistory, History, User). Pure: the caller supplies where the layers
// live on disk.
import { ContainerConfig, HistoryEntry, ImageConfig, ImageManifest, parseImageConfig } from './manifest';
import { ImageRecord } from './image-store';
import { repositoryName, parseReference } from './reference';

/** Docker's container Config as image inspect prints it: the fixed fields always, the rest when set. */
export interface DockerConfig {
  Hostname: string;
  Domainname: string;
  User: string;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  ExposedPorts?: Record<string, Record<string, never>>;
  Tty: boolean;
  OpenStdin: boolean;
  StdinOnce: boolean;
  Env: string[] | null;
  Cmd: string[] | null;
  Healthcheck?: ContainerConfig['Healthcheck'];
  ArgsEscaped?: boolean;
  Image: string;
  Volumes: Record<string, Record<string, never>> | null;
  WorkingDir: string;
  Entrypoint: string[] | null;
  OnBuild: string[] | null;
  Labels: Record<string, string> | null;
  StopSignal?: string;
  StopTimeout?: number;
  Shell?: string[];
}

export interface ImageInspect {
  Id: string;
  Digest: string;
  RepoTags: string[];
  RepoDigests: string[];
  Parent: string;
  Comment: string;
  Created: string;
  Container: string;
  ContainerConfig: DockerConfig;
  DockerVersion: string;
  Author: string;
  Config: DockerConfig;
  Architecture: string;
  Variant?: string;
  Os: string;
  OsVersion?: string;
  Size: number;
  VirtualSize: number;
  GraphDriver: { Name: string; Data: Record<string, string> | null };
  RootFS: { Type: string; Layers: string[] };
  Metadata: { LastTagTime: string };
  Labels: Record<string, string> | null;
  Annotations: Record<string, string>;
  ManifestType: string;
  User: string;
  History: HistoryEntry[];
  NamesHistory: string[];
}

export interface StorageView {
  /** the storage driver's name (`overlay`, `vfs`, ...) */
  driver: string;
  /** the image's layer directories (each holding `diff`), topmost first */
  layerDirs: string[];
}

const ZERO_TIME = '0001-01-01T00:00:00Z';

function nonEmpty<T extends object>(v: T | null | undefined): T | undefined {
  return v && Object.keys(v).length > 0 ? v : undefined;
}

/** Docker's field order, its always-present fields, and omitempty for the others. */
export function dockerConfig(c: ContainerConfig | null | undefined): DockerConfig {
  const cfg = c ?? {};
  const out: DockerConfig = {
    Hostname: cfg.Hostname ?? '',
    Domainname: cfg.Domainname ?? '',
    User: cfg.User ?? '',
    AttachStdin: cfg.AttachStdin ?? false,
    AttachStdout: cfg.AttachStdout ?? false,
    AttachStderr: cfg.AttachStderr ?? false,
    ExposedPorts: nonEmpty(cfg.ExposedPorts),
    Tty: cfg.Tty ?? false,
    OpenStdin: cfg.OpenStdin ?? false,
    StdinOnce: cfg.StdinOnce ?? false,
    Env: cfg.Env ?? null,
    Cmd: cfg.Cmd ?? null,
    Healthcheck: cfg.Healthcheck,
    ArgsEscaped: cfg.ArgsEscaped || undefined,
    Image: cfg.Image ?? '',
    Volumes: nonEmpty(cfg.Volumes) ?? null,
    WorkingDir: cfg.WorkingDir ?? '',
    Entrypoint: cfg.Entrypoint ?? null,
    OnBuild: cfg.OnBuild ?? null,
    Labels: nonEmpty(cfg.Labels) ?? null,
    StopSignal: cfg.StopSignal || undefined,
    StopTimeout: cfg.StopTimeout,
    Shell: cfg.Shell && cfg.Shell.length > 0 ? cfg.Shell : undefined,
  };
  for (const key of Object.keys(out) as (keyof DockerConfig)[]) if (out[key] === undefined) delete out[key];
  return out;
}

/**
 * RFC 3339 with nanoseconds, as Go's RFC3339Nano prints a parsed time: the config's own text
 * when it is valid (so nanoseconds survive), trailing fractional zeros dropped.
 */
export function rfc3339Nano(text: string | undefined, fallbackMs: number): string {
  const m = text && /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/i.exec(text);
  if (m && !Number.isNaN(Date.parse(text))) {
    const frac = (m[2] ?? '').slice(0, 9).replace(/0+$/, '');
    return `${m[1]}${frac ? `.${frac}` : ''}${m[3].toUpperCase() === 'Z' ? 'Z' : m[3]}`;
  }
  if (!fallbackMs) return ZERO_TIME;
  return msToRfc3339Nano(fallbackMs);
}

export function msToRfc3339Nano(ms: number): string {
  return new Date(ms).toISOString().replace(/\.?0*Z$/, 'Z');
}

function graphDriverData(storage: StorageView): Record<string, string> | null {
  const [top, ...lower] = storage.layerDirs;
  if (top === undefined || storage.driver === 'vfs') return top === undefined ? null : { Dir: `${top}/diff` };
  const data: Record<string, string> = {};
  if (lower.length > 0) data.LowerDir = lower.map((d) => `${d}/diff`).join(':');
  data.MergedDir = `${top}/merged`;
  data.UpperDir = `${top}/diff`;
  data.WorkDir = `${top}/work`;
  return data;
}

function manifestAnnotations(record: ImageRecord): Record<string, string> {
  if (!record.manifest) return {};
  try {
    return (JSON.parse(record.manifest.toString()) as ImageManifest).annotations ?? {};
  } catch {
    return {};
  }
}

/**
 * The repo digests Podman shows: the stored ones (what the image was pulled as), then each
 * name's repository at the manifest digest, since any of them pulls the same manifest.
 */
export function repoDigests(record: ImageRecord): string[] {
  const out = [...record.digests];
  if (record.manifestDigest) {
    for (const name of record.names) {
      try {
        out.push(`${repositoryName(parseReference(name))}@${record.manifestDigest}`);
      } catch {
        // a stored name always parses; never fail inspect over one that does not
      }
    }
  }
  return [...new Set(out)];
}

export function inspectImage(record: ImageRecord, storage: StorageView): ImageInspect {
  const config: ImageConfig = parseImageConfig(record.config);
  const c = config.config ?? undefined;
  const namesHistory = Array.isArray(record.extra.namesHistory) ? (record.extra.namesHistory as string[]) : [...record.names].reverse();
  const lastTag = typeof record.extra.lastTagTime === 'number' ? msToRfc3339Nano(record.extra.lastTagTime) : ZERO_TIME;
  const out: ImageInspect = {
    Id: record.id,
    Digest: record.manifestDigest ?? '',
    RepoTags: record.names,
    RepoDigests: repoDigests(record),
    Parent: record.parent ?? config.parent ?? '',
    Comment: config.comment ?? '',
    Created: rfc3339Nano(config.created, record.created),
    Container: config.container ?? '',
    ContainerConfig: dockerConfig(config.container_config),
    DockerVersion: config.docker_version ?? '',
    Author: config.author ?? '',
    Config: dockerConfig(c),
    Architecture: config.architecture ?? '',
    Variant: config.variant || undefined,
    Os: config.os ?? '',
    OsVersion: config['os.version'] || undefined,
    Size: record.size,
    VirtualSize: record.size,
    GraphDriver: { Name: storage.driver, Data: graphDriverData(storage) },
    RootFS: { Type: config.rootfs.type ?? 'layers', Layers: config.rootfs.diff_ids },
    Metadata: { LastTagTime: lastTag },
    Labels: nonEmpty(c?.Labels) ?? null,
    Annotations: manifestAnnotations(record),
    ManifestType: record.manifestMediaType ?? '',
    User: c?.User ?? '',
    History: config.history ?? [],
    NamesHistory: namesHistory,
  };
  if (out.Variant === undefined) delete out.Variant;
  if (out.OsVersion === undefined) delete out.OsVersion;
  return out;
}
