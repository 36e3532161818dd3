import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidArgumentError } from '../../pkg/errors';
import { capabilitySet } from '../../pkg/runtime/capabilities';
import { Seccomp } from '../../pkg/runtime/oci-spec-types';
import {
  DEFAULT_SECCOMP_PROFILE,
  SeccompContext,
  goArch,
  kernelAtLeast,
  parseSeccompProfile,
  seccompForSpec,
  seccompProfileForOption,
} from '../../pkg/runtime/seccomp-profile';

const DEFAULT_CAPS = capabilitySet({});
const amd64 = (caps = DEFAULT_CAPS, kernel = '6.1.0-18-amd64'): SeccompContext => ({ arch: 'amd64', capabilities: caps, kernel });

/** Syscall names some rule acts on with `action` and no argument filter. */
function unconditional(s: Seccomp, action = 'SCMP_ACT_ALLOW'): Set<string> {
  return new Set((s.syscalls ?? []).filter((r) => r.action === action && !r.args?.length).flatMap((r) => r.names));
}
const mentioned = (s: Seccomp): Set<string> => new Set((s.syscalls ?? []).flatMap((r) => r.names));

test('default: EPERM for anything unlisted, native arch with its 32-bit siblings', () => {
  const s = seccompForSpec(DEFAULT_SECCOMP_PROFILE, amd64());
  assert.equal(s.defaultAction, 'SCMP_ACT_ERRNO');
  assert.equal(s.defaultErrnoRet, 1);
  assert.deepEqual(s.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32']);
  const arm = seccompForSpec(DEFAULT_SECCOMP_PROFILE, { ...amd64(), arch: 'arm64' });
  assert.deepEqual(arm.architectures, ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM']);
  assert.equal(goArch('x64'), 'amd64');
  assert.equal(goArch('arm64'), 'arm64');
  assert.equal(goArch('ia32'), 'x86');
});

test('default: everyday syscalls are allowed, dangerous ones are not, whatever the capabilities', () => {
  const s = seccompForSpec(DEFAULT_SECCOMP_PROFILE, amd64());
  const allowed = unconditional(s);
  for (const name of ['read', 'write', 'openat', 'execve', 'clone', 'fork', 'mmap', 'futex', 'setuid', 'chown', 'getrandom', 'statx', 'rseq', 'close_range', 'arch_prctl', 'ptrace']) {
    if (name === 'clone') continue; // argument-filtered, below
    assert.ok(allowed.has(name), `${name} should be allowed`);
  }
  const privileged = seccompForSpec(DEFAULT_SECCOMP_PROFILE, amd64(capabilitySet({ privileged: true })));
  for (const name of ['keyctl', 'add_key', 'request_key', 'userfaultfd', 'io_uring_setup', 'kexec_load', 'pivot_root', 'swapon', 'uselib', 'nfsservctl']) {
    assert.ok(!mentioned(s).has(name), `${name} should be refused`);
    assert.ok(!mentioned(privileged).has(name), `${name} should be refused even with every capability`);
  }
  // arm-only calls stay out on amd64
  assert.ok(!mentioned(s).has('cacheflush'));
  assert.ok(unconditional(seccompForSpec(DEFAULT_SECCOMP_PROFILE, { ...amd64(), arch: 'arm64' })).has('cacheflush'));
  assert.ok(!mentioned(seccompForSpec(DEFAULT_SECCOMP_PROFILE, { ...amd64(), arch: 'arm64' })).has('arch_prctl'));
});

test('without CAP_SYS_ADMIN: no mount or unshare; clone only without namespace flags; clone3 says ENOSYS', () => {
  const s = seccompForSpec(DEFAULT_SECCOMP_PROFILE, amd64());
  for (const name of ['mount', 'umount2', 'unshare', 'setns', 'sethostname', 'bpf', 'perf_event_open', 'open_by_handle_at', 'reboot', 'init_module', 'acct', 'settimeofday', 'kcmp']) {
    assert.ok(!mentioned(s).has(name), `${name} needs a capability`);
  }
  const clone = (s.syscalls ?? []).filter((r) => r.names.includes('clone'));
  assert.deepEqual(clone, [{ names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] }]);
  assert.deepEqual((s.syscalls ?? []).filter((r) => r.names.includes('clone3')), [{ names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: 38 }]);
  assert.ok(unconditional(s).has('chroot'), 'CAP_SYS_CHROOT is a default capability');
  // s390 passes clone flags second
  const s390 = seccompForSpec(DEFAULT_SECCOMP_PROFILE, { ...amd64(), arch: 's390x' });
  assert.equal((s390.syscalls ?? []).find((r) => r.names.includes('clone'))?.args?.[0].index, 1);
});

test('capabilities switch their syscalls on', () => {
  const admin = seccompForSpec(DEFAULT_SECCOMP_PROFILE, amd64(capabilitySet({ capAdd: ['SYS_ADMIN'] })));
  const allowed = unconditional(admin);
  for (const name of ['mount', 'unshare', 'setns', 'clone', 'clone3', 'sethostname']) assert.ok(allowed.has(name), name);
  assert.equal((admin.syscalls ?? []).filter((r) => r.names.includes('clone') && r.args?.length).length, 0, 'no flag filter with CAP_SYS_ADMIN');
  assert.equal((admin.syscalls ?? []).filter((r) => r.action === 'SCMP_ACT_ERRNO').length, 0);
  assert.ok(unconditional(seccompForSpec(DEFAULT_SECCOMP_PROFILE, amd64(capabilitySet({ capAdd: ['SYS_PTRACE'] })))).has('kcmp'));
  assert.ok(unconditional(seccompForSpec(DEFAULT_SECCOMP_PROFILE, amd64(capabilitySet({ capAdd: ['SYS_TIME'] })))).has('settimeofday'));
  assert.ok(!mentioned(seccompForSpec(DEFAULT_SECCOMP_PROFILE, amd64(capabilitySet({ capDrop: ['SYS_CHROOT'] })))).has('chroot'));
});

test('ptrace needs CAP_SYS_PTRACE before kernel 4.8, nothing after', () => {
  assert.ok(!mentioned(seccompForSpec(DEFAULT_SECCOMP_PROFILE, amd64(DEFAULT_CAPS, '4.4.0-1-generic'))).has('ptrace'));
  assert.ok(unconditional(seccompForSpec(DEFAULT_SECCOMP_PROFILE, amd64(DEFAULT_CAPS, '4.8.0'))).has('ptrace'));
  assert.ok(kernelAtLeast('6.18.44-fc-v657', '4.8'));
  assert.ok(kernelAtLeast('4.10.0', '4.8'));
  assert.ok(!kernelAtLeast('4.7.10', '4.8'));
  assert.ok(!kernelAtLeast('3.19', '4.8'));
  assert.throws(() => kernelAtLeast('6.1', 'new'), InvalidArgumentError);
});

test('socket is allowed for every family but AF_VSOCK; personality only with known personas', () => {
  const s = seccompForSpec(DEFAULT_SECCOMP_PROFILE, amd64());
  assert.deepEqual((s.syscalls ?? []).filter((r) => r.names.includes('socket')), [{ names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 40, op: 'SCMP_CMP_NE' }] }]);
  const personas = (s.syscalls ?? []).filter((r) => r.names.includes('personality')).map((r) => r.args?.[0].value);
  assert.deepEqual(personas, [0, 8, 0x20000, 0x20008, 0xffffffff]);
});

