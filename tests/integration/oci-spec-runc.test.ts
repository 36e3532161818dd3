// Specs from buildSpec, run by the real runc: rootless (the unprivileged test user, inside
// tspod's user namespace, where tspod will run the runtime) and as real root. This file is two
// things, like storage-drivers.test.ts:
//   - the node:test suite, run by root: it starts this file again as the namespace body
//     (`tspod unshare node <this file> --in-namespace rootless DIR`, and as root without tspod),
//     then checks each case's output and, from outside, what only root can see;
//   - the body (--in-namespace): builds a busybox rootfs (so that, rootless, root in the
//     namespace owns it), generates one spec per case with the same pure functions the engine
//     uses, runs each with `runc run`, and prints a JSON report.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { findExecutable } from '../../pkg/host/executables';
import { capabilitiesFromMask, capabilityMask, capabilitySet, explicitlyAddedCapabilities } from '../../pkg/runtime/capabilities';
import { resolveContainerUser } from '../../pkg/runtime/container-user';
import { SpecInput, buildSpec, containerEnv, describeDevice, hostFacts, serializeSpec, sourceMountOptions } from '../../pkg/runtime/oci-spec';
import { canRaiseHardLimits, hostLimits, resolveRlimits } from '../../pkg/runtime/rlimits';
import { RunResult, asRoot, hasTestEnv, testEnv, tspod } from './harness';

const IN_NAMESPACE = '--in-namespace';
type Mode = 'rootless' | 'root';

// ---------------------------------------------------------------- the cases -------------------

interface Case {
  args: string[];
  user?: string;
  groupAdd?: string[];
  capAdd?: string[];
  capDrop?: string[];
  privileged?: boolean;
  env?: string[];
  cwd?: string;
  ulimits?: string[];
  noNewPrivileges?: boolean;
  /** the rest of SpecInput; `BUNDLE` in a string stands for the bundle directory */
  input?: Partial<SpecInput>;
  only?: Mode;
}

const STATUS = 'grep -E "^(Cap(Eff|Bnd|Amb)|Seccomp|NoNewPrivs):" /proc/self/status';

