// crun's seccomp filters compiled once by tspod (pkg/runtime/seccomp-bpf.ts) as the unprivileged
// user: the filter is in force for run, create+start, restart, exec and build's RUN; it is the
// very program crun builds from the same section (crun leaves what it loaded in its state dir,
// RUNROOT/runc/ID/seccomp.bpf; the annotation run.oci.seccomp_fail_unknown_syscall=0 makes
// tspod leave the compile to crun without changing what crun compiles); and one compile serves
// every container with the same filter.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RunResult, resetUserState, testEnv, tspod } from './harness';

const CRUN = ['--runtime', 'crun'];
const CRUN_COMPILES = ['--annotation', 'run.oci.seccomp_fail_unknown_syscall=0'];
const UNSHARE = ['sh', '-c', 'unshare -Ur id -u'];
const EDQUOT_MESSAGE = /Disk quota exceeded/;

/** A profile with every action, operator and argument form crun reads, on amd64 and arm64. */
const PROFILE = {
  defaultAction: 'SCMP_ACT_ALLOW',
  archMap: [
    { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
    { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
  ],
  syscalls: [
    { names: ['mkdir', 'mkdirat'], action: 'SCMP_ACT_ERRNO', errnoRet: 122 },
    { names: ['chmod', 'fchmodat'], action: 'SCMP_ACT_ERRNO' },
    { names: ['personality'], action: 'SCMP_ACT_ERRNO', errnoRet: 22, args: [{ index: 0, value: 8, op: 'SCMP_CMP_EQ' }] },
    { names: ['setpriority'], action: 'SCMP_ACT_ERRNO', errnoRet: 13, args: [{ index: 2, value: 10, op: 'SCMP_CMP_GT' }] },
    { names: ['getpriority'], action: 'SCMP_ACT_LOG', args: [{ index: 0, value: 1, op: 'SCMP_CMP_GE' }] },
    { names: ['ioprio_set'], action: 'SCMP_ACT_ERRNO', args: [{ index: 0, value: 2, op: 'SCMP_CMP_LT' }, { index: 1, value: 100, op: 'SCMP_CMP_LE' }] },
    { names: ['flock'], action: 'SCMP_ACT_ERRNO', errnoRet: 11, args: [{ index: 1, value: 4, valueTwo: 4, op: 'SCMP_CMP_MASKED_EQ' }] },
    { names: ['tee'], action: 'SCMP_ACT_ERRNO', args: [{ index: 3, value: 0, op: 'SCMP_CMP_NE' }] },
    // one argument tested twice: crun adds a rule per condition
    { names: ['fadvise64'], action: 'SCMP_ACT_ERRNO', args: [{ index: 3, value: 1, op: 'SCMP_CMP_EQ' }, { index: 3, value: 2, op: 'SCMP_CMP_EQ' }] },
    { names: ['kcmp'], action: 'SCMP_ACT_TRACE', errnoRet: 5 },
    { names: ['acct'], action: 'SCMP_ACT_KILL_PROCESS' },
    { names: ['syslog'], action: 'SCMP_ACT_KILL' },
    { names: ['vhangup'], action: 'SCMP_ACT_TRAP' },
    // unknown to libseccomp (skipped), and a 32-bit-only name
    { names: ['no_such_syscall_here', 'chown32'], action: 'SCMP_ACT_ERRNO' },
    // the default action: crun adds nothing for it
    { names: ['getpid'], action: 'SCMP_ACT_ALLOW' },
  ],
};

const runRoot = (): string => path.join(testEnv.runtimeDir, 'tspod');
const cacheDir = (): string => path.join(runRoot(), 'seccomp-bpf');
const cached = (): string[] => (fs.existsSync(cacheDir()) ? fs.readdirSync(cacheDir()).sort() : []);
const cachedPrograms = (): Buffer[] => cached().map((f) => Buffer.from(fs.readFileSync(path.join(cacheDir(), f), 'utf8'), 'base64'));

function ok(args: string[]): string {
  const r = tspod(args, { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `tspod ${args.join(' ')}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

function run(args: string[]): RunResult {
  return tspod(['run', '--rm', ...args], { timeoutMs: 120_000 });
}

function assertRefused(r: RunResult, message: RegExp): void {
  assert.notEqual(r.code, 0, `the filter let it through: ${r.stdout}`);
  assert.match(r.stderr + r.stdout, message);
}

/** The program crun loaded for a running container. */
function loadedProgram(name: string): Buffer {
  const id = ok(['inspect', '-f', '{{.Id}}', name]).trim();
  return fs.readFileSync(path.join(runRoot(), 'runc', id, 'seccomp.bpf'));
}

/** Starts one container that gets tspod's program and one that has crun compile its own. */
function loadedBothWays(name: string, flags: string[]): { ours: Buffer; cruns: Buffer } {
  ok([...CRUN, 'run', '-d', '--name', `${name}-ours`, ...flags, 'busybox', 'sleep', '600']);
  ok([...CRUN, 'run', '-d', '--name', `${name}-crun`, ...flags, ...CRUN_COMPILES, 'busybox', 'sleep', '600']);
  const both = { ours: loadedProgram(`${name}-ours`), cruns: loadedProgram(`${name}-crun`) };
  ok([...CRUN, 'rm', '-f', '-t', '0', `${name}-ours`, `${name}-crun`]);
  return both;
}

describe('seccomp filters compiled for crun', () => {
  let profileFile = '';

  before(() => {
    resetUserState();
    ok(['pull', '-q', 'busybox']);
    profileFile = path.join(testEnv.home, 'seccomp-bpf-test.json');
    fs.writeFileSync(profileFile, JSON.stringify(PROFILE));
    spawnSync('chown', [`${testEnv.uid}:${testEnv.gid}`, profileFile]);
  });

  after(() => {
    fs.rmSync(profileFile, { force: true });
    fs.rmSync(path.join(testEnv.home, 'seccomp-bpf-build'), { recursive: true, force: true });
  });

  test("build's RUN steps get the compiled default filter", () => {
    assert.deepEqual(cached(), [], 'the state was reset');
    const dir = path.join(testEnv.home, 'seccomp-bpf-build');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'Containerfile'), 'FROM busybox\nRUN unshare -Ur true 2>&1; echo "unshare exit $?"\n');
    spawnSync('chown', ['-R', `${testEnv.uid}:${testEnv.gid}`, dir]);
    const out = ok([...CRUN, 'build', '--no-cache', '-t', 'seccomp-bpf-built', dir]);
    assert.match(out, /Operation not permitted\s+unshare exit 1/);
    assert.equal(cached().length, 1, 'compiled once into the cache');
    ok(['rmi', 'seccomp-bpf-built']);
  });

  test('run: the default filter refuses a new user namespace, unconfined lifts it, a profile file gives its errno', () => {
    assertRefused(run([...CRUN, 'busybox', ...UNSHARE]), /Operation not permitted/);
    const open = run([...CRUN, '--security-opt', 'seccomp=unconfined', 'busybox', ...UNSHARE]);
    assert.equal(open.code, 0, open.stderr);
    assert.equal(open.stdout.trim(), '0');
    assertRefused(run([...CRUN, '--security-opt', `seccomp=${profileFile}`, 'busybox', 'mkdir', '/x']), EDQUOT_MESSAGE);
    assertRefused(run([...CRUN, '--security-opt', `seccomp=${profileFile}`, 'busybox', 'chmod', '700', '/tmp']), /Operation not permitted/);
    const allowed = run([...CRUN, '--security-opt', `seccomp=${profileFile}`, 'busybox', 'sh', '-c', 'touch /y && echo touched']);
    assert.equal(allowed.stdout.trim(), 'touched', allowed.stderr);
  });

  test("the program is crun's own, byte for byte: the default filter, with --cap-add, and a profile with every rule form", () => {
    for (const [name, flags] of [
      ['seccomp-bpf-default', []],
      ['seccomp-bpf-cap', ['--cap-add', 'SYS_ADMIN']],
      ['seccomp-bpf-profile', ['--security-opt', `seccomp=${profileFile}`]],
    ] as [string, string[]][]) {
      const { ours, cruns } = loadedBothWays(name, flags);
      assert.ok(ours.length > 0 && ours.length % 8 === 0, `${name}: ${ours.length} bytes`);
      // tspod's own compile, not crun's after a failed one (that would pass unseen)
      assert.ok(cachedPrograms().some((p) => p.equals(ours)), `${name}: crun did not load tspod's program`);
      assert.ok(ours.equals(cruns), `${name}: tspod's program (${ours.length} bytes) differs from crun's (${cruns.length} bytes)`);
    }
  });

  test('one compile per filter: later containers read the cache (create+start, restart, exec too)', () => {
    const before = cached();
    ok([...CRUN, 'create', '--name', 'seccomp-bpf-cs', '--security-opt', `seccomp=${profileFile}`, 'busybox', 'sleep', '600']);
    ok([...CRUN, 'start', 'seccomp-bpf-cs']);
    ok([...CRUN, 'restart', '-t', '0', 'seccomp-bpf-cs']);
    assertRefused(tspod([...CRUN, 'exec', 'seccomp-bpf-cs', 'mkdir', '/z']), EDQUOT_MESSAGE);
    ok([...CRUN, 'rm', '-f', '-t', '0', 'seccomp-bpf-cs']);
    assertRefused(run([...CRUN, 'busybox', ...UNSHARE]), /Operation not permitted/);
    assert.deepEqual(cached(), before, 'no new compile for filters seen before');
    // What the cache holds is what the container gets: the default filter's entry replaced by
    // the profile's program makes mkdir fail in a container started with the default filter.
    const profileProgram = loadedBothWays('seccomp-bpf-swap', ['--security-opt', `seccomp=${profileFile}`]).ours.toString('base64');
    const defaultProgram = loadedBothWays('seccomp-bpf-swap', []).ours.toString('base64');
    const defaultEntry = before.find((f) => fs.readFileSync(path.join(cacheDir(), f), 'utf8') === defaultProgram);
    assert.ok(defaultEntry, `the default filter is cached among ${before.join(' ')}`);
    fs.writeFileSync(path.join(cacheDir(), defaultEntry), profileProgram);
    assertRefused(run([...CRUN, 'busybox', 'mkdir', '/x']), EDQUOT_MESSAGE);
  });

  test('a damaged cache entry is compiled again', () => {
    const entries = cached();
    assert.ok(entries.length > 0);
    for (const f of entries) fs.writeFileSync(path.join(cacheDir(), f), 'not a program !');
    assertRefused(run([...CRUN, 'busybox', ...UNSHARE]), /Operation not permitted/);
    assert.ok(cachedPrograms().some((p) => p.length > 0 && p.length % 8 === 0), 'the default filter was compiled again');
  });

  test('without the helper crun compiles the filter: the container runs, filtered; a filter crun refuses gives crun\'s error', () => {
    const helper = path.join(testEnv.installDir, 'native', 'build', 'tspod-seccomp-bpf');
    const aside = `${helper}.aside`;
    fs.renameSync(helper, aside);
    try {
      assertRefused(run([...CRUN, '--cap-add', 'NET_ADMIN', 'busybox', ...UNSHARE]), /Operation not permitted/);
    } finally {
      fs.renameSync(aside, helper);
    }
    const badArch = path.join(testEnv.home, 'seccomp-bpf-bad-arch.json');
    fs.writeFileSync(badArch, JSON.stringify({ defaultAction: 'SCMP_ACT_ALLOW', architectures: ['SCMP_ARCH_NOSUCH'] }));
    spawnSync('chown', [`${testEnv.uid}:${testEnv.gid}`, badArch]);
    const before = cached();
    const r = run([...CRUN, '--security-opt', `seccomp=${badArch}`, 'busybox', 'true']);
    fs.rmSync(badArch);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /^Error: .*architecture/m);
    assert.deepEqual(cached(), before, 'nothing cached for it');
  });
});
