// crun's seccomp filter, compiled once per distinct filter rather than on every start. crun
// compiles the spec's seccomp section with libseccomp each time it creates a container (~20 ms
// of a ~35 ms start for Docker's default profile); given the annotation run.oci.seccomp_bpf_data
// (the program, base64) it loads that instead. native/seccomp-bpf.c builds the program crun would
// build; the result is kept in the run root (tmpfs: gone at reboot, with the kernel it was built
// for), so the first start with a profile pays the compile and later ones read a file.
// The spec keeps its seccomp section (inspect shows it, runc uses it, crun takes its flags).
// Anything that goes wrong leaves the annotation out: crun then compiles the section itself.
import { execFileSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { errorMessage } from '../errors';
import { log } from '../log';
import { nativeBinary } from '../package-root';
import { Seccomp, Spec } from './oci-spec-types';
import { seccompLines } from './seccomp-lines';

export const SECCOMP_BPF_ANNOTATION = 'run.oci.seccomp_bpf_data';
/** crun compiles differently with it (unknown syscalls fail): left to crun */
const FAIL_UNKNOWN_ANNOTATION = 'run.oci.seccomp_fail_unknown_syscall';

/** Where compiled filters are kept, by key. */
export function seccompCacheDir(runRoot: string): string {
  return path.join(runRoot, 'seccomp-bpf');
}

/** size, mtime and inode: a rebuilt helper or an upgraded crun makes new keys */
function fileIdentity(file: string): string {
  const st = fs.statSync(file);
  return `${file}:${st.size}:${st.mtimeMs}:${st.ino}`;
}

/** The file name a filter is cached under: everything that changes the program is in it. */
export function seccompCacheKey(lines: string, helper: string, runtimePath: string): string {
  const text = [fileIdentity(helper), fileIdentity(runtimePath), os.release(), lines].join('\0');
  // The one-shot digest (Node 20.12) costs a command ~0.4 ms less than a first createHash.
  return crypto.hash ? crypto.hash('sha256', text) : crypto.createHash('sha256').update(text).digest('hex');
}

/** A BPF instruction is 8 bytes: anything else is no program (and would fail crun's start). */
function isProgram(program: Buffer): boolean {
  return program.length > 0 && program.length % 8 === 0;
}

/** A cache entry that is no program (damaged outside tspod) is compiled again. */
function readCached(file: string): string | undefined {
  let data: string;
  try {
    data = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  return /^[A-Za-z0-9+/]+={0,2}$/.test(data) && isProgram(Buffer.from(data, 'base64')) ? data : undefined;
}

/** Runs the helper; the program in base64. Throws what the helper said. */
function compile(helper: string, lines: string): string {
  const program = execFileSync(helper, [], { input: lines, stdio: ['pipe', 'pipe', 'pipe'], maxBuffer: 16 * 1024 * 1024 });
  if (!isProgram(program)) throw new Error(`the helper wrote ${program.length} bytes, not a BPF program`);
  return program.toString('base64');
}

/** Written beside its final name, then renamed: concurrent starts never read half a file. */
function store(file: string, data: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
  try {
    fs.writeFileSync(tmp, data, { mode: 0o600 });
    fs.renameSync(tmp, file);
  } finally {
    fs.rmSync(tmp, { force: true });
  }
}

function compiledFilter(seccomp: Seccomp, runtimePath: string, runRoot: string): string | undefined {
  const lines = seccompLines(seccomp);
  if (lines === undefined) {
    log.debug('seccomp: the profile is left to crun to compile (a listener, or a value crun checks itself)');
    return undefined;
  }
  const helper = nativeBinary('tspod-seccomp-bpf');
  let file: string;
  try {
    file = path.join(seccompCacheDir(runRoot), seccompCacheKey(lines, helper, runtimePath));
  } catch (err) {
    log.debug(`seccomp: no precompiled filter (${errorMessage(err)}); crun compiles it`);
    return undefined;
  }
  const known = readCached(file);
  if (known !== undefined) return known;
  try {
    const data = compile(helper, lines);
    store(file, data);
    return data;
  } catch (err) {
    const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
    log.debug(`seccomp: compiling the filter failed (${stderr || errorMessage(err)}); crun compiles it`);
    return undefined;
  }
}

/**
 * Adds the compiled filter to a spec that crun will run. Nothing for runc (which has no such
 * annotation), without a filter, or when the user's annotations already decide how crun gets it.
 */
export function addCompiledSeccomp(spec: Spec, runtimePath: string, runRoot: string): void {
  const seccomp = spec.linux?.seccomp;
  if (!seccomp || path.basename(runtimePath) !== 'crun') return;
  const annotations = spec.annotations ?? {};
  if (SECCOMP_BPF_ANNOTATION in annotations || FAIL_UNKNOWN_ANNOTATION in annotations) return;
  const data = compiledFilter(seccomp, runtimePath, runRoot);
  if (data !== undefined) spec.annotations = { ...annotations, [SECCOMP_BPF_ANNOTATION]: data };
}
