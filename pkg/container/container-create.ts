// `create`: resolve the image (pulling it per --pull), work out the process from the image's
// Entrypoint/Cmd and the flags, reserve the name, and record the container. Nothing is
// mounted or started here: that is `start`.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Engine } from '../engine/engine';
import { InvalidArgumentError, NotFoundError } from '../errors';
import { findImage } from '../image/image-lookup';
import { imageForPlatform, isManifestList } from '../image/manifest-list';
import { formatReference } from '../image/reference';
import { localCandidates } from '../image/short-names';
import { ImageRecord } from '../image/image-store';
import { ImageConfig, parseImageConfig } from '../image/manifest';
import { PullOptions, pullImage } from '../image/image-pull';
import { ContainerConfig } from './container-config';
import { HealthFlags, resolveHealthConfig } from './healthcheck-config';
import { isValidContainerName, randomContainerName } from './container-names';
import { containerPaths } from './container-paths';
import { ContainerStore } from './container-store';
import { VolumeStore } from '../volume/volume-store';
import { hostFacts } from '../runtime/host-facts';
import { chooseRuntime } from '../runtime/runtime-probe';
import { subordinateCount } from '../runtime/container-user';
import { writeTransaction } from '../state/database';
import { allocateRange, autoSize, parseUsernsFlag } from './userns-mode';

export type PullPolicy = 'always' | 'missing' | 'never' | 'newer';

export interface CreateRequest {
  image: string;
  name?: string;
  /** --entrypoint: undefined keeps the image's; '' clears it */
  entrypoint?: string;
  /** the arguments after the image name */
  args: string[];
  pull: PullPolicy;
  pullOptions?: PullOptions;
  /** everything else, as the flags set it */
  config: Omit<ContainerConfig, 'imageId' | 'imageName' | 'entrypoint' | 'cmd' | 'healthcheck'>;
  /** the --health-* flags, laid over the image's HEALTHCHECK */
  health?: HealthFlags;
}

export interface CreatedContainer {
  id: string;
  name: string;
  image: ImageRecord;
  imageConfig: ImageConfig;
}

export function parsePullPolicy(value: string | undefined): PullPolicy {
  const v = value ?? 'missing';
  if (v === 'true') return 'always';
  if (v === 'false') return 'never';
  if (v === 'always' || v === 'missing' || v === 'never' || v === 'newer') return v;
  throw new InvalidArgumentError(`invalid pull policy "${value}": use always, missing, never or newer`);
}

async function resolveImage(engine: Engine, req: CreateRequest): Promise<ImageRecord> {
  const local = req.pull === 'always' ? undefined : findImage(engine.images, req.image, engine.config.registries);
  if (local && isManifestList(local)) return imageForPlatform(engine, local, req.pullOptions);
  if (local && req.pull !== 'newer') return local;
  if (req.pull === 'never') throw new NotFoundError(`${req.image}: image not known`);
  try {
    return (await pullImage(engine, req.image, req.pullOptions)).image;
  } catch (err) {
    // --pull newer keeps using the local image when the registry cannot be reached.
    if (local) return local;
    throw err;
  }
}

/** Docker's rule: --entrypoint replaces the image's Entrypoint and drops its Cmd. */
export function processArgs(image: ImageConfig, entrypoint: string | undefined, args: string[]): { entrypoint: string[]; cmd: string[] } {
  const imageEntrypoint = image.config?.Entrypoint ?? [];
  const imageCmd = image.config?.Cmd ?? [];
  if (entrypoint !== undefined) {
    return { entrypoint: entrypoint === '' ? [] : [entrypoint], cmd: args };
  }
  return { entrypoint: imageEntrypoint, cmd: args.length ? args : imageCmd };
}

/** The image's name as the user meant it: the candidate name it matched, else the first one. */
function displayName(engine: Engine, image: ImageRecord, asked: string): string {
  try {
    const wanted = localCandidates(asked, engine.config.registries).map(formatReference);
    return wanted.find((n) => image.names.includes(n)) ?? image.names[0] ?? asked;
  } catch {
    return image.names[0] ?? asked;
  }
}

/** --userns=auto without size=: what the image's /etc/passwd and /etc/group name (topmost layer holding each). */
async function imageIdsNeeded(engine: Engine, image: ImageRecord): Promise<number> {
  const lowers = image.topLayer ? (await engine.layers()).lowerDirs(image.topLayer) : [];
  const read = (file: string): string => {
    for (const dir of lowers) {
      try {
        return fs.readFileSync(path.join(dir, file), 'utf8');
      } catch {
        // not in this layer
      }
    }
    return '';
  };
  return autoSize(read('etc/passwd'), read('etc/group'));
}