test('the default profile lists no syscall twice in its allow-list', () => {
  const names = DEFAULT_SECCOMP_PROFILE.syscalls?.[0].names ?? [];
  assert.equal(new Set(names).size, names.length);
  assert.ok(names.length > 300);
});

test("a profile file in Docker's format: conditions, the old single name, the old architectures list", () => {
  const profile = parseSeccompProfile(
    JSON.stringify({
      defaultAction: 'SCMP_ACT_ALLOW',
      architectures: ['SCMP_ARCH_X86_64'],
      syscalls: [
        { name: 'mkdir', action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
        { names: ['chmod'], action: 'SCMP_ACT_ERRNO', includes: { caps: ['CAP_SYS_ADMIN'] } },
        { names: ['chown'], action: 'SCMP_ACT_LOG', excludes: { arches: ['amd64'] } },
        { names: ['uname'], action: 'SCMP_ACT_ERRNO', args: null },
      ],
    }),
  );
  assert.deepEqual(seccompForSpec(profile, amd64()), {
    defaultAction: 'SCMP_ACT_ALLOW',
    architectures: ['SCMP_ARCH_X86_64'],
    syscalls: [
      { names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
      { names: ['uname'], action: 'SCMP_ACT_ERRNO' },
    ],
  });
});

test('bad profiles are bad input', () => {
  const bad = (text: string, message: RegExp): void => assert.throws(() => parseSeccompProfile(text, 'p.json'), (err: unknown) => err instanceof InvalidArgumentError && message.test(err.message));
  bad('{', /decoding seccomp profile p.json failed/);
  bad('[]', /not a JSON object/);
  bad('{"defaultAction":"SCMP_ACT_NOPE"}', /unknown defaultAction/);
  bad('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"ALLOW"}]}', /unknown action/);
  bad('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"name":"read","names":["x"],"action":"SCMP_ACT_LOG"}]}', /both name and names/);
  bad('{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["read"],"action":"SCMP_ACT_LOG","args":[{"index":0,"value":1,"op":"EQ"}]}]}', /invalid argument filter/);
  const both = parseSeccompProfile('{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86"],"archMap":[{"architecture":"SCMP_ARCH_X86_64"}]}');
  assert.throws(() => seccompForSpec(both, amd64()), /'architectures' and 'archMap'/);
});

test('--security-opt seccomp=: unset is the default, unconfined, or a file', () => {
  assert.equal(seccompProfileForOption(undefined), DEFAULT_SECCOMP_PROFILE);
  assert.equal(seccompProfileForOption('unconfined'), 'unconfined');
  const read = (file: string): string => {
    if (file === '/p.json') return '{"defaultAction":"SCMP_ACT_LOG"}';
    throw new Error(`ENOENT: no such file or directory, open '${file}'`);
  };
  assert.deepEqual(seccompProfileForOption('/p.json', read), { defaultAction: 'SCMP_ACT_LOG' });
  assert.throws(() => seccompProfileForOption('/nope.json', read), /opening seccomp profile \/nope.json failed: ENOENT/);
});

test('the OCI form round-trips through JSON unchanged (what runc reads)', () => {
  const s = seccompForSpec(DEFAULT_SECCOMP_PROFILE, amd64());
  assert.deepEqual(JSON.parse(JSON.stringify(s)), s);
  assert.deepEqual(seccompForSpec(parseSeccompProfile(JSON.stringify(DEFAULT_SECCOMP_PROFILE)), amd64()), s);
});
