import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError, NotFoundError } from '../../pkg/errors';
import { capabilitySet } from '../../pkg/runtime/capabilities';
import { DEFAULT_MASKED_PATHS, DEFAULT_READONLY_PATHS, maskedAndReadonlyPaths } from '../../pkg/runtime/masked-paths';
import { HostFacts, SpecInput, buildSpec, containerEnv, describeDevice, lockedOptions, serializeSpec, sourceMountOptions, unmappedGroups } from '../../pkg/runtime/oci-spec';
import { parseMountInfo } from '../../pkg/storage/mounts';
import { Mount, Spec } from '../../pkg/runtime/oci-spec-types';
import { RLIM_INFINITY, canRaiseHardLimits, parseProcLimits, parseUlimit, resolveRlimits } from '../../pkg/runtime/rlimits';

const ALL_BUT_RESOURCE = capabilitySet({ privileged: true }).filter((c) => c !== 'CAP_SYS_RESOURCE');

const ROOTLESS: HostFacts = {
  rootless: true,
  uidMap: [
    { container_id: 0, host_id: 1001, size: 1 },
    { container_id: 1, host_id: 100000, size: 65536 },
  ],
  gidMap: [
    { container_id: 0, host_id: 1001, size: 1 },
    { container_id: 1, host_id: 100000, size: 65536 },
  ],
  hostUid: 1001,
  hostGid: 1001,
  capabilities: capabilitySet({ privileged: true }),
  arch: 'amd64',
  kernel: '6.1.0',
};

const SINGLE_ID: HostFacts = { ...ROOTLESS, uidMap: [ROOTLESS.uidMap[0]], gidMap: [ROOTLESS.gidMap[0]] };

const ROOT: HostFacts = {
  ...ROOTLESS,
  rootless: false,
  uidMap: [{ container_id: 0, host_id: 0, size: 4294967295 }],
  gidMap: [{ container_id: 0, host_id: 0, size: 4294967295 }],
  hostUid: 0,
  hostGid: 0,
  capabilities: ALL_BUT_RESOURCE,
};

function input(over: Partial<SpecInput> = {}, processOver: Partial<SpecInput['process']> = {}): SpecInput {
  return {
    rootfs: '/var/lib/c/rootfs',
    hostname: 'abc123',
    process: { args: ['sh'], env: ['PATH=/bin'], cwd: '/', user: { uid: 0, gid: 0, additionalGids: [0] }, capabilities: capabilitySet({}), ...processOver },
    host: ROOTLESS,
    ...over,
  };
}

const mount = (spec: Spec, dest: string): Mount | undefined => spec.mounts.find((m) => m.destination === dest);
const nsTypes = (spec: Spec): string[] => spec.linux.namespaces.map((n) => (n.path ? `${n.type}=${n.path}` : n.type));

