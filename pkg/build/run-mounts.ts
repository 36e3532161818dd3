// RUN --mount, as runtime mounts for the step's container:
//   cache   a directory per user kept across builds, <graphRoot>/build-cache-mounts/<hash of id>
//           (BuildKit keys caches by id, default the target), created with uid/gid/mode
//   bind    a path of the context (default) or of a stage / image root; read-only unless rw,
//           and then on a throw-away copy, so a RUN never writes into the user's context
//   tmpfs   a fresh tmpfs (size=)
//   secret  the --secret file bind-mounted read-only (default /run/secrets/ID), never in a layer;
//           env= also puts its content in the step's environment
// What a mount contributes to the step's cache key comes back too: bind sources are hashed.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError } from '../errors';
import { MountInput, sourceMountOptions } from '../runtime/oci-spec';
import { resolveIn, SourceRoot } from './copy-sources';
import { hashSources } from './source-hash';
import type { RunMount } from './dockerfile-mounts';

export interface MountResolver {
  /** the tree a `from=` names (a stage or an image), mounted read-only while the step runs */
  tree(from: string | undefined): Promise<SourceRoot>;
  /** a scratch directory for rw bind copies, removed after the step */
  scratch(): string;
  secrets: Map<string, string>;
  graphRoot: string;
}

export interface ResolvedMounts {
  mounts: MountInput[];
  env: string[];
  /** what the mounts add to the step's cache key */
  key: unknown[];
}

function cacheDir(graphRoot: string, m: RunMount): string {
  const id = m.id ?? m.target;
  const dir = path.join(graphRoot, 'build-cache-mounts', crypto.createHash('sha256').update(id).digest('hex').slice(0, 32));
  if (!fs.existsSync(dir)) {
    fs.mkdirSync(dir, { recursive: true, mode: m.mode ?? 0o755 });
    fs.chmodSync(dir, m.mode ?? 0o755);
    fs.chownSync(dir, m.uid ?? 0, m.gid ?? 0);
  }
  return dir;
}

function bind(source: string, destination: string, readonly: boolean): MountInput {
  return { type: 'bind', source, destination, readonly, options: ['rbind'], sourceOptions: sourceMountOptions(source) };
}

export async function resolveRunMounts(list: RunMount[], r: MountResolver): Promise<ResolvedMounts> {
  const out: ResolvedMounts = { mounts: [], env: [], key: [] };
  for (const m of list) {
    switch (m.type) {
      case 'cache':
        out.mounts.push(bind(cacheDir(r.graphRoot, m), m.target, m.readonly));
        out.key.push(['cache', m.id, m.target]);
        break;
      case 'tmpfs':
        out.mounts.push({ type: 'tmpfs', destination: m.target, options: m.size ? [`size=${m.size}`] : [] });
        out.key.push(['tmpfs', m.target]);
        break;
      case 'bind': {
        const root = await r.tree(m.from);
        const files = resolveIn(root, m.source ?? '.');
        const named = files[0];
        let source = named.abs;
        if (!m.readonly) {
          source = path.join(r.scratch(), `bind-${out.mounts.length}`);
          fs.cpSync(named.abs, source, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true });
        }
        out.mounts.push(bind(source, m.target, m.readonly));
        out.key.push(['bind', m.from ?? '', m.source ?? '.', m.target, m.readonly, root.kind === 'context' ? hashSources(files) : '']);
        break;
      }
      case 'secret': {
        const file = r.secrets.get(m.id ?? '');
        if (file === undefined) {
          if (m.required) throw new InvalidArgumentError(`secret ${JSON.stringify(m.id)} is required: pass it with --secret id=${m.id},src=FILE`);
          break;
        }
        if (m.target) out.mounts.push(bind(file, m.target, true));
        if (m.env) out.env.push(`${m.env}=${fs.readFileSync(file, 'utf8')}`);
        out.key.push(['secret', m.id, m.target, m.env ?? '']);
        break;
      }
      default:
        throw new InvalidArgumentError(`RUN --mount=type=${m.type} is not supported by tspod`);
    }
  }
  return out;
}
