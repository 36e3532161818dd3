// Builds small OCI image layouts in a test, with exactly the layer entries the test wants
// (including hostile ones no sane tool would write), and pushes them to the test registry
// with skopeo, so tspod pulls content it did not write.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import * as tarStream from 'tar-stream';
import { asRoot, testEnv } from './harness';

export interface LayerEntry {
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link';
  content?: Buffer | string;
  linkname?: string;
  mode?: number;
  uid?: number;
  gid?: number;
}

function sha256(data: Buffer): string {
  return `sha256:${crypto.createHash('sha256').update(data).digest('hex')}`;
}

export async function layerTar(entries: LayerEntry[]): Promise<Buffer> {
  const pack = tarStream.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((resolve, reject) => {
    pack.on('end', resolve);
    pack.on('error', reject);
  });
  for (const e of entries) {
    const type = e.type ?? 'file';
    const header = { name: e.name, type, linkname: e.linkname, mode: e.mode ?? (type === 'directory' ? 0o755 : 0o644), uid: e.uid ?? 0, gid: e.gid ?? 0, mtime: new Date(0) };
    if (type === 'file') pack.entry(header, typeof e.content === 'string' ? Buffer.from(e.content) : (e.content ?? Buffer.alloc(0)));
    else pack.entry(header);
  }
  pack.finalize();
  await done;
  return Buffer.concat(chunks);
}

export interface BuiltLayout {
  dir: string;
  configDigest: string;
  layerDigests: string[];
  diffIds: string[];
}

/** Writes an OCI layout with one image (tag `latest`) made of the given layer tars. */
export function writeLayout(layers: Buffer[], config: Record<string, unknown> = {}): BuiltLayout {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tspod-oci-'));
  const blobs = path.join(dir, 'blobs', 'sha256');
  fs.mkdirSync(blobs, { recursive: true });
  const put = (data: Buffer): string => {
    const digest = sha256(data);
    fs.writeFileSync(path.join(blobs, digest.slice(7)), data);
    return digest;
  };
  const diffIds = layers.map(sha256);
  const compressed = layers.map((l) => zlib.gzipSync(l));
  const layerDigests = compressed.map(put);
  const configBytes = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: '2026-01-01T00:00:00Z',
      config: { Cmd: ['sh'], ...config },
      rootfs: { type: 'layers', diff_ids: diffIds },
      history: layers.map(() => ({ created: '2026-01-01T00:00:00Z', created_by: 'test layer' })),
    }),
  );
  const configDigest = put(configBytes);
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: configBytes.length },
      layers: compressed.map((c, i) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigests[i], size: c.length })),
    }),
  );
  const manifestDigest = put(manifest);
  fs.writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  fs.writeFileSync(
    path.join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [{ mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: manifestDigest, size: manifest.length, annotations: { 'org.opencontainers.image.ref.name': 'latest' } }],
    }),
  );
  return { dir, configDigest, layerDigests, diffIds };
}

/** Pushes a layout to the plain test registry as library/NAME:latest (so `tspod pull NAME` finds it). */
export function pushLayout(layout: BuiltLayout, name: string): void {
  const r = asRoot(['skopeo', 'copy', '--quiet', '--dest-tls-verify=false', `oci:${layout.dir}:latest`, `docker://${testEnv.registry}/library/${name}:latest`]);
  if (r.code !== 0) throw new Error(`skopeo copy failed: ${r.stderr}`);
}

/** Path of a blob in the plain registry's storage, for tests that corrupt it. */
export function registryBlobPath(digest: string): string {
  const hex = digest.slice(7);
  return path.join(testEnv.registryData, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
}
