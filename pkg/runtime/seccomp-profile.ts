// The seccomp filter of a container. Profiles are in Docker's JSON format (the one
// `--security-opt seccomp=PATH` takes, and the one Docker and Podman ship as default.json):
// an allow-list with rules that apply only on some architectures, with some capabilities, or
// from some kernel version on. The runtime takes the OCI form, which has none of those
// conditions, so seccompForSpec evaluates them for one container (Docker's setupSeccomp rules:
// conditions test the container's bounding set and the native architecture).
//
// DEFAULT_SECCOMP_PROFILE is written to match the effect of Docker's documented default: every
// syscall not listed fails with EPERM. Kernel keyrings, userfaultfd, io_uring, kexec, swap,
// pivot_root and AF_VSOCK sockets are refused outright; new namespaces, mounts, kernel modules,
// BPF, perf, reboot, clock setting, chroot, and ptrace before 4.8 only with the matching
// capability; clone3 fails with ENOSYS (so libc falls back to clone, whose flags seccomp can
// see) unless CAP_SYS_ADMIN was granted.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { InvalidArgumentError, errorMessage } from '../errors';
import { Seccomp, SeccompAction, SeccompArg, SeccompSyscall } from './oci-spec-types';

export interface SeccompFilter {
  caps?: string[];
  /** Go architecture names: amd64, x86, x32, arm64, arm, ppc64le, s390x, riscv64, ... */
  arches?: string[];
  /** "4.8": kernel version, compared numerically */
  minKernel?: string;
}

export interface SeccompRule {
  names?: string[];
  /** the older single-name form */
  name?: string;
  action: SeccompAction;
  errnoRet?: number;
  args?: SeccompArg[] | null;
  comment?: string;
  includes?: SeccompFilter;
  excludes?: SeccompFilter;
}

export interface SeccompProfile {
  defaultAction: SeccompAction;
  defaultErrnoRet?: number;
  /** the older form: the OCI list as is */
  architectures?: string[];
  archMap?: { architecture: string; subArchitectures?: string[] }[];
  flags?: string[];
  listenerPath?: string;
  listenerMetadata?: string;
  syscalls?: SeccompRule[] | null;
}

const EPERM = 1;
const ENOSYS = 38;

/** CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET */
const CLONE_NAMESPACE_FLAGS = 0x7e020000;