const CASES: Record<string, Case> = {
  'default-user': { args: ['id'] },
  'uid-1000': { args: ['id'], user: '1000' },
  'user-tester': { args: ['id'], user: 'tester' },
  'user-tester-extra': { args: ['id'], user: 'tester:extra' },
  'group-add': { args: ['id'], user: 'tester', groupAdd: ['root', '3000'] },
  'unknown-numeric-user': { args: ['id'], user: '4242' },
  'default-caps': { args: ['sh', '-c', STATUS] },
  'cap-drop-all': { args: ['sh', '-c', STATUS], capDrop: ['ALL'] },
  'cap-add-non-root': { args: ['sh', '-c', STATUS], user: 'tester', capAdd: ['net_raw'] },
  privileged: { args: ['sh', '-c', `${STATUS}; wc -c < /proc/keys`], privileged: true },
  'seccomp-blocks-unshare': { args: ['sh', '-c', 'unshare -Ur id -u'] },
  'seccomp-unconfined': { args: ['sh', '-c', `${STATUS}; unshare -Ur id -u`], input: { seccomp: 'unconfined' } },
  'no-new-privileges': { args: ['sh', '-c', STATUS], noNewPrivileges: true },
  'readonly-rootfs': { args: ['sh', '-c', 'touch /x 2>&1; echo rc=$?; touch /tmp/y && echo tmp-writable'], input: { readonlyRootfs: true } },
  'writable-rootfs': { args: ['sh', '-c', 'touch /x && echo rootfs-writable'] },
  masked: {
    args: ['sh', '-c', 'wc -c < /proc/keys; wc -c < /proc/timer_list; ls -A /sys/firmware | wc -l; [ -e /proc/kcore ] && wc -c < /proc/kcore; echo 1 > /proc/sys/kernel/domainname 2>/dev/null || echo proc-sys-readonly'],
  },
  hostname: { args: ['hostname'] },
  env: { args: ['env'], env: ['FOO=bar baz'] },
  cwd: { args: ['pwd'], cwd: '/home/tester', user: 'tester' },
  mounts: {
    args: ['sh', '-c', 'cat /data/in; echo written > /data/out && echo rw-ok; cat /ro/in; echo no > /ro/out 2>/dev/null || echo ro-refused; grep -E " /(data|ro|scratch) " /proc/mounts | cut -d" " -f2-4; echo t > /scratch/t && echo tmpfs-ok'],
    input: {
      mounts: [
        { type: 'bind', source: 'BUNDLE/vol', destination: '/data' },
        { type: 'bind', source: 'BUNDLE/vol', destination: '/ro', readonly: true },
        { type: 'tmpfs', destination: '/scratch', options: ['size=1m'] },
      ],
    },
  },
  'etc-files': { args: ['sh', '-c', 'cat /etc/hosts /etc/hostname /etc/resolv.conf'], input: { etcFiles: { hosts: 'BUNDLE/hosts', hostname: 'BUNDLE/hostname', resolvConf: 'BUNDLE/resolv.conf' } } },
  'shm-default': { args: ['sh', '-c', 'grep " /dev/shm " /proc/mounts'] },
  'shm-size': { args: ['sh', '-c', 'grep " /dev/shm " /proc/mounts'], input: { shmSize: 128 * 1024 * 1024 } },
  'ulimit-default': { args: ['sh', '-c', 'ulimit -n; ulimit -Hn'] },
  'ulimit-nofile': { args: ['sh', '-c', 'ulimit -n; ulimit -Hn'], ulimits: ['nofile=1024:2048'] },
  device: { args: ['sh', '-c', '[ -c /dev/mynull ] && echo char-device; echo x > /dev/mynull && echo writable'], input: { devices: [describeDevice('/dev/null:/dev/mynull:rw')] } },
  'exit-code': { args: ['sh', '-c', 'exit 3'] },
  'dev-nodes': { args: ['sh', '-c', 'echo $(ls /dev); grep " /dev/pts " /proc/mounts | cut -d" " -f4'] },
  'network-host': { args: ['sh', '-c', 'ls /sys/class/net | grep -c lo; grep " /sys/fs/cgroup/memory " /proc/mounts | tail -n1 | cut -d" " -f4 | cut -d, -f1'], input: { namespaces: { network: 'host' } } },
  'pid-host': { args: ['sh', '-c', '[ -d /proc/1 ] && echo proc-ok'], input: { namespaces: { pid: 'host' } } },
  'ipc-host': { args: ['sh', '-c', 'grep " /dev/shm " /proc/mounts | cut -d" " -f1'], input: { namespaces: { ipc: 'host' } } },
  // In the nested namespace, tspod-namespace mounts are locked: the ro remount must keep the
  // source's nosuid,nodev,noexec (runc 1.1.5 fails with EPERM otherwise).
  'locked-source-ro': {
    args: ['sh', '-c', 'cat /locked/f; grep " /locked " /proc/mounts | cut -d" " -f4 | cut -d, -f1-4'],
    user: 'KEEP_ID',
    input: { namespaces: { user: { mode: 'keep-id' } }, mounts: [{ type: 'bind', source: 'BUNDLE/locked', destination: '/locked', readonly: true, sourceOptions: ['SOURCE_OPTIONS'] }] },
    only: 'rootless',
  },
  'keep-id': { args: ['sh', '-c', 'id -u; id -g; stat -c %u /bin/busybox'], user: 'KEEP_ID', input: { namespaces: { user: { mode: 'keep-id' } } }, only: 'rootless' },
};

// ---------------------------------------------------------------- in-namespace body ----------

interface Report {
  uid: number;
  nofileHard: number;
  capabilities: string;
  results: Record<string, RunResult & { spec?: string }>;
}

