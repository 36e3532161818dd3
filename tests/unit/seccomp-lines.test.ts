import { test } from 'node:test';
import assert from 'node:assert/strict';
import { capabilitySet } from '../../pkg/runtime/capabilities';
import { Seccomp } from '../../pkg/runtime/oci-spec-types';
import { DEFAULT_SECCOMP_PROFILE, seccompForSpec } from '../../pkg/runtime/seccomp-profile';
import { seccompLines } from '../../pkg/runtime/seccomp-lines';

const lines = (s: Seccomp): string[] | undefined => seccompLines(s)?.trimEnd().split('\n');

test('default action, architectures, then each rule with its conditions before its names', () => {
  const s: Seccomp = {
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 38,
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
    syscalls: [
      { names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' },
      { names: ['socket'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 40, op: 'SCMP_CMP_NE' }] },
      { names: ['clone'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 0x7e020000, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }] },
      { names: ['mkdir'], action: 'SCMP_ACT_ERRNO', errnoRet: 13 },
    ],
  };
  assert.deepEqual(lines(s), [
    'default SCMP_ACT_ERRNO 38',
    'arch SCMP_ARCH_X86_64',
    'arch SCMP_ARCH_X86',
    'rule SCMP_ACT_ALLOW 1',
    'name read',
    'name write',
    'rule SCMP_ACT_ALLOW 1',
    'arg 0 SCMP_CMP_NE 40 0',
    'name socket',
    'rule SCMP_ACT_ALLOW 1',
    `arg 0 SCMP_CMP_MASKED_EQ ${0x7e020000} 0`,
    'name clone',
    'rule SCMP_ACT_ERRNO 13',
    'name mkdir',
  ]);
});

test('errno defaults to EPERM as crun has it, for the default action and for rules', () => {
  const s: Seccomp = { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['mount'], action: 'SCMP_ACT_TRACE' }] };
  assert.deepEqual(lines(s), ['default SCMP_ACT_ERRNO 1', 'rule SCMP_ACT_TRACE 1', 'name mount']);
  assert.deepEqual(lines({ defaultAction: 'SCMP_ACT_ALLOW' }), ['default SCMP_ACT_ALLOW 1']);
});

test("crun's limits: six conditions a rule, names that are no word dropped (crun finds no such syscall)", () => {
  const args = [0, 1, 2, 3, 4, 5, 0].map((index) => ({ index, value: index, op: 'SCMP_CMP_EQ' as const }));
  const out = lines({ defaultAction: 'SCMP_ACT_ALLOW', syscalls: [{ names: ['ioctl', 'no such', ''], action: 'SCMP_ACT_KILL', args }] });
  assert.equal(out?.filter((l) => l.startsWith('arg ')).length, 6);
  assert.deepEqual(out?.filter((l) => l.startsWith('name ')), ['name ioctl']);
});

test('the Docker default profile becomes lines for every rule the spec has', () => {
  const spec = seccompForSpec(DEFAULT_SECCOMP_PROFILE, { arch: 'amd64', capabilities: capabilitySet({}), kernel: '6.1.0' });
  const out = lines(spec) ?? [];
  assert.equal(out.filter((l) => l.startsWith('rule ')).length, spec.syscalls?.length);
  assert.equal(out.filter((l) => l.startsWith('name ')).length, spec.syscalls?.reduce((n, r) => n + r.names.length, 0));
  assert.ok(out.includes('rule SCMP_ACT_ERRNO 38'), 'clone3 gets ENOSYS');
});

test('left to crun: a listener, NOTIFY, an errno on an action without one, values crun reads differently', () => {
  const base: Seccomp = { defaultAction: 'SCMP_ACT_ERRNO' };
  const cases: Seccomp[] = [
    { ...base, listenerPath: '/run/listener.sock' },
    { ...base, syscalls: [{ names: ['mkdir'], action: 'SCMP_ACT_NOTIFY' }] },
    { defaultAction: 'SCMP_ACT_ALLOW', defaultErrnoRet: 1 },
    { ...base, syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', errnoRet: 5 }] },
    { ...base, syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 6, value: 0, op: 'SCMP_CMP_EQ' }] }] },
    { ...base, syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: 2 ** 64, op: 'SCMP_CMP_EQ' }] }] },
    { ...base, syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', args: [{ index: 0, value: -1, op: 'SCMP_CMP_EQ' }] }] },
    { ...base, architectures: ['SCMP_ARCH_X86_64\ndefault'] },
  ];
  for (const s of cases) assert.equal(seccompLines(s), undefined, JSON.stringify(s));
});