const ALLOWED: readonly string[] = `
accept accept4 access adjtimex alarm bind brk cachestat capget capset chdir chmod chown chown32
clock_adjtime clock_adjtime64 clock_getres clock_getres_time64 clock_gettime clock_gettime64
clock_nanosleep clock_nanosleep_time64 close close_range connect copy_file_range creat dup dup2 dup3
epoll_create epoll_create1 epoll_ctl epoll_ctl_old epoll_pwait epoll_pwait2 epoll_wait epoll_wait_old
eventfd eventfd2 execve execveat exit exit_group faccessat faccessat2 fadvise64 fadvise64_64 fallocate
fanotify_mark fchdir fchmod fchmodat fchmodat2 fchown fchown32 fchownat fcntl fcntl64 fdatasync
fgetxattr flistxattr flock fork fremovexattr fsetxattr fstat fstat64 fstatat64 fstatfs fstatfs64 fsync
ftruncate ftruncate64 futex futex_requeue futex_time64 futex_wait futex_waitv futex_wake futimesat
getcpu getcwd getdents getdents64 getegid getegid32 geteuid geteuid32 getgid getgid32 getgroups
getgroups32 getitimer getpeername getpgid getpgrp getpid getppid getpriority getrandom getresgid
getresgid32 getresuid getresuid32 getrlimit get_robust_list getrusage getsid getsockname getsockopt
get_thread_area gettid gettimeofday getuid getuid32 getxattr inotify_add_watch inotify_init
inotify_init1 inotify_rm_watch io_cancel ioctl io_destroy io_getevents io_pgetevents
io_pgetevents_time64 ioprio_get ioprio_set io_setup io_submit ipc kill landlock_add_rule
landlock_create_ruleset landlock_restrict_self lchown lchown32 lgetxattr link linkat listen listxattr
llistxattr _llseek lremovexattr lseek lsetxattr lstat lstat64 madvise map_shadow_stack membarrier
memfd_create memfd_secret mincore mkdir mkdirat mknod mknodat mlock mlock2 mlockall mmap mmap2 mprotect
mq_getsetattr mq_notify mq_open mq_timedreceive mq_timedreceive_time64 mq_timedsend
mq_timedsend_time64 mq_unlink mremap msgctl msgget msgrcv msgsnd msync munlock munlockall munmap
name_to_handle_at nanosleep newfstatat _newselect open openat openat2 pause pidfd_open
pidfd_send_signal pipe pipe2 pkey_alloc pkey_free pkey_mprotect poll ppoll ppoll_time64 prctl pread64
preadv preadv2 prlimit64 process_mrelease pselect6 pselect6_time64 pwrite64 pwritev pwritev2 read
readahead readlink readlinkat readv recv recvfrom recvmmsg recvmmsg_time64 recvmsg remap_file_pages
removexattr rename renameat renameat2 restart_syscall rmdir rseq rt_sigaction rt_sigpending
rt_sigprocmask rt_sigqueueinfo rt_sigreturn rt_sigsuspend rt_sigtimedwait rt_sigtimedwait_time64
rt_tgsigqueueinfo sched_getaffinity sched_getattr sched_getparam sched_get_priority_max
sched_get_priority_min sched_getscheduler sched_rr_get_interval sched_rr_get_interval_time64
sched_setaffinity sched_setattr sched_setparam sched_setscheduler sched_yield seccomp select semctl
semget semop semtimedop semtimedop_time64 send sendfile sendfile64 sendmmsg sendmsg sendto setfsgid
setfsgid32 setfsuid setfsuid32 setgid setgid32 setgroups setgroups32 setitimer setpgid setpriority
setregid setregid32 setresgid setresgid32 setresuid setresuid32 setreuid setreuid32 setrlimit
set_robust_list setsid setsockopt set_thread_area set_tid_address setuid setuid32 setxattr shmat
shmctl shmdt shmget shutdown sigaltstack signalfd signalfd4 sigprocmask sigreturn socketcall
socketpair splice stat stat64 statfs statfs64 statx symlink symlinkat sync sync_file_range syncfs
sysinfo tee tgkill time timer_create timer_delete timer_getoverrun timer_gettime timer_gettime64
timer_settime timer_settime64 timerfd_create timerfd_gettime timerfd_gettime64 timerfd_settime
timerfd_settime64 times tkill truncate truncate64 ugetrlimit umask uname unlink unlinkat utime
utimensat utimensat_time64 utimes vfork vmsplice wait4 waitid waitpid write writev
`
  .split(/\s+/)
  .filter(Boolean);

const allow = (names: string[], more: Partial<SeccompRule> = {}): SeccompRule => ({ names, action: 'SCMP_ACT_ALLOW', ...more });
const withCaps = (caps: string[], names: string[]): SeccompRule => allow(names, { includes: { caps } });
const onArches = (arches: string[], names: string[]): SeccompRule => allow(names, { includes: { arches } });