describe('buildSpec, rootless in tspod’s namespace', () => {
  const spec = buildSpec(input());

  test('new pid, network, ipc, uts, mount and cgroup namespaces, but no user namespace or mappings', () => {
    assert.deepEqual(nsTypes(spec), ['pid', 'network', 'ipc', 'uts', 'mount', 'cgroup']);
    assert.equal(spec.linux.uidMappings, undefined);
    assert.equal(spec.linux.gidMappings, undefined);
  });

  test('no cgroup path, no resources, no device nodes: runc in a user namespace must not need cgroups', () => {
    assert.equal(spec.linux.cgroupsPath, undefined);
    assert.equal(spec.linux.resources, undefined);
    assert.equal(spec.linux.devices, undefined);
  });

  test('process: user, umask, caps, terminal off, no-new-privileges off by default', () => {
    assert.deepEqual(spec.process.user, { uid: 0, gid: 0, umask: 0o022, additionalGids: [0] });
    assert.deepEqual(spec.process.capabilities?.effective, capabilitySet({}));
    assert.deepEqual(spec.process.capabilities?.inheritable, []);
    assert.equal(spec.process.terminal, false);
    assert.equal(spec.process.noNewPrivileges, false);
    assert.equal(spec.hostname, 'abc123');
    assert.deepEqual(spec.root, { path: '/var/lib/c/rootfs', readonly: false });
  });

  test('the standard mounts, parents first', () => {
    assert.deepEqual(
      spec.mounts.map((m) => `${m.destination} ${m.type}`),
      ['/proc proc', '/dev tmpfs', '/sys sysfs', '/dev/pts devpts', '/dev/shm tmpfs', '/dev/mqueue mqueue', '/sys/fs/cgroup cgroup'],
    );
    assert.deepEqual(mount(spec, '/dev/pts')?.options, ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5']);
    assert.deepEqual(mount(spec, '/dev/shm')?.options, ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k']);
    assert.deepEqual(mount(spec, '/sys')?.options, ['nosuid', 'noexec', 'nodev', 'ro']);
    assert.ok(mount(spec, '/sys/fs/cgroup')?.options?.includes('ro'));
  });

  test("seccomp, masked and read-only paths, Podman's ping sysctl", () => {
    assert.equal(spec.linux.seccomp?.defaultAction, 'SCMP_ACT_ERRNO');
    assert.deepEqual(spec.linux.seccomp?.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
    assert.deepEqual(spec.linux.maskedPaths, [...DEFAULT_MASKED_PATHS]);
    assert.deepEqual(spec.linux.readonlyPaths, [...DEFAULT_READONLY_PATHS]);
    assert.ok(spec.linux.maskedPaths?.includes('/proc/kcore'));
    assert.deepEqual(spec.linux.sysctl, { 'net.ipv4.ping_group_range': '0 0' });
  });
});

test('single-id namespace: /dev/pts without gid=5; unmapped groups dropped; an unmapped user refused', () => {
  const spec = buildSpec(input({ host: SINGLE_ID }, { user: { uid: 0, gid: 0, additionalGids: [0, 2000] } }));
  assert.ok(!mount(spec, '/dev/pts')?.options?.some((o) => o.startsWith('gid=')));
  assert.deepEqual(spec.process.user.additionalGids, [0]);
  assert.deepEqual(unmappedGroups(input({ host: SINGLE_ID }, { user: { uid: 0, gid: 0, additionalGids: [0, 2000] } })), [2000]);
  assert.throws(() => buildSpec(input({ host: SINGLE_ID }, { user: { uid: 1000, gid: 1000 } })), /uid 1000 is not mapped in the container's user namespace \(mapped: 0-0\)/);
  assert.throws(() => buildSpec(input({}, { user: { uid: 0, gid: 70000 } })), /gid 70000 is not mapped/);
});

describe('host namespaces', () => {
  test('rootless --network host: the host /sys bound, the cgroup tree read-only over it, no sysctl', () => {
    const spec = buildSpec(input({ namespaces: { network: 'host' } }));
    assert.deepEqual(nsTypes(spec), ['pid', 'ipc', 'uts', 'mount', 'cgroup']);
    assert.deepEqual(mount(spec, '/sys'), { destination: '/sys', type: 'bind', source: '/sys', options: ['rbind', 'rprivate', 'nosuid', 'noexec', 'nodev', 'ro'] });
    assert.equal(mount(spec, '/sys/fs/cgroup')?.type, 'cgroup');
    assert.equal(spec.linux.sysctl, undefined);
  });

  test('root --network host mounts sysfs itself', () => {
    assert.equal(mount(buildSpec(input({ host: ROOT, namespaces: { network: 'host' } })), '/sys')?.type, 'sysfs');
  });

  test('rootless --pid host binds /proc; --ipc host binds /dev/shm and /dev/mqueue (when the host has it)', () => {
    assert.deepEqual(mount(buildSpec(input({ namespaces: { pid: 'host' } })), '/proc'), { destination: '/proc', type: 'bind', source: '/proc', options: ['rbind', 'nosuid', 'noexec', 'nodev'] });
    const ipc = buildSpec(input({ namespaces: { ipc: 'host' } }));
    assert.equal(mount(ipc, '/dev/shm')?.source, '/dev/shm');
    assert.equal(mount(ipc, '/dev/mqueue')?.type, 'bind');
    assert.equal(mount(buildSpec(input({ host: { ...ROOTLESS, devMqueue: false }, namespaces: { ipc: 'host' } })), '/dev/mqueue'), undefined);
    assert.equal(mount(buildSpec(input({ host: ROOT, namespaces: { ipc: 'host', pid: 'host' } })), '/dev/mqueue')?.type, 'mqueue');
  });

  test('joining namespaces by path; --uts host refuses a hostname', () => {
    const spec = buildSpec(input({ namespaces: { network: { path: '/proc/42/ns/net' }, ipc: { path: '/proc/42/ns/ipc' }, cgroup: 'host' } }));
    assert.deepEqual(nsTypes(spec), ['pid', 'network=/proc/42/ns/net', 'ipc=/proc/42/ns/ipc', 'uts', 'mount']);
    assert.equal(mount(spec, '/sys')?.type, 'sysfs', 'a network namespace of tspod’s own user namespace');
    assert.throws(() => buildSpec(input({ namespaces: { network: { path: 'net' } } })), /not absolute/);
    assert.throws(() => buildSpec(input({ namespaces: { uts: 'host' } })), /cannot set hostname when running in the host UTS namespace/);
    assert.equal(buildSpec(input({ hostname: undefined, namespaces: { uts: 'host' } })).hostname, undefined);
  });
});

describe('--userns', () => {
  test('keep-id: a nested user namespace mapping the user to its own uid', () => {
    const spec = buildSpec(input({ namespaces: { user: { mode: 'keep-id' } } }, { user: { uid: 1001, gid: 1001 } }));
    assert.ok(nsTypes(spec).includes('user'));
    assert.deepEqual(spec.linux.uidMappings, [
      { containerID: 0, hostID: 1, size: 1001 },
      { containerID: 1001, hostID: 0, size: 1 },
      { containerID: 1002, hostID: 1002, size: 64535 },
    ]);
    assert.deepEqual(spec.linux.gidMappings, spec.linux.uidMappings);
    assert.ok(mount(spec, '/dev/pts')?.options?.includes('gid=5'));
    assert.equal(mount(spec, '/sys')?.type, 'sysfs', 'its own network namespace belongs to the nested user namespace');
  });

  test('keep-id with the host network binds /sys; keep-id and auto need rootless', () => {
    const spec = buildSpec(input({ namespaces: { user: { mode: 'keep-id' }, network: 'host' } }));
    assert.equal(mount(spec, '/sys')?.type, 'bind');
    assert.throws(() => buildSpec(input({ host: ROOT, namespaces: { user: { mode: 'keep-id' } } })), /--userns=keep-id is only supported in rootless mode/);
    assert.deepEqual(buildSpec(input({ namespaces: { user: { mode: 'auto', size: 1000 } } })).linux.uidMappings, [{ containerID: 0, hostID: 1, size: 1000 }]);
  });
});

describe('security options', () => {
  test('--privileged: every capability the caller has, no seccomp, nothing masked, /sys writable', () => {
    const spec = buildSpec(input({ host: ROOT, privileged: true }, { capabilities: capabilitySet({ privileged: true }) }));
    assert.deepEqual(spec.process.capabilities?.bounding, ALL_BUT_RESOURCE);
    assert.equal(spec.linux.seccomp, undefined);
    assert.deepEqual(spec.linux.maskedPaths, []);
    assert.deepEqual(spec.linux.readonlyPaths, []);
    assert.ok(!mount(spec, '/sys')?.options?.includes('ro'));
  });

  test('seccomp unconfined, no-new-privileges, unmask and mask', () => {
    const spec = buildSpec(input({ seccomp: 'unconfined', unmask: ['/proc/kcore:/proc/keys'], mask: ['/proc/cpuinfo'] }, { noNewPrivileges: true }));
    assert.equal(spec.linux.seccomp, undefined);
    assert.equal(spec.process.noNewPrivileges, true);
    assert.ok(!spec.linux.maskedPaths?.includes('/proc/kcore') && !spec.linux.maskedPaths?.includes('/proc/keys'));
    assert.ok(spec.linux.maskedPaths?.includes('/proc/cpuinfo'));
    assert.deepEqual(maskedAndReadonlyPaths({ unmask: ['ALL'] }), { maskedPaths: [], readonlyPaths: [] });
    assert.throws(() => maskedAndReadonlyPaths({ mask: ['proc/x'] }), /must be absolute/);
  });

  test('a non-root user keeps caps only in bounding unless --cap-add named them', () => {
    const spec = buildSpec(input({}, { user: { uid: 1000, gid: 1000 }, capabilities: capabilitySet({ capAdd: ['NET_RAW'] }), userCapabilities: ['CAP_NET_RAW'] }));
    assert.deepEqual(spec.process.capabilities?.ambient, ['CAP_NET_RAW']);
    assert.ok(spec.process.capabilities?.bounding.includes('CAP_CHOWN'));
  });
});

describe('mounts', () => {
  test('read-only rootfs with tmpfs on /tmp, /var/tmp and /run (unless --read-only-tmpfs=false)', () => {
    const spec = buildSpec(input({ readonlyRootfs: true }));
    assert.equal(spec.root.readonly, true);
    for (const dest of ['/tmp', '/var/tmp', '/run']) assert.deepEqual(mount(spec, dest)?.options, ['rw', 'nosuid', 'nodev', 'exec'], "Podman's: not noexec");
    assert.equal(mount(buildSpec(input({ readonlyRootfs: true, readOnlyTmpfs: false })), '/tmp'), undefined);
  });

  test('binds, volumes and tmpfs with their default options; user options win', () => {
    const spec = buildSpec(
      input({
        mounts: [
          { type: 'bind', source: '/home/u/data', destination: '/data/' },
          { type: 'bind', source: '/home/u/ro', destination: '/ro', readonly: true, options: ['rshared'] },
          { type: 'volume', source: '/vols/v/_data', destination: '/v' },
          { type: 'tmpfs', destination: '/scratch', options: ['size=1m', 'exec'] },
          { type: 'bind', source: '/x', destination: '/data/sub', options: ['bind'] },
        ],
      }),
    );
    assert.deepEqual(mount(spec, '/data'), { destination: '/data', type: 'bind', source: '/home/u/data', options: ['rbind', 'rprivate'] });
    assert.deepEqual(mount(spec, '/ro')?.options, ['rbind', 'rshared', 'ro']);
    assert.deepEqual(mount(spec, '/v')?.options, ['rbind', 'rprivate', 'nosuid', 'nodev']);
    assert.deepEqual(mount(spec, '/scratch'), { destination: '/scratch', type: 'tmpfs', source: 'tmpfs', options: ['rw', 'nosuid', 'nodev', 'size=1m', 'exec'] });
    assert.deepEqual(mount(spec, '/data/sub')?.options, ['bind', 'rprivate']);
    const order = spec.mounts.map((m) => m.destination);
    assert.ok(order.indexOf('/data') < order.indexOf('/data/sub'));
    assert.throws(() => buildSpec(input({ mounts: [{ type: 'bind', source: 'rel', destination: '/x' }] })), /source rel is not absolute/);
    assert.throws(() => buildSpec(input({ mounts: [{ type: 'tmpfs', destination: 'x' }] })), /destination x is not absolute/);
  });

  test('a user mount replaces a default one at the same place; --shm-size sizes /dev/shm', () => {
    const spec = buildSpec(input({ mounts: [{ type: 'bind', source: '/host/shm', destination: '/dev/shm' }] }));
    assert.equal(spec.mounts.filter((m) => m.destination === '/dev/shm').length, 1);
    assert.equal(mount(spec, '/dev/shm')?.source, '/host/shm');
    assert.ok(mount(buildSpec(input({ shmSize: 128 * 1024 * 1024 })), '/dev/shm')?.options?.includes('size=131072k'));
    assert.ok(mount(buildSpec(input({ shmSize: 1000 })), '/dev/shm')?.options?.includes('size=1000'));
  });

  test("a bind repeats its source mount's locked flags (runc 1.1 remounts without them: EPERM)", () => {
    assert.deepEqual(lockedOptions(['rw', 'nosuid', 'nodev', 'noexec', 'relatime']), ['nosuid', 'nodev', 'noexec']);
    const spec = buildSpec(
      input({
        mounts: [
          { type: 'bind', source: '/tmp/x', destination: '/ro', readonly: true, sourceOptions: ['rw', 'nosuid', 'nodev', 'noatime'] },
          { type: 'volume', source: '/v/_data', destination: '/v', sourceOptions: ['rw', 'nosuid', 'nodev', 'noexec'] },
          { type: 'bind', source: '/tmp/x', destination: '/ex', options: ['exec'], sourceOptions: ['rw', 'noexec'] },
        ],
      }),
    );
    assert.deepEqual(mount(spec, '/ro')?.options, ['rbind', 'rprivate', 'ro', 'nosuid', 'nodev', 'noatime']);
    assert.deepEqual(mount(spec, '/v')?.options, ['rbind', 'rprivate', 'nosuid', 'nodev', 'noexec']);
    assert.deepEqual(mount(spec, '/ex')?.options, ['rbind', 'rprivate', 'exec'], 'an explicit exec stays (and fails in runc, as it must)');
  });

  test('sourceMountOptions finds the deepest (and topmost) mount holding the source', () => {
    const entries = parseMountInfo(
      [
        '27 1 254:0 / / rw,relatime - ext4 /dev/vda rw',
        '40 27 0:40 / /tmp rw,nosuid,nodev - tmpfs tmpfs rw',
        '41 40 0:41 / /tmp rw,nosuid,nodev,noexec - tmpfs tmpfs rw',
        '42 27 0:42 / /tmpfoo rw,noatime - tmpfs tmpfs rw',
      ].join('\n'),
    );
    assert.deepEqual(sourceMountOptions('/tmp', entries), ['rw', 'nosuid', 'nodev', 'noexec']);
    assert.deepEqual(sourceMountOptions('/', entries), ['rw', 'relatime']);
    assert.deepEqual(sourceMountOptions('/etc', entries), ['rw', 'relatime']);
    assert.deepEqual(sourceMountOptions('/nonexistent/path', entries), []);
  });

  test("the container's /etc/hosts, /etc/hostname and /etc/resolv.conf", () => {
    const spec = buildSpec(input({ etcFiles: { hosts: '/run/c/hosts', hostname: '/run/c/hostname', resolvConf: '/run/c/resolv.conf' } }));
    assert.deepEqual(mount(spec, '/etc/hosts'), { destination: '/etc/hosts', type: 'bind', source: '/run/c/hosts', options: ['bind', 'rprivate', 'nosuid', 'noexec', 'nodev'] });
    assert.equal(mount(spec, '/etc/hostname')?.source, '/run/c/hostname');
    assert.equal(mount(spec, '/etc/resolv.conf')?.source, '/run/c/resolv.conf');
  });
});

describe('devices', () => {
  const fuse = { hostPath: '/dev/fuse', containerPath: '/dev/fuse', permissions: 'rwm', type: 'c' as const, major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 };

  test('rootless: a bind mount of the node (mknod is not allowed), never nodev', () => {
    const spec = buildSpec(input({ devices: [fuse, { ...fuse, hostPath: '/dev/null', containerPath: '/dev/mynull', permissions: 'r' }] }));
    assert.deepEqual(mount(spec, '/dev/fuse'), { destination: '/dev/fuse', type: 'bind', source: '/dev/fuse', options: ['rbind', 'rslave', 'nosuid', 'noexec', 'rw'] });
    assert.ok(mount(spec, '/dev/mynull')?.options?.includes('ro'));
    assert.equal(spec.linux.devices, undefined);
  });

  test('root: a device node and a device cgroup rule after deny-all', () => {
    const spec = buildSpec(input({ host: ROOT, devices: [fuse] }));
    assert.deepEqual(spec.linux.devices, [{ path: '/dev/fuse', type: 'c', major: 10, minor: 229, fileMode: 0o666, uid: 0, gid: 0 }]);
    assert.deepEqual(spec.linux.resources?.devices, [{ allow: false, access: 'rwm' }, { allow: true, type: 'c', major: 10, minor: 229, access: 'rwm' }]);
    assert.equal(mount(spec, '/dev/fuse'), undefined);
  });

  test('--device parsing reads the node from the host', () => {
    assert.deepEqual(describeDevice('/dev/null'), { hostPath: '/dev/null', containerPath: '/dev/null', permissions: 'rwm', type: 'c', major: 1, minor: 3, fileMode: 0o666, uid: 0, gid: 0 });
    assert.equal(describeDevice('/dev/null:r').permissions, 'r');
    assert.equal(describeDevice('/dev/null:/dev/other').containerPath, '/dev/other');
    assert.deepEqual([describeDevice('/dev/zero:/dev/z:rw').containerPath, describeDevice('/dev/zero:/dev/z:rw').minor], ['/dev/z', 5]);
    assert.throws(() => describeDevice('/dev/nonexistent-device'), NotFoundError);
    assert.throws(() => describeDevice('/etc/hostname'), /is not a device node/);
    assert.throws(() => describeDevice('/dev/null:/x:rwx'), /invalid device permissions/);
  });
});

describe('resources, only when the caller can apply them', () => {
  test('memory (swap twice by default), cpus as quota over a 100 ms period, pids', () => {
    const spec = buildSpec(input({ host: ROOT, resources: { memory: 100 << 20, cpus: 1.5, pidsLimit: 2048, cpuShares: 512 } }));
    assert.deepEqual(spec.linux.resources, {
      devices: [{ allow: false, access: 'rwm' }],
      memory: { limit: 100 << 20, swap: 200 << 20 },
      cpu: { period: 100000, quota: 150000, shares: 512 },
      pids: { limit: 2048 },
    });
    assert.deepEqual(buildSpec(input({ resources: { memory: 1 << 30, memorySwap: -1 } })).linux.resources, { memory: { limit: 1 << 30, swap: -1 } });
  });

  test('inconsistent limits are bad input', () => {
    assert.throws(() => buildSpec(input({ resources: { memorySwap: 1 << 30 } })), /--memory when using --memory-swap/);
    assert.throws(() => buildSpec(input({ resources: { memory: 1 << 30, memorySwap: 1 << 20 } })), /memoryswap limit should be larger/);
    assert.throws(() => buildSpec(input({ resources: { cpus: 1, cpuQuota: 5000 } })), /--cpus conflicts/);
    assert.throws(() => buildSpec(input({ resources: { cpus: 0 } })), /must be positive/);
  });
});

test('sysctls: only namespaced ones, and not for a host namespace', () => {
  const spec = buildSpec(input({ sysctls: { 'net.ipv4.ip_forward': '1', 'kernel.shmmax': '100', 'fs.mqueue.msg_max': '20' } }));
  assert.equal(spec.linux.sysctl?.['net.ipv4.ip_forward'], '1');
  assert.equal(spec.linux.sysctl?.['net.ipv4.ping_group_range'], '0 0');
  assert.throws(() => buildSpec(input({ sysctls: { 'vm.swappiness': '1' } })), /sysctl "vm.swappiness" is not allowed/);
  assert.throws(() => buildSpec(input({ namespaces: { network: 'host' }, sysctls: { 'net.core.somaxconn': '1' } })), /host's network namespace/);
  assert.throws(() => buildSpec(input({ namespaces: { ipc: 'host' }, sysctls: { 'kernel.sem': '1' } })), /host's ipc namespace/);
  assert.throws(() => buildSpec(input({ hostname: undefined, namespaces: { uts: 'host' }, sysctls: { 'kernel.domainname': 'x' } })), /host's uts namespace/);
});

test('no command, relative cwd, annotations, hooks, cgroupsPath, terminal', () => {
  assert.throws(() => buildSpec(input({}, { args: [] })), (err: unknown) => err instanceof InvalidArgumentError && /no command specified/.test(err.message));
  assert.throws(() => buildSpec(input({}, { cwd: 'data' })), /working directory data is not absolute/);
  const spec = buildSpec(
    input({ annotations: { 'io.container.manager': 'libpod' }, hooks: { poststop: [{ path: '/bin/true' }] }, cgroupsPath: '/machine/tspod-1', host: ROOT }, { terminal: true, consoleSize: { height: 24, width: 80 }, oomScoreAdj: 100 }),
  );
  assert.deepEqual(spec.annotations, { 'io.container.manager': 'libpod' });
  assert.deepEqual(spec.hooks, { poststop: [{ path: '/bin/true' }] });
  assert.equal(spec.linux.cgroupsPath, '/machine/tspod-1');
  assert.equal(spec.process.terminal, true);
  assert.deepEqual(spec.process.consoleSize, { height: 24, width: 80 });
  assert.equal(spec.process.oomScoreAdj, 100);
});

test("containerEnv: Podman's defaults, then the image's, then -e; container=podman, HOSTNAME, HOME when unset", () => {
  assert.deepEqual(containerEnv({ imageEnv: ['PATH=/opt/bin:/bin', 'A=image'], env: ['A=flag', 'B=x=y'], hostname: 'abc', home: '/root' }), [
    'PATH=/opt/bin:/bin',
    'TERM=xterm',
    'A=flag',
    'B=x=y',
    'container=podman',
    'HOSTNAME=abc',
    'HOME=/root',
  ]);
  assert.deepEqual(containerEnv({ env: ['container=docker', 'HOME=/h', 'HOSTNAME=me'], home: '/root', hostname: 'abc' }).slice(2), ['container=docker', 'HOME=/h', 'HOSTNAME=me']);
  assert.throws(() => containerEnv({ env: ['=x'], home: '/' }), /invalid environment variable/);
});

describe('rlimits', () => {
  const LIMITS = parseProcLimits(
    'Limit                     Soft Limit           Hard Limit           Units     \n' +
      'Max core file size        0                    unlimited            bytes     \n' +
      'Max processes             96365                96365                processes \n' +
      'Max open files            20000                20000                files     \n' +
      'Max realtime timeout      unlimited            unlimited            us        \n',
  );

  test('/proc/self/limits parsing', () => {
    assert.deepEqual(LIMITS, {
      RLIMIT_CORE: { soft: 0, hard: RLIM_INFINITY },
      RLIMIT_NPROC: { soft: 96365, hard: 96365 },
      RLIMIT_NOFILE: { soft: 20000, hard: 20000 },
      RLIMIT_RTTIME: { soft: RLIM_INFINITY, hard: RLIM_INFINITY },
    });
  });

  test("Podman's defaults capped at the caller's hard limit", () => {
    assert.deepEqual(resolveRlimits({ host: LIMITS, canRaise: false }), [
      { type: 'RLIMIT_NOFILE', soft: 20000, hard: 20000 },
      { type: 'RLIMIT_NPROC', soft: 96365, hard: 96365 },
    ]);
    assert.deepEqual(resolveRlimits({ host: {}, canRaise: true })[0], { type: 'RLIMIT_NOFILE', soft: 1048576, hard: 1048576 });
  });

  test('--ulimit parsing', () => {
    assert.deepEqual(parseUlimit('nofile=1024:2048'), { type: 'RLIMIT_NOFILE', soft: 1024, hard: 2048 });
    assert.deepEqual(parseUlimit('nproc=512'), { type: 'RLIMIT_NPROC', soft: 512, hard: 512 });
    assert.deepEqual(parseUlimit('core=-1'), { type: 'RLIMIT_CORE', soft: RLIM_INFINITY, hard: RLIM_INFINITY });
    assert.deepEqual(parseUlimit('core=0:unlimited'), { type: 'RLIMIT_CORE', soft: 0, hard: RLIM_INFINITY });
    assert.throws(() => parseUlimit('nofile=2048:1024'), /soft limit must be less than or equal to hard limit: 2048 > 1024/);
    assert.throws(() => parseUlimit('files=1'), /invalid ulimit type: files/);
    assert.throws(() => parseUlimit('nofile'), /invalid ulimit argument/);
    assert.throws(() => parseUlimit('nofile=abc'), /invalid ulimit argument/);
  });

  test('--ulimit overrides defaults; above the hard limit is refused without CAP_SYS_RESOURCE; host copies', () => {
    const limits = resolveRlimits({ host: LIMITS, canRaise: false, ulimits: ['nofile=1024:2048', 'core=-1'] });
    assert.deepEqual(limits, [
      { type: 'RLIMIT_NOFILE', soft: 1024, hard: 2048 },
      { type: 'RLIMIT_NPROC', soft: 96365, hard: 96365 },
      { type: 'RLIMIT_CORE', soft: RLIM_INFINITY, hard: RLIM_INFINITY },
    ]);
    assert.throws(() => resolveRlimits({ host: LIMITS, canRaise: false, ulimits: ['nofile=1048576'] }), /above this process's own \(20000\).*nofile=20000:20000/);
    assert.equal(resolveRlimits({ host: LIMITS, canRaise: true, ulimits: ['nofile=1048576'] })[0].hard, 1048576);
    assert.equal(resolveRlimits({ host: LIMITS, canRaise: false, ulimits: ['host'] }).length, 4);
  });

  test('CAP_SYS_RESOURCE counts only in the initial user namespace', () => {
    const identity = '         0          0 4294967295\n';
    assert.equal(canRaiseHardLimits('CapEff:\t000001ffffffffff\n', identity), true);
    assert.equal(canRaiseHardLimits('CapEff:\t000001fffeffffff\n', identity), false);
    assert.equal(canRaiseHardLimits('CapEff:\t000001ffffffffff\n', '0 1001 1\n1 100000 65536\n'), false);
  });

  test('serializeSpec writes RLIM_INFINITY as the exact uint64', () => {
    const spec = buildSpec(input({}, { rlimits: [{ type: 'RLIMIT_CORE', soft: RLIM_INFINITY, hard: RLIM_INFINITY }, { type: 'RLIMIT_NOFILE', soft: 1024, hard: 1024 }] }));
    const text = serializeSpec(spec);
    assert.equal(text.match(/18446744073709551615/g)?.length, 2);
    assert.ok(!text.includes('18446744073709552000'));
    assert.deepEqual(JSON.parse(text).process.rlimits[1], { type: 'RLIMIT_NOFILE', soft: 1024, hard: 1024 });
  });
});