/** busybox with its applets, passwd/group like the harness image, a home owned by tester. */
function buildRootfs(rootfs: string): void {
  for (const dir of ['bin', 'etc', 'tmp', 'proc', 'sys', 'dev', 'root', 'home/tester']) fs.mkdirSync(path.join(rootfs, dir), { recursive: true });
  fs.chmodSync(path.join(rootfs, 'tmp'), 0o1777);
  fs.copyFileSync('/bin/busybox', path.join(rootfs, 'bin/busybox'));
  fs.chmodSync(path.join(rootfs, 'bin/busybox'), 0o755);
  const applets = spawnSync('/bin/busybox', ['--list'], { encoding: 'utf8' }).stdout.split('\n').filter((a) => a && a !== 'busybox');
  for (const applet of applets) fs.symlinkSync('busybox', path.join(rootfs, 'bin', applet));
  fs.writeFileSync(path.join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\ntester:x:1000:1000::/home/tester:/bin/sh\n');
  fs.writeFileSync(path.join(rootfs, 'etc/group'), 'root:x:0:\ntester:x:1000:\nextra:x:2000:tester\n');
  fs.chownSync(path.join(rootfs, 'home/tester'), 1000, 1000);
}

function substituted<T>(value: T, bundle: string): T {
  const locked = sourceMountOptions(path.join(bundle, 'locked'));
  return JSON.parse(JSON.stringify(value).replace(/BUNDLE/g, bundle).replace('"SOURCE_OPTIONS"', locked.map((o) => JSON.stringify(o)).join(','))) as T;
}

function specFor(c: Case, bundle: string, rootfs: string): SpecInput {
  const facts = hostFacts();
  const userSpec = c.user === 'KEEP_ID' ? `${facts.hostUid}:${facts.hostGid}` : c.user;
  const user = resolveContainerUser(rootfs, userSpec, c.groupAdd);
  const extra = substituted(c.input ?? {}, bundle);
  const hostname = 'ctr-test';
  return {
    rootfs,
    hostname,
    host: facts,
    ...extra,
    process: {
      args: c.args,
      env: containerEnv({ imageEnv: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'], env: c.env, hostname, home: user.home }),
      cwd: c.cwd ?? '/',
      user,
      capabilities: capabilitySet(c),
      userCapabilities: explicitlyAddedCapabilities(c),
      rlimits: resolveRlimits({ ulimits: c.ulimits, host: hostLimits(), canRaise: canRaiseHardLimits() }),
      noNewPrivileges: c.noNewPrivileges,
    },
    privileged: c.privileged,
  };
}

function runCase(name: string, c: Case, base: string, rootfs: string, runc: string): RunResult & { spec?: string } {
  const bundle = path.join(base, 'bundles', name);
  fs.mkdirSync(bundle, { recursive: true });
  let spec: string;
  try {
    spec = serializeSpec(buildSpec(specFor(c, base, rootfs)));
  } catch (err) {
    return { code: -1, stdout: '', stderr: `buildSpec: ${err instanceof Error ? err.message : String(err)}`, signal: null, timedOut: false };
  }
  fs.writeFileSync(path.join(bundle, 'config.json'), spec);
  const r = spawnSync(runc, ['--root', path.join(base, 'runc-state'), 'run', '--bundle', bundle, `spec-test-${name}-${process.pid}`], {
    encoding: 'utf8',
    input: '',
    timeout: 30_000,
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, signal: r.signal, timedOut: false, spec };
}

function inNamespace(mode: Mode, base: string): void {
  const runc = findExecutable('runc');
  if (!runc) throw new Error('runc not found');
  const rootfs = path.join(base, 'rootfs');
  buildRootfs(rootfs);
  fs.mkdirSync(path.join(base, 'vol'));
  fs.writeFileSync(path.join(base, 'vol/in'), 'from the host\n');
  fs.writeFileSync(path.join(base, 'hosts'), '127.0.0.1 localhost\n10.0.0.5 ctr-test\n');
  fs.writeFileSync(path.join(base, 'hostname'), 'ctr-test\n');
  fs.writeFileSync(path.join(base, 'resolv.conf'), 'nameserver 10.0.2.3\n');
  const status = fs.readFileSync('/proc/self/status', 'utf8');
  const report: Report = {
    uid: process.getuid?.() ?? -1,
    nofileHard: hostLimits().RLIMIT_NOFILE?.hard ?? -1,
    capabilities: /^CapBnd:\s*(\S+)$/m.exec(status)?.[1] ?? '',
    results: {},
  };
  // A tmpfs mounted here, in tspod's namespace, with flags a nested namespace sees as locked.
  const locked = path.join(base, 'locked');
  fs.mkdirSync(locked);
  const mounted = mode === 'rootless' && spawnSync('mount', ['-t', 'tmpfs', '-o', 'nosuid,nodev,noexec,size=1m', 'tmpfs', locked]).status === 0;
  try {
    if (mounted) fs.writeFileSync(path.join(locked, 'f'), 'locked source\n');
    for (const [name, c] of Object.entries(CASES)) {
      if (c.only && c.only !== mode) continue;
      report.results[name] = runCase(name, c, base, rootfs, runc);
    }
  } finally {
    if (mounted) spawnSync('umount', [locked]);
  }
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

// ---------------------------------------------------------------- root-side suite -------------

/** This file as the test user can read it: the harness's installed copy of the build. */
const installedSelf = (): string => path.join(testEnv.installDir, 'dist/tests/integration', path.basename(__filename));

function parseReport(run: RunResult): Report {
  assert.equal(run.code, 0, `namespace script failed (${run.code}): ${run.stderr}`);
  return JSON.parse(run.stdout.trim().split('\n').pop() as string) as Report;
}

const ID_TESTER = 'uid=1000(tester) gid=1000(tester) groups=1000(tester),2000(extra)';

function registerSuite(): void {
  const skip = !hasTestEnv() ? 'needs the harness (sudo npm test)' : !findExecutable('runc') ? 'runc is not installed' : false;

  for (const mode of ['rootless', 'root'] as const) {
    describe(`OCI specs run by runc, ${mode}`, { skip }, () => {
      let base = '';
      let report: Report;
      const result = (name: string): RunResult & { spec?: string } => {
        const r = report.results[name];
        assert.ok(r, `no result for ${name}`);
        return r;
      };
      /** stdout of a case that must have succeeded */
      const out = (name: string): string => {
        const r = result(name);
        assert.equal(r.code, 0, `${name}: runc exited ${r.code}: ${r.stderr}\nspec: ${r.spec ?? '(none)'}`);
        return r.stdout;
      };
      const status = (name: string): Record<string, string> =>
        Object.fromEntries([...out(name).matchAll(/^(\w+):\s*(\S+)$/gm)].map((m) => [m[1], m[2]]));

      before(() => {
        if (mode === 'rootless') {
          base = fs.mkdtempSync(path.join(testEnv.home, '.tspod-spec-test-'));
          fs.chownSync(base, testEnv.uid, testEnv.gid);
          report = parseReport(tspod(['unshare', testEnv.node, installedSelf(), IN_NAMESPACE, mode, base], { timeoutMs: 300_000 }));
        } else {
          base = fs.mkdtempSync('/var/tmp/tspod-spec-test-');
          report = parseReport(asRoot([testEnv.node, installedSelf(), IN_NAMESPACE, mode, base], { timeoutMs: 300_000 }));
        }
      });

      // Files in there belong to subuids: root removes them. runc run deleted its containers.
      after(() => base && fs.rmSync(base, { recursive: true, force: true }));

      test('the rootfs belongs to root of the runtime’s namespace: the user rootless, real root otherwise', () => {
        assert.equal(report.uid, 0);
        const busybox = fs.statSync(path.join(base, 'rootfs/bin/busybox'));
        const tester = fs.statSync(path.join(base, 'rootfs/home/tester'));
        if (mode === 'rootless') {
          assert.equal(busybox.uid, testEnv.uid);
          assert.equal(tester.uid, testEnv.subuid.start + 999, 'uid 1000 in the namespace is subuid start + 999 on the host');
        } else {
          assert.equal(busybox.uid, 0);
          assert.equal(tester.uid, 1000);
        }
      });

      test('users: default root, -u 1000, -u tester, -u tester:extra, --group-add, an unknown numeric uid', () => {
        assert.equal(out('default-user').trim(), 'uid=0(root) gid=0(root) groups=0(root)');
        assert.equal(out('uid-1000').trim(), ID_TESTER);
        assert.equal(out('user-tester').trim(), ID_TESTER);
        assert.equal(out('user-tester-extra').trim(), 'uid=1000(tester) gid=2000(extra) groups=2000(extra)');
        assert.equal(out('group-add').trim(), 'uid=1000(tester) gid=1000(tester) groups=0(root),1000(tester),2000(extra),3000');
        assert.equal(out('unknown-numeric-user').trim(), 'uid=4242 gid=0(root) groups=0(root)');
      });

      test("capabilities: Podman's defaults, --cap-drop ALL, --cap-add for a non-root user, --privileged", () => {
        assert.deepEqual(status('default-caps'), { CapEff: '00000000800405fb', CapBnd: '00000000800405fb', CapAmb: '0000000000000000', NoNewPrivs: '0', Seccomp: '2' });
        const dropped = status('cap-drop-all');
        assert.equal(dropped.CapEff, '0000000000000000');
        assert.equal(dropped.CapBnd, '0000000000000000');
        const user = status('cap-add-non-root');
        assert.equal(user.CapEff, capabilityMask(['CAP_NET_RAW']));
        assert.equal(user.CapAmb, capabilityMask(['CAP_NET_RAW']));
        assert.equal(user.CapBnd, capabilityMask([...capabilitySet({ capAdd: ['NET_RAW'] })]));
        // Every capability the runtime's caller holds: rootless all 41 in the namespace; root here
        // lacks CAP_SYS_RESOURCE.
        const all = status('privileged');
        assert.equal(all.CapEff, report.capabilities);
        assert.equal(capabilitiesFromMask(all.CapEff).length, mode === 'rootless' ? 41 : capabilitiesFromMask(report.capabilities).length);
        assert.equal(all.Seccomp, '0');
        assert.notEqual(out('privileged').trim().split('\n').pop(), '0', '/proc/keys is not masked');
      });

      test('seccomp: the default filter refuses a new user namespace; unconfined has no filter', () => {
        const blocked = result('seccomp-blocks-unshare');
        assert.notEqual(blocked.code, 0);
        assert.match(blocked.stdout + blocked.stderr, /Operation not permitted/);
        const open = status('seccomp-unconfined');
        assert.equal(open.Seccomp, '0');
        assert.match(out('seccomp-unconfined'), /^0$/m, 'unshare -Ur worked');
      });

      test('no-new-privileges', () => {
        assert.equal(status('no-new-privileges').NoNewPrivs, '1');
      });

      test('a read-only rootfs refuses writes, with tmpfs on /tmp; the default rootfs is writable', () => {
        assert.match(out('readonly-rootfs'), /Read-only file system\nrc=1\ntmp-writable/);
        assert.equal(out('writable-rootfs').trim(), 'rootfs-writable');
      });

      test('masked paths are empty, /proc/sys is read-only', () => {
        const lines = out('masked').trim().split('\n');
        assert.deepEqual(lines.slice(0, 3), ['0', '0', '0'], '/proc/keys, /proc/timer_list empty; /sys/firmware an empty dir');
        // /proc/kcore exists only with CONFIG_PROC_KCORE (not on this kernel); when it does, it reads empty.
        assert.deepEqual(lines.slice(3), fs.existsSync('/proc/kcore') ? ['0', 'proc-sys-readonly'] : ['proc-sys-readonly']);
      });

      test('hostname, environment, working directory', () => {
        assert.equal(out('hostname').trim(), 'ctr-test');
        const env = out('env').trim().split('\n').sort();
        for (const v of ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'HOSTNAME=ctr-test', 'container=podman', 'HOME=/root', 'TERM=xterm', 'FOO=bar baz']) {
          assert.ok(env.includes(v), `${v} missing from ${env.join(' ')}`);
        }
        assert.equal(out('cwd').trim(), '/home/tester');
      });

      test('bind mounts (rw and ro) and tmpfs; the container writes to the host as the right owner', () => {
        const lines = out('mounts').trim().split('\n');
        assert.equal(lines[0], 'from the host');
        assert.equal(lines[1], 'rw-ok');
        assert.equal(lines[2], 'from the host');
        assert.equal(lines[3], 'ro-refused');
        const mounts = lines.slice(4, 7).sort();
        assert.match(mounts[0], /^\/data \S+ rw,/);
        assert.match(mounts[1], /^\/ro \S+ ro,/);
        assert.match(mounts[2], /^\/scratch tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k/);
        assert.equal(lines[7], 'tmpfs-ok');
        const written = path.join(base, 'vol/out');
        assert.equal(fs.readFileSync(written, 'utf8'), 'written\n');
        assert.equal(fs.statSync(written).uid, mode === 'rootless' ? testEnv.uid : 0);
      });

      test('/etc/hosts, /etc/hostname and /etc/resolv.conf come from the per-container files', () => {
        assert.equal(out('etc-files'), '127.0.0.1 localhost\n10.0.0.5 ctr-test\nctr-test\nnameserver 10.0.2.3\n');
      });

      test('/dev/shm: 64m by default, --shm-size', () => {
        assert.match(out('shm-default'), /size=65536k/);
        assert.match(out('shm-size'), /size=131072k/);
      });

      test("ulimits: nofile defaults to the caller's hard limit (below 1048576 here); --ulimit nofile=1024:2048", () => {
        const expected = Math.min(1048576, report.nofileHard);
        assert.equal(out('ulimit-default'), `${expected}\n${expected}\n`);
        assert.equal(out('ulimit-nofile'), '1024\n2048\n');
      });

      test('/dev: the standard nodes (bound from the host when rootless), /dev/pts with the tty group, --device', () => {
        const [devs, pts] = out('dev-nodes').trim().split('\n');
        for (const node of ['null', 'zero', 'full', 'random', 'urandom', 'tty', 'ptmx', 'pts', 'shm', 'mqueue']) assert.ok(devs.split(' ').includes(node), `/dev/${node} missing: ${devs}`);
        // /proc/mounts shows the gid as the initial namespace sees it.
        assert.match(pts, mode === 'rootless' ? new RegExp(`gid=${testEnv.subgid.start + 4}`) : /gid=5/);
        assert.equal(out('device'), 'char-device\nwritable\n');
      });

      test('the exit code comes through', () => {
        assert.equal(result('exit-code').code, 3);
      });

      test('host namespaces: network (sysfs bound rootless, the cgroup tree read-only over it), pid, ipc', () => {
        const [lo, cgroup] = out('network-host').trim().split('\n');
        assert.ok(Number(lo) >= 1, 'the host interfaces are visible');
        assert.equal(cgroup, 'ro');
        assert.equal(out('pid-host').trim(), 'proc-ok');
        assert.equal(out('ipc-host').trim(), 'tmpfs', "the host's /dev/shm");
      });

      if (mode === 'rootless') {
        test('--userns=keep-id: the user is its own uid inside, and owns what it owns outside', () => {
          assert.equal(out('keep-id'), `${testEnv.uid}\n${testEnv.gid}\n${testEnv.uid}\n`);
        });

        test('a read-only bind of a nosuid,nodev,noexec source works in a nested namespace', () => {
          assert.equal(out('locked-source-ro'), 'locked source\nro,nosuid,nodev,noexec\n');
        });
      }
    });
  }
}

// Run as the namespace body, this file must not register the suite: node would run it there.
if (process.argv[2] === IN_NAMESPACE) {
  try {
    inNamespace(process.argv[3] as Mode, process.argv[4]);
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  }
} else {
  registerSuite();
}