export const DEFAULT_SECCOMP_PROFILE: SeccompProfile = {
  defaultAction: 'SCMP_ACT_ERRNO',
  defaultErrnoRet: EPERM,
  archMap: [
    { architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] },
    { architecture: 'SCMP_ARCH_AARCH64', subArchitectures: ['SCMP_ARCH_ARM'] },
    { architecture: 'SCMP_ARCH_MIPS64', subArchitectures: ['SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64N32'] },
    { architecture: 'SCMP_ARCH_MIPSEL64', subArchitectures: ['SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64N32'] },
    { architecture: 'SCMP_ARCH_PPC64LE', subArchitectures: [] },
    { architecture: 'SCMP_ARCH_S390X', subArchitectures: ['SCMP_ARCH_S390'] },
    { architecture: 'SCMP_ARCH_RISCV64', subArchitectures: [] },
  ],
  syscalls: [
    allow([...ALLOWED]),
    // socket(2) for every family but AF_VSOCK (40), which reaches the hypervisor.
    allow(['socket'], { args: [{ index: 0, value: 40, op: 'SCMP_CMP_NE' }] }),
    // personality(2) only with the personas programs ask for: LINUX, LINUX32, UNAME26, both, query.
    ...[0x0, 0x8, 0x20000, 0x20008, 0xffffffff].map((value) => allow(['personality'], { args: [{ index: 0, value, op: 'SCMP_CMP_EQ' }] })),
    onArches(['ppc64le'], ['sync_file_range2', 'swapcontext']),
    onArches(['arm', 'arm64'], ['arm_fadvise64_64', 'arm_sync_file_range', 'sync_file_range2', 'breakpoint', 'cacheflush', 'set_tls']),
    onArches(['amd64', 'x32'], ['arch_prctl']),
    onArches(['amd64', 'x32', 'x86'], ['modify_ldt']),
    onArches(['s390', 's390x'], ['s390_pci_mmio_read', 's390_pci_mmio_write', 's390_runtime_instr']),
    onArches(['riscv64'], ['riscv_flush_icache']),
    // Since 4.8 a tracer cannot use ptrace to bypass seccomp, so it is safe without a capability.
    allow(['process_vm_readv', 'process_vm_writev', 'ptrace'], { includes: { minKernel: '4.8' } }),
    withCaps(['CAP_DAC_READ_SEARCH'], ['open_by_handle_at']),
    withCaps(['CAP_SYS_ADMIN'], [
      'bpf', 'clone', 'clone3', 'fanotify_init', 'fsconfig', 'fsmount', 'fsopen', 'fspick', 'lookup_dcookie', 'mount',
      'mount_setattr', 'move_mount', 'open_tree', 'perf_event_open', 'quotactl', 'quotactl_fd', 'setdomainname',
      'sethostname', 'setns', 'syslog', 'umount', 'umount2', 'unshare',
    ]),
    // Without CAP_SYS_ADMIN, clone may not create namespaces: (flags & NAMESPACE_FLAGS) == 0.
    // s390 passes the flags second.
    allow(['clone'], {
      args: [{ index: 0, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
      excludes: { caps: ['CAP_SYS_ADMIN'], arches: ['s390', 's390x'] },
    }),
    allow(['clone'], {
      args: [{ index: 1, value: CLONE_NAMESPACE_FLAGS, valueTwo: 0, op: 'SCMP_CMP_MASKED_EQ' }],
      includes: { arches: ['s390', 's390x'] },
      excludes: { caps: ['CAP_SYS_ADMIN'] },
    }),
    // clone3 passes its flags in memory, where seccomp cannot look: ENOSYS makes libc use clone.
    { names: ['clone3'], action: 'SCMP_ACT_ERRNO', errnoRet: ENOSYS, excludes: { caps: ['CAP_SYS_ADMIN'] } },
    withCaps(['CAP_SYS_BOOT'], ['reboot']),
    withCaps(['CAP_SYS_CHROOT'], ['chroot']),
    withCaps(['CAP_SYS_MODULE'], ['delete_module', 'init_module', 'finit_module']),
    withCaps(['CAP_SYS_PACCT'], ['acct']),
    withCaps(['CAP_SYS_PTRACE'], ['kcmp', 'pidfd_getfd', 'process_madvise', 'process_vm_readv', 'process_vm_writev', 'ptrace']),
    withCaps(['CAP_SYS_RAWIO'], ['iopl', 'ioperm']),
    withCaps(['CAP_SYS_TIME'], ['settimeofday', 'stime', 'clock_settime', 'clock_settime64']),
    withCaps(['CAP_SYS_TTY_CONFIG'], ['vhangup']),
    withCaps(['CAP_SYS_NICE'], ['get_mempolicy', 'mbind', 'set_mempolicy', 'set_mempolicy_home_node']),
    withCaps(['CAP_SYSLOG'], ['syslog']),
    withCaps(['CAP_BPF'], ['bpf']),
    withCaps(['CAP_PERFMON'], ['perf_event_open']),
  ],
};

/** Node's process.arch → the Go name profiles use in includes/excludes. */
export function goArch(nodeArch: string = process.arch): string {
  const names: Record<string, string> = { x64: 'amd64', ia32: 'x86', arm: 'arm', arm64: 'arm64', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64', mips64el: 'mips64le', mipsel: 'mipsle', loong64: 'loong64' };
  return names[nodeArch] ?? nodeArch;
}

/** The Go name → libseccomp's native architecture, to pick the archMap entry. */
const NATIVE_SCMP: Record<string, string> = {
  amd64: 'SCMP_ARCH_X86_64',
  x86: 'SCMP_ARCH_X86',
  x32: 'SCMP_ARCH_X32',
  arm64: 'SCMP_ARCH_AARCH64',
  arm: 'SCMP_ARCH_ARM',
  ppc64le: 'SCMP_ARCH_PPC64LE',
  s390x: 'SCMP_ARCH_S390X',
  s390: 'SCMP_ARCH_S390',
  riscv64: 'SCMP_ARCH_RISCV64',
  mips64le: 'SCMP_ARCH_MIPSEL64',
  mips64: 'SCMP_ARCH_MIPS64',
  mipsle: 'SCMP_ARCH_MIPSEL',
};

/** "6.1.0-18-amd64" >= "4.8"? Compares the numeric major.minor(.patch) prefix. */
export function kernelAtLeast(release: string, min: string): boolean {
  const parse = (v: string): number[] => (/^(\d+)(?:\.(\d+))?(?:\.(\d+))?/.exec(v.trim()) ?? []).slice(1).map((n) => Number(n ?? 0));
  const [a, b] = [parse(release), parse(min)];
  if (!b.length) throw new InvalidArgumentError(`seccomp profile: invalid minKernel "${min}"`);
  for (let i = 0; i < 3; i++) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  return true;
}

export interface SeccompContext {
  /** Go architecture name (goArch()) */
  arch: string;
  /** the container's bounding set: conditions on capabilities test it */
  capabilities: string[];
  /** os.release() */
  kernel: string;
}

function matches(filter: SeccompFilter, ctx: SeccompContext, mode: 'includes' | 'excludes'): boolean {
  if (mode === 'includes') {
    if (filter.arches?.length && !filter.arches.includes(ctx.arch)) return false;
    if (filter.caps?.length && !filter.caps.every((c) => ctx.capabilities.includes(c))) return false;
    if (filter.minKernel && !kernelAtLeast(ctx.kernel, filter.minKernel)) return false;
    return true;
  }
  if (filter.arches?.length && filter.arches.includes(ctx.arch)) return true;
  if (filter.caps?.length && filter.caps.some((c) => ctx.capabilities.includes(c))) return true;
  if (filter.minKernel && kernelAtLeast(ctx.kernel, filter.minKernel)) return true;
  return false;
}

function architectures(profile: SeccompProfile, arch: string): string[] | undefined {
  if (profile.architectures?.length && profile.archMap?.length) {
    throw new InvalidArgumentError("seccomp profile: 'architectures' and 'archMap' were both given; use one of them");
  }
  if (profile.architectures?.length) return [...profile.architectures];
  const native = NATIVE_SCMP[arch];
  const entry = profile.archMap?.find((a) => a.architecture === native);
  return entry ? [entry.architecture, ...(entry.subArchitectures ?? [])] : undefined;
}

/** The OCI form of `profile` for one container. */
export function seccompForSpec(profile: SeccompProfile, ctx: SeccompContext): Seccomp {
  const out: Seccomp = { defaultAction: profile.defaultAction };
  if (profile.defaultErrnoRet !== undefined) out.defaultErrnoRet = profile.defaultErrnoRet;
  const arches = architectures(profile, ctx.arch);
  if (arches) out.architectures = arches;
  if (profile.flags?.length) out.flags = [...profile.flags];
  if (profile.listenerPath) out.listenerPath = profile.listenerPath;
  if (profile.listenerMetadata) out.listenerMetadata = profile.listenerMetadata;
  const syscalls: SeccompSyscall[] = [];
  for (const rule of profile.syscalls ?? []) {
    if (rule.excludes && matches(rule.excludes, ctx, 'excludes')) continue;
    if (rule.includes && !matches(rule.includes, ctx, 'includes')) continue;
    const names = rule.names?.length ? rule.names : rule.name ? [rule.name] : [];
    if (!names.length) continue;
    const call: SeccompSyscall = { names: [...names], action: rule.action };
    if (rule.errnoRet !== undefined) call.errnoRet = rule.errnoRet;
    if (rule.args?.length) call.args = rule.args.map((a) => ({ ...a }));
    syscalls.push(call);
  }
  out.syscalls = syscalls;
  return out;
}

const ACTIONS = new Set<string>([
  'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP', 'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE', 'SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_NOTIFY',
]);
const OPERATORS = new Set<string>(['SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ']);

/** A profile file's text (Docker's format; the OCI form is a subset of it), checked. */
export function parseSeccompProfile(text: string, source = 'seccomp profile'): SeccompProfile {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new InvalidArgumentError(`decoding seccomp profile ${source} failed: ${errorMessage(err)}`);
  }
  const bad = (what: string): InvalidArgumentError => new InvalidArgumentError(`seccomp profile ${source}: ${what}`);
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw bad('not a JSON object');
  const p = doc as SeccompProfile;
  if (!ACTIONS.has(p.defaultAction)) throw bad(`unknown defaultAction ${JSON.stringify(p.defaultAction)}`);
  if (p.syscalls != null && !Array.isArray(p.syscalls)) throw bad('syscalls is not a list');
  for (const [i, rule] of (p.syscalls ?? []).entries()) {
    if (!rule || typeof rule !== 'object') throw bad(`syscalls[${i}] is not an object`);
    if (rule.name && rule.names?.length) throw bad(`syscalls[${i}] has both name and names`);
    const names = rule.names ?? (rule.name ? [rule.name] : []);
    if (!Array.isArray(names) || !names.every((n) => typeof n === 'string')) throw bad(`syscalls[${i}].names is not a list of names`);
    if (!ACTIONS.has(rule.action)) throw bad(`syscalls[${i}]: unknown action ${JSON.stringify(rule.action)}`);
    for (const arg of rule.args ?? []) {
      if (!OPERATORS.has(arg?.op) || !Number.isInteger(arg.index) || typeof arg.value !== 'number') {
        throw bad(`syscalls[${i}]: invalid argument filter ${JSON.stringify(arg)}`);
      }
    }
  }
  return p;
}

/**
 * `--security-opt seccomp=VALUE`: "unconfined" turns filtering off; anything else is a profile
 * file. No option (undefined) means the default profile.
 */
export function seccompProfileForOption(value: string | undefined, readFile: (file: string) => string = (f) => fs.readFileSync(f, 'utf8')): SeccompProfile | 'unconfined' {
  if (value === undefined || value === '') return DEFAULT_SECCOMP_PROFILE;
  if (value === 'unconfined') return 'unconfined';
  let text: string;
  try {
    text = readFile(value);
  } catch (err) {
    throw new InvalidArgumentError(`opening seccomp profile ${value} failed: ${errorMessage(err)}`);
  }
  return parseSeccompProfile(text, value);
}

/** The facts seccompForSpec needs about this machine. */
export function hostSeccompContext(capabilities: string[]): SeccompContext {
  return { arch: goArch(), capabilities, kernel: os.release() };
}
