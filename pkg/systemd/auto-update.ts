// `auto-update`: running containers labelled io.containers.autoupdate=registry|local are
// checked against the registry (a newer digest for the reference they were created from) or
// the local store (the name now points at another image). A unit with an update gets the new
// image pulled and is restarted through systemctl; the unit (a `generate systemd --new` or
// Quadlet unit) then recreates the container from the new image. A restart that fails puts
// the old image back under the name and restarts again (--rollback).
import { Engine } from '../engine/engine';
import { errorMessage, TspodError } from '../errors';
import { Container } from '../container/container-config';
import { refreshAll } from '../container/container-exit';
import { findImage } from '../image/image-lookup';
import { pullImage } from '../image/image-pull';
import { isQualified, parseReference, withDefaultTag } from '../image/reference';
import { remoteDigest } from '../image/remote-digest';
import type { AuthStoreOptions } from '../image/auth-store';

export const AUTO_UPDATE_LABEL = 'io.containers.autoupdate';
export const SYSTEMD_UNIT_LABEL = 'PODMAN_SYSTEMD_UNIT';

export interface AutoUpdateOptions {
  dryRun: boolean;
  rollback: boolean;
  authStore?: AuthStoreOptions;
  /** runs `systemctl [--user] ARGS`; resolves to an error message, or undefined on success */
  systemctl: (args: string[]) => Promise<string | undefined>;
}

/** One row of the report (Podman's fields). */
export interface AutoUpdateReport {
  Unit: string;
  Container: string;
  ContainerName: string;
  ContainerID: string;
  Image: string;
  Policy: string;
  /** false, pending (--dry-run), true, failed, rolled back */
  Updated: string;
}

export interface AutoUpdateResult {
  reports: AutoUpdateReport[];
  /** one line each: containers that cannot be updated, failed checks and restarts */
  errors: string[];
}

interface Candidate {
  container: Container;
  policy: string;
  unit: string;
  needsUpdate: boolean;
}

async function needsUpdate(engine: Engine, c: Container, policy: string, opts: AutoUpdateOptions): Promise<boolean> {
  const name = c.config.imageName;
  if (policy === 'local') {
    const current = findImage(engine.images, name, engine.config.registries);
    return current !== undefined && current.id !== c.config.imageId;
  }
  const ref = withDefaultTag(parseReference(name));
  if (!isQualified(ref) || ref.digest !== undefined) {
    throw new TspodError(`the image ${name} of container ${c.name} is not a fully qualified name with a tag, which the registry policy needs`);
  }
  const digest = await remoteDigest(engine, ref, { authStore: opts.authStore });
  const image = engine.images.get(c.config.imageId);
  return !(image?.digests ?? []).some((d) => d.endsWith(`@${digest}`));
}

function report(c: Candidate, updated: string): AutoUpdateReport {
  return {
    Unit: c.unit,
    Container: `${c.container.id.slice(0, 12)} (${c.container.name})`,
    ContainerName: c.container.name,
    ContainerID: c.container.id,
    Image: c.container.config.imageName,
    Policy: c.policy,
    Updated: updated,
  };
}

/** Pulls what the unit's registry containers need and restarts the unit; rolls back on failure. */
async function updateUnit(engine: Engine, unit: string, members: Candidate[], opts: AutoUpdateOptions, errors: string[]): Promise<string> {
  const previous = new Map<string, string>();
  for (const m of members.filter((x) => x.needsUpdate && x.policy === 'registry')) {
    const name = m.container.config.imageName;
    if (previous.has(name)) continue;
    previous.set(name, m.container.config.imageId);
    await pullImage(engine, name, { authStore: opts.authStore });
  }
  const failure = await opts.systemctl(['restart', unit]);
  if (failure === undefined) return 'true';
  errors.push(`restarting unit ${unit}: ${failure}`);
  if (!opts.rollback || previous.size === 0) return 'failed';
  for (const [name, id] of previous) engine.images.tag(id, name);
  const again = await opts.systemctl(['restart', unit]);
  if (again !== undefined) {
    errors.push(`restarting unit ${unit} with the previous image: ${again}`);
    return 'failed';
  }
  return 'rolled back';
}

export async function autoUpdate(engine: Engine, opts: AutoUpdateOptions): Promise<AutoUpdateResult> {
  const errors: string[] = [];
  const byUnit = new Map<string, Candidate[]>();
  for (const c of await refreshAll(engine)) {
    const policy = c.config.labels?.[AUTO_UPDATE_LABEL];
    if (policy === undefined || c.status !== 'running') continue;
    if (policy !== 'registry' && policy !== 'local') {
      errors.push(`container ${c.name}: invalid auto-update policy "${policy}": use registry or local`);
      continue;
    }
    const unit = c.config.labels[SYSTEMD_UNIT_LABEL];
    if (!unit) {
      errors.push(`container ${c.name} is not run by a systemd unit (no ${SYSTEMD_UNIT_LABEL} label): run it from a unit made by \`generate systemd --new\` or a Quadlet file`);
      continue;
    }
    try {
      const candidate = { container: c, policy, unit, needsUpdate: await needsUpdate(engine, c, policy, opts) };
      byUnit.set(unit, [...(byUnit.get(unit) ?? []), candidate]);
    } catch (err) {
      errors.push(`checking container ${c.name} for updates: ${errorMessage(err)}`);
    }
  }
  const reports: AutoUpdateReport[] = [];
  for (const [unit, members] of byUnit) {
    let updated = 'false';
    if (members.some((m) => m.needsUpdate)) {
      try {
        updated = opts.dryRun ? 'pending' : await updateUnit(engine, unit, members, opts, errors);
      } catch (err) {
        errors.push(`updating unit ${unit}: ${errorMessage(err)}`);
        updated = 'failed';
      }
    }
    reports.push(...members.map((m) => report(m, updated)));
  }
  return { reports, errors };
}
