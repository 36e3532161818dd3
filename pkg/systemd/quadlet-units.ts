// Where Quadlet files live, reading them, and writing the generated units (with the
// [Install] links `systemctl enable` would make, since generated units cannot be enabled).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { HostIdentity } from '../config/host-identity';
import { errorMessage } from '../errors';
import { kindOf, QuadletContext, QuadletError, quadletService, QuadletService, QuadletSource } from './quadlet';
import { parseUnitFile, UnitFileError } from './unit-file';

/**
 * Podman's search paths, first match of a file name wins. QUADLET_UNIT_DIRS (colon-separated)
 * replaces them, as with Podman's generator.
 */
export function quadletDirs(host: HostIdentity, user: boolean, env: NodeJS.ProcessEnv = process.env): string[] {
  if (env.QUADLET_UNIT_DIRS) return env.QUADLET_UNIT_DIRS.split(':').filter(Boolean);
  if (!user) return ['/run/containers/systemd', '/etc/containers/systemd', '/usr/share/containers/systemd'];
  const configHome = env.XDG_CONFIG_HOME || path.join(env.HOME || '/', '.config');
  return [
    path.join(host.runtimeDir, 'containers', 'systemd'),
    path.join(configHome, 'containers', 'systemd'),
    `/etc/containers/systemd/users/${host.uid}`,
    '/etc/containers/systemd/users',
  ];
}

function filesUnder(dir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries
    .sort((a, b) => a.name.localeCompare(b.name))
    .flatMap((e) => {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) return filesUnder(full);
      return kindOf(e.name) ? [full] : [];
    });
}

/**
 * Drop-ins, as systemd merges them: <kind>.d/*.conf (for every file of the kind), then
 * <file>.d/*.conf, each in name order, beside the file. Later values of single-valued keys win.
 */
function dropInsFor(file: string): string[] {
  const dir = path.dirname(file);
  const confs = (d: string) => {
    try {
      return fs.readdirSync(d).filter((n) => n.endsWith('.conf')).sort().map((n) => path.join(d, n));
    } catch {
      return [];
    }
  };
  return [...confs(path.join(dir, `${kindOf(file)}.d`)), ...confs(`${file}.d`)];
}

export interface GenerateResult {
  services: QuadletService[];
  /** one FILE:LINE: message per problem; the files they are in produced no unit */
  errors: string[];
}

/** Reads every Quadlet file in dirs and translates each (dependencies resolved across files). */
export function generateUnits(dirs: string[], ctx: Omit<QuadletContext, 'sources'>): GenerateResult {
  const sources = new Map<string, QuadletSource>();
  const errors: string[] = [];
  for (const dir of dirs) {
    for (const file of filesUnder(dir)) {
      const base = path.basename(file);
      if (sources.has(base)) continue;
      try {
        const unit = parseUnitFile(fs.readFileSync(file, 'utf8'), file);
        for (const dropIn of dropInsFor(file)) unit.sections.push(...parseUnitFile(fs.readFileSync(dropIn, 'utf8'), dropIn).sections);
        sources.set(base, { file, kind: kindOf(file) as QuadletSource['kind'], unit });
      } catch (err) {
        errors.push(err instanceof UnitFileError ? err.message : `${file}: ${errorMessage(err)}`);
      }
    }
  }
  const services: QuadletService[] = [];
  for (const src of sources.values()) {
    try {
      services.push(quadletService(src, { ...ctx, sources }));
    } catch (err) {
      if (!(err instanceof QuadletError)) throw err;
      errors.push(...err.problems.map((p) => p.message));
    }
  }
  return { services, errors };
}

/** Writes the units into outDir and links each into its WantedBy/RequiredBy targets. */
export function writeUnits(outDir: string, services: QuadletService[]): void {
  fs.mkdirSync(outDir, { recursive: true });
  for (const s of services) {
    fs.writeFileSync(path.join(outDir, s.name), s.text);
    const links = [...s.wantedBy.map((t) => `${t}.wants`), ...s.requiredBy.map((t) => `${t}.requires`)];
    for (const dir of links) {
      const linkDir = path.join(outDir, dir);
      fs.mkdirSync(linkDir, { recursive: true });
      const link = path.join(linkDir, s.name);
      fs.rmSync(link, { force: true });
      fs.symlinkSync(path.join('..', s.name), link);
    }
  }
}
