// Running a generated .service unit the way systemd would, without systemd (these machines do
// not boot it): `systemd-analyze --user verify` checks the file, then the Exec lines run as the
// test user in systemd's order with the unit's Environment= and its specifiers expanded.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { asRoot, asUser, RunResult, testEnv, tspod, waitFor } from './harness';
import { parseUnitFile, splitWords } from '../../pkg/systemd/unit-file';

export interface LoadedUnit {
  /** e.g. container-web.service */
  name: string;
  file: string;
  /** the [Service] section's values by key, in file order */
  service: Map<string, string[]>;
  unit: Map<string, string[]>;
}

/** Writes text as the test user's unit file NAME in DIR (created) and verifies it. */
export function installUnit(dir: string, name: string, text: string): LoadedUnit {
  asRoot(['install', '-d', '-o', testEnv.user, '-g', String(testEnv.gid), dir]);
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  fs.chownSync(file, testEnv.uid, testEnv.gid);
  verifyUnit(file);
  return loadUnit(file);
}

/** systemd-analyze --user verify: exit 0 and no complaint about this unit. */
export function verifyUnit(file: string): void {
  const r = asUser(['systemd-analyze', '--user', 'verify', file], { cwd: path.dirname(file) });
  assert.equal(r.code, 0, `systemd-analyze verify ${file}: ${r.stderr}${r.stdout}`);
  assert.doesNotMatch(r.stderr, new RegExp(`${path.basename(file).replace(/\./g, '\\.')}:`), `systemd-analyze verify ${file}: ${r.stderr}`);
}

export function loadUnit(file: string): LoadedUnit {
  const parsed = parseUnitFile(fs.readFileSync(file, 'utf8'), file);
  const section = (name: string) => {
    const m = new Map<string, string[]>();
    for (const e of parsed.sections.find((s) => s.name === name)?.entries ?? []) m.set(e.key, [...(m.get(e.key) ?? []), e.value]);
    return m;
  };
  return { name: path.basename(file), file, service: section('Service'), unit: section('Unit') };
}

/** %t, %n, %N, %h and %% as a user manager expands them. */
export function expandSpecifiers(value: string, unitName: string): string {
  const map: Record<string, string> = { t: testEnv.runtimeDir, n: unitName, N: unitName.replace(/\.[^.]+$/, ''), h: testEnv.home, '%': '%' };
  return value.replace(/%(.)/g, (whole, ch: string) => {
    const v = map[ch];
    if (v === undefined) throw new Error(`specifier ${whole} not handled by the test runner`);
    return v;
  });
}

function unitEnv(unit: LoadedUnit): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of unit.service.get('Environment') ?? []) {
    for (const assignment of splitWords(line)) {
      const eq = assignment.indexOf('=');
      env[assignment.slice(0, eq)] = expandSpecifiers(assignment.slice(eq + 1), unit.name);
    }
  }
  return env;
}

/** Runs every KEY= command line of the unit (ExecStartPre, ExecStart, ...) in order. */
export function runExec(unit: LoadedUnit, key: string): RunResult[] {
  return (unit.service.get(key) ?? []).map((line) => {
    const ignoreFailure = line.startsWith('-');
    // systemd expands specifiers first, then splits words and turns $$ into $.
    const argv = splitWords(expandSpecifiers(line.replace(/^[-@+!:]+/, ''), unit.name)).map((w) => w.replace(/\$\$/g, '$'));
    assert.ok(path.isAbsolute(argv[0]) && fs.existsSync(argv[0]), `${key}: ${argv[0]} is not an existing absolute path`);
    const r = asUser(argv, { env: unitEnv(unit), timeoutMs: 120_000 });
    if (!ignoreFailure) assert.equal(r.code, 0, `${key}=${line}\n${r.stderr}${r.stdout}`);
    return r;
  });
}

/** What systemd reads from PIDFile= after a forking ExecStart: the main pid, which must live. */
export function mainPid(unit: LoadedUnit): number {
  const [pidFile] = unit.service.get('PIDFile') ?? [];
  assert.ok(pidFile, `${unit.name} has no PIDFile=`);
  const pid = Number(fs.readFileSync(expandSpecifiers(pidFile, unit.name), 'utf8').trim());
  assert.ok(Number.isInteger(pid) && pid > 0, `PIDFile ${pidFile} holds no pid`);
  assert.ok(fs.existsSync(`/proc/${pid}`), `the pid ${pid} in ${pidFile} is not running`);
  return pid;
}

/** systemd's order: ExecStartPre, ExecStart (forking: then PIDFile), and on stop ExecStop, ExecStopPost. */
export function startUnit(unit: LoadedUnit): number | undefined {
  runExec(unit, 'ExecStartPre');
  runExec(unit, 'ExecStart');
  return unit.service.get('Type')?.[0] === 'forking' ? mainPid(unit) : undefined;
}

export function stopUnit(unit: LoadedUnit): void {
  runExec(unit, 'ExecStop');
  runExec(unit, 'ExecStopPost');
}

/** A host port for this test user's published ports (slots run side by side on one machine). */
export function hostPort(n: number): number {
  return 20_000 + (testEnv.uid % 1000) * 10 + n;
}

/** The body served on 127.0.0.1:port/path, once the published port answers. */
export async function fetchPublished(port: number, file: string): Promise<string> {
  let body = '';
  await waitFor(
    async () => {
      try {
        const res = await fetch(`http://127.0.0.1:${port}/${file}`);
        body = await res.text();
        return res.ok;
      } catch {
        return false;
      }
    },
    20_000,
    `http://127.0.0.1:${port}/${file}`,
  );
  return body;
}

/** Waits until the container's health check reports `status` (healthy, unhealthy). */
export async function waitForHealth(name: string, status: string): Promise<void> {
  await waitFor(() => tspod(['inspect', '--format', '{{.State.Health.Status}}', name]).stdout.trim() === status, 30_000, `${name} to be ${status}`);
}
