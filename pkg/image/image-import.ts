// `tspod import`: a plain root filesystem tar (from a file, a URL or stdin, optionally gzip- or
// zstd-compressed) becomes a one-layer image. The config is the one Podman writes: created
// (the file's mtime, or now for a URL or stdin), platform, the --change'd container config,
// rootfs and one history entry (`ADD file:<diff> in /`, the --message as its comment), so the
// same tar imported by Podman and by tspod gives the same image ID. The tar streams straight
// into the layer store, which computes its diff ID on the way.
import * as fs from 'node:fs';
import { Readable } from 'node:stream';
import { Engine } from '../engine/engine';
import { InvalidArgumentError, TspodError } from '../errors';
import { applyChanges } from './config-changes';
import { sha256Digest } from './digest';
import { ImageRecord } from './image-store';
import { ContainerConfig, ImageConfig } from './manifest';
import { hostPlatform, normalizePlatform, parsePlatform } from './platform';
import { formatReference } from './reference';
import { httpModules } from './registry-http';
import { TransferListener, silentListener } from './transfer-events';
import { localImageName } from './archive-oci';
import { decompressArchive, deferErrors } from './archive-load';

export interface ImportOptions {
  /** a file, an http(s) URL, or `-` for stdin */
  source: string;
  stdin?: Readable;
  /** the name to give the image; none leaves it untagged, as Podman does */
  reference?: string;
  changes?: string[];
  /** the history entry's comment */
  message?: string;
  /** os/arch[/variant] */
  platform?: string;
  os?: string;
  arch?: string;
  variant?: string;
  listener?: TransferListener;
}

const DEFAULT_COMMENT = 'imported from tarball';
const MAX_REDIRECTS = 5;

/** Go's time.RFC3339Nano: fractional seconds without trailing zeros. */
export function rfc3339Nano(epochNs: bigint): string {
  const secs = epochNs / 1_000_000_000n;
  const nanos = epochNs % 1_000_000_000n;
  const base = new Date(Number(secs) * 1000).toISOString().slice(0, 19);
  const frac = nanos === 0n ? '' : `.${nanos.toString().padStart(9, '0').replace(/0+$/, '')}`;
  return `${base}${frac}Z`;
}

function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

/** GET with redirects; the body stream of a 200 answer. */
function fetchUrl(url: string, redirects = 0): Promise<Readable> {
  return new Promise((resolve, reject) => {
    const { http, https } = httpModules();
    const client = url.toLowerCase().startsWith('https:') ? https : http;
    const req = client.get(url, (res) => {
      const status = res.statusCode ?? 0;
      if (status >= 300 && status < 400 && res.headers.location) {
        res.resume();
        if (redirects >= MAX_REDIRECTS) return reject(new TspodError(`${url}: too many redirects`));
        return resolve(fetchUrl(new URL(res.headers.location, url).toString(), redirects + 1));
      }
      if (status !== 200) {
        res.resume();
        return reject(new TspodError(`fetching ${url}: ${status} ${res.statusMessage ?? ''}`.trim()));
      }
      resolve(res);
    });
    req.on('error', (err) => reject(new TspodError(`fetching ${url}: ${err.message}`)));
  });
}

/** The source as a stream, and the time Podman would call the image's creation. */
async function openSource(opts: ImportOptions): Promise<{ stream: Readable; created: string }> {
  const now = (): string => rfc3339Nano(BigInt(Date.now()) * 1_000_000n);
  if (opts.source === '-') return { stream: opts.stdin ?? process.stdin, created: now() };
  if (isUrl(opts.source)) return { stream: await fetchUrl(opts.source), created: now() };
  let st: fs.BigIntStats;
  try {
    st = await fs.promises.stat(opts.source, { bigint: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new InvalidArgumentError(`cannot read ${opts.source}: ${code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`);
  }
  if (st.isDirectory()) throw new InvalidArgumentError(`${opts.source} is a directory: import takes a tar archive`);
  return { stream: fs.createReadStream(opts.source, { highWaterMark: 1 << 20 }), created: rfc3339Nano(st.mtimeNs) };
}

function platformOf(opts: ImportOptions): { os: string; architecture: string; variant?: string } {
  if (opts.platform) return parsePlatform(opts.platform);
  const host = hostPlatform();
  if (!opts.os && !opts.arch && !opts.variant) return host;
  return normalizePlatform({ os: opts.os ?? host.os, architecture: opts.arch ?? host.architecture, variant: opts.variant });
}

/** The container config's keys in the order of the OCI spec's struct, as Podman writes them. */
const CONFIG_ORDER: (keyof ContainerConfig)[] = ['User', 'ExposedPorts', 'Env', 'Entrypoint', 'Cmd', 'Volumes', 'WorkingDir', 'Labels', 'StopSignal', 'ArgsEscaped', 'OnBuild', 'Shell'];

function ordered(config: ContainerConfig): ContainerConfig {
  const out: Record<string, unknown> = {};
  for (const k of CONFIG_ORDER) if (config[k] !== undefined) out[k] = config[k];
  for (const [k, v] of Object.entries(config)) if (!(k in out) && v !== undefined) out[k] = v;
  return out as ContainerConfig;
}

/** The image config of an imported layer (pure, for tests). */
export function importConfig(
  diffId: string,
  created: string,
  platform: { os: string; architecture: string; variant?: string },
  changes: string[],
  message?: string,
): Buffer {
  const config: ImageConfig = {
    created,
    architecture: platform.architecture,
    ...(platform.variant ? { variant: platform.variant } : {}),
    os: platform.os,
    config: ordered(applyChanges({}, changes)),
    rootfs: { type: 'layers', diff_ids: [diffId] },
    history: [{ created, created_by: `/bin/sh -c #(nop) ADD file:${diffId.slice(7)} in /`, comment: message || DEFAULT_COMMENT }],
  };
  return Buffer.from(JSON.stringify(config));
}

export async function importImage(engine: Engine, opts: ImportOptions): Promise<ImageRecord> {
  const listener = opts.listener ?? silentListener;
  const changes = opts.changes ?? [];
  // bad input fails before the tar is read
  applyChanges({}, changes);
  const platform = platformOf(opts);
  const names = opts.reference ? [formatReference(localImageName(opts.reference))] : [];
  const { stream, created } = await openSource(opts);
  listener({ kind: 'message', text: 'Getting image source signatures' });
  const { tar } = await decompressArchive(stream);
  const layers = await engine.layers();
  const layer = await layers.putLayer({ stream: deferErrors(tar) });
  listener({ kind: 'message', text: `Copying blob ${layer.diffId.slice(7, 19)} done` });
  const configBytes = importConfig(layer.diffId, created, platform, changes, opts.message);
  const id = sha256Digest(configBytes);
  listener({ kind: 'message', text: `Copying config ${id.slice(7, 19)} done` });
  listener({ kind: 'message', text: 'Writing manifest to image destination' });
  return engine.images.put({ id, topLayer: layer.id, config: configBytes, size: layer.size, created: Date.parse(created) || Date.now() }, names);
}
