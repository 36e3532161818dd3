// addCompiledSeccomp with the built helper (native/build/tspod-seccomp-bpf) and a stand-in file
// named crun: what the spec gets, and what the cache holds. That the program is the one crun
// builds is checked against crun itself in tests/integration/seccomp-bpf.test.ts.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { capabilitySet } from '../../pkg/runtime/capabilities';
import { Seccomp, Spec } from '../../pkg/runtime/oci-spec-types';
import { SECCOMP_BPF_ANNOTATION, addCompiledSeccomp, seccompCacheDir } from '../../pkg/runtime/seccomp-bpf';
import { DEFAULT_SECCOMP_PROFILE, seccompForSpec } from '../../pkg/runtime/seccomp-profile';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seccomp-bpf-test-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));
fs.mkdirSync(path.join(dir, 'bin'));
const crun = path.join(dir, 'bin', 'crun');
const runc = path.join(dir, 'bin', 'runc');
for (const f of [crun, runc]) fs.writeFileSync(f, '');

const DEFAULT = seccompForSpec(DEFAULT_SECCOMP_PROFILE, { arch: 'amd64', capabilities: capabilitySet({}), kernel: '6.1.0' });
const specWith = (seccomp: Seccomp, annotations?: Record<string, string>): Spec => ({ ociVersion: '1.0.2', linux: { seccomp }, ...(annotations ? { annotations } : {}) }) as Spec;
const cached = (runRoot: string): string[] => (fs.existsSync(seccompCacheDir(runRoot)) ? fs.readdirSync(seccompCacheDir(runRoot)) : []);

test('crun gets the program in base64 (whole BPF instructions); the cache keeps it under one key', () => {
  const runRoot = path.join(dir, 'first');
  const spec = specWith(DEFAULT);
  addCompiledSeccomp(spec, crun, runRoot);
  const data = spec.annotations?.[SECCOMP_BPF_ANNOTATION];
  assert.ok(data, 'annotation set');
  const program = Buffer.from(data, 'base64');
  assert.ok(program.length > 100 * 8 && program.length % 8 === 0, `${program.length} bytes`);
  assert.deepEqual(spec.linux?.seccomp, DEFAULT, 'the seccomp section stays');
  assert.equal(cached(runRoot).length, 1);
  assert.equal(fs.readFileSync(path.join(seccompCacheDir(runRoot), cached(runRoot)[0]), 'utf8'), data);
});

test('a second spec with the same filter reads the cache; another filter gets its own entry', () => {
  const runRoot = path.join(dir, 'reuse');
  addCompiledSeccomp(specWith(DEFAULT), crun, runRoot);
  const [key] = cached(runRoot);
  // What the cache holds is what the next spec gets, without compiling again.
  const standIn = Buffer.alloc(16, 7).toString('base64');
  fs.writeFileSync(path.join(seccompCacheDir(runRoot), key), standIn);
  const again = specWith(DEFAULT);
  addCompiledSeccomp(again, crun, runRoot);
  assert.ok(again.annotations?.[SECCOMP_BPF_ANNOTATION] === standIn, 'read from the cache');
  const other = specWith({ ...DEFAULT, defaultErrnoRet: 38 });
  addCompiledSeccomp(other, crun, runRoot);
  assert.ok(other.annotations?.[SECCOMP_BPF_ANNOTATION] !== standIn, 'another filter, another entry');
  assert.equal(cached(runRoot).length, 2);
});

test('an entry that is no program (not base64, or not whole instructions) is compiled again', () => {
  const runRoot = path.join(dir, 'damaged');
  const first = specWith(DEFAULT);
  addCompiledSeccomp(first, crun, runRoot);
  const [key] = cached(runRoot);
  for (const damage of ['', 'not base64 !', Buffer.alloc(12).toString('base64')]) {
    fs.writeFileSync(path.join(seccompCacheDir(runRoot), key), damage);
    const again = specWith(DEFAULT);
    addCompiledSeccomp(again, crun, runRoot);
    assert.ok(again.annotations?.[SECCOMP_BPF_ANNOTATION] === first.annotations?.[SECCOMP_BPF_ANNOTATION], `after ${JSON.stringify(damage)}`);
    assert.ok(fs.readFileSync(path.join(seccompCacheDir(runRoot), key), 'utf8') === first.annotations?.[SECCOMP_BPF_ANNOTATION], 'the entry is repaired');
  }
});

test('nothing for runc, without a filter, or when the annotations already decide', () => {
  const runRoot = path.join(dir, 'none');
  const forRunc = specWith(DEFAULT);
  addCompiledSeccomp(forRunc, runc, runRoot);
  assert.equal(forRunc.annotations, undefined);
  const unconfined = { ociVersion: '1.0.2', linux: {} } as Spec;
  addCompiledSeccomp(unconfined, crun, runRoot);
  assert.equal(unconfined.annotations, undefined);
  const failUnknown = specWith(DEFAULT, { 'run.oci.seccomp_fail_unknown_syscall': '1' });
  addCompiledSeccomp(failUnknown, crun, runRoot);
  assert.deepEqual(failUnknown.annotations, { 'run.oci.seccomp_fail_unknown_syscall': '1' });
  const given = specWith(DEFAULT, { [SECCOMP_BPF_ANNOTATION]: 'mine' });
  addCompiledSeccomp(given, crun, runRoot);
  assert.equal(given.annotations?.[SECCOMP_BPF_ANNOTATION], 'mine');
  assert.deepEqual(cached(runRoot), []);
});

test('a filter the helper cannot compile is left to crun: no annotation, no error, nothing cached', () => {
  const runRoot = path.join(dir, 'failing');
  const spec = specWith({ ...DEFAULT, architectures: ['SCMP_ARCH_NOSUCH'] }, { keep: 'this' });
  addCompiledSeccomp(spec, crun, runRoot);
  assert.deepEqual(spec.annotations, { keep: 'this' });
  assert.deepEqual(cached(runRoot).filter((f) => !f.endsWith('.tmp')), []);
  assert.deepEqual(cached(runRoot), [], 'no temporary file left');
});