/** A range of subordinate ids no other --userns=auto container holds. */
function reserveAutoRange(store: ContainerStore, size: number): { offset: number; size: number } {
  const host = hostFacts();
  const available = Math.min(subordinateCount(host.uidMap, host.hostUid), subordinateCount(host.gidMap, host.hostGid));
  const taken = store.list<ContainerConfig, object>().flatMap((c) => (c.config.usernsRange ? [c.config.usernsRange] : []));
  return { offset: allocateRange(taken, size, available), size };
}

export interface CreateOptions {
  /** A check the caller has started (run's free host ports): it runs while the image is looked
   * up, and its failure fails the create before anything is recorded. */
  precondition?: Promise<void>;
}

export async function createContainer(engine: Engine, req: CreateRequest, opts: CreateOptions = {}): Promise<CreatedContainer> {
  if (req.name !== undefined && !isValidContainerName(req.name)) {
    throw new InvalidArgumentError(`invalid container name "${req.name}": names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*`);
  }
  if (req.config.autoRemove && req.config.restartPolicy.name !== 'no') {
    throw new InvalidArgumentError(`--rm and --restart ${req.config.restartPolicy.name} cannot be used together: a container removed when it exits cannot be restarted`);
  }
  const image = await resolveImage(engine, req);
  await opts.precondition;
  const imageConfig = parseImageConfig(image.config);
  const { entrypoint, cmd } = processArgs(imageConfig, req.entrypoint, req.args);
  if (entrypoint.length + cmd.length === 0) {
    throw new InvalidArgumentError(`no command or entrypoint provided, and no CMD or ENTRYPOINT from image ${req.image}`);
  }
  const store = new ContainerStore(engine.db);
  // User-defined networks must exist; the leases (addresses) are taken once the row exists.
  const userNetworks = Object.keys(req.config.networkOptions ?? {});
  const { checkNetworks, reserveNetworks } = await import('../network/user-networks');
  checkNetworks(engine, userNetworks);
  const id = crypto.randomBytes(32).toString('hex');
  const name = req.name ?? randomContainerName((n) => store.nameTaken(n));
  // Volumes exist from create on, as Docker's do (`volume rm` then sees them in use); anonymous
  // ones (`-v /data`) get their names now, so every start mounts the same one.
  const volumes = new VolumeStore(engine.db, engine.config.graphRoot);
  const mounts = req.config.mounts.map((m) => (m.type === 'volume' ? { ...m, source: volumes.ensure(m.source).name } : m));
  // Docker gives each VOLUME of the image an anonymous volume, unless something is mounted there.
  const clean = (p: string): string => p.replace(/\/+$/, '') || '/';
  const taken = new Set(mounts.map((m) => clean(m.destination)));
  for (const dest of Object.keys(imageConfig.config?.Volumes ?? {})) {
    if (!dest.startsWith('/') || taken.has(clean(dest))) continue;
    taken.add(clean(dest));
    mounts.push({ type: 'volume', source: volumes.ensure(undefined).name, destination: clean(dest), readonly: false, options: [] });
  }
  // -P publishes what the image exposes too: the list is fixed at create, as Docker does.
  const exposedPorts = [...new Set([...Object.keys(imageConfig.config?.ExposedPorts ?? {}), ...(req.config.exposedPorts ?? [])])];
  const healthcheck = resolveHealthConfig(imageConfig.config?.Healthcheck, req.health ?? {});
  // Chosen now: a runtime that is not installed fails `create`, not a later `start`.
  const chosen = chooseRuntime(engine.config.runtime, engine.config.containers.runtimes);
  const runtime = engine.config.runtime ?? chosen.name;
  const config: ContainerConfig = { ...req.config, mounts, exposedPorts, imageId: image.id, imageName: displayName(engine, image, req.image), entrypoint, cmd, runtime, ...(healthcheck ? { healthcheck } : {}) };
  const userns = parseUsernsFlag(config.userns);
  if (userns.mode !== 'host' && !hostFacts().rootless) throw new InvalidArgumentError(`--userns=${userns.mode} is only supported in rootless mode`);
  const autoNeeds = userns.mode === 'auto' ? (userns.size ?? (await imageIdsNeeded(engine, image))) : 0;
  // The range is chosen and recorded in one transaction, so two creates cannot take the same ids.
  writeTransaction(engine.db, () => {
    if (userns.mode === 'auto') config.usernsRange = reserveAutoRange(store, autoNeeds);
    store.insert<ContainerConfig, object>({
      id,
      name,
      imageId: image.id,
      imageName: config.imageName,
      status: 'created',
      created: Date.now(),
      config,
      state: {},
    });
  });
  reserveNetworks(engine, id, userNetworks, config);
  const paths = containerPaths(engine.config, id);
  for (const dir of [paths.work, paths.userdata]) fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  // The upper dir's root becomes the container's "/": it must look like one.
  fs.mkdirSync(paths.upper, { mode: 0o755 });
  return { id, name, image, imageConfig };
}
