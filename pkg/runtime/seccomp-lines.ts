// The OCI seccomp section as the lines native/seccomp-bpf.c reads (its header describes them),
// with crun's defaults applied: a missing errnoRet is EPERM, a missing valueTwo 0. Sections the
// helper must not compile give undefined, and crun then compiles them itself: a notify listener
// (the BPF annotation cannot carry one), and anything crun would reject (an errno on an action
// that has none, an argument index past 5), so that its own error reaches the user.
import { Seccomp, SeccompAction, SeccompArg } from './oci-spec-types';

const EPERM = 1;
const ACTIONS_WITH_ERRNO: readonly SeccompAction[] = ['SCMP_ACT_ERRNO', 'SCMP_ACT_TRACE'];

/** "ACTION ERRNO", or undefined when crun would refuse the errno. */
function actionWords(action: SeccompAction, errnoRet: number | undefined): string | undefined {
  if (action === 'SCMP_ACT_NOTIFY') return undefined;
  if (errnoRet !== undefined && !ACTIONS_WITH_ERRNO.includes(action)) return undefined;
  const errno = errnoRet ?? EPERM;
  if (!isUint(errno, 0xffffffff)) return undefined;
  return `${action} ${errno}`;
}

/** JSON numbers beyond 2^53 have lost their digits: leave those sections to crun. */
function isUint(n: unknown, max = Number.MAX_SAFE_INTEGER): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0 && n <= max;
}

function argLine(arg: SeccompArg): string | undefined {
  const valueTwo = arg.valueTwo ?? 0;
  if (!isUint(arg.index, 5) || !isUint(arg.value) || !isUint(valueTwo) || !/^SCMP_CMP_[A-Z_]+$/.test(arg.op)) return undefined;
  return `arg ${arg.index} ${arg.op} ${arg.value} ${valueTwo}`;
}

const WORD = /^[A-Za-z0-9_]+$/;

export function seccompLines(seccomp: Seccomp): string | undefined {
  if (seccomp.listenerPath) return undefined;
  const defaultWords = actionWords(seccomp.defaultAction, seccomp.defaultErrnoRet);
  if (!defaultWords) return undefined;
  const lines = [`default ${defaultWords}`];
  for (const arch of seccomp.architectures ?? []) {
    if (!WORD.test(arch)) return undefined;
    lines.push(`arch ${arch}`);
  }
  for (const call of seccomp.syscalls ?? []) {
    const words = actionWords(call.action, call.errnoRet);
    if (!words) return undefined;
    lines.push(`rule ${words}`);
    // crun reads the first six conditions only
    for (const arg of (call.args ?? []).slice(0, 6)) {
      const line = argLine(arg);
      if (!line) return undefined;
      lines.push(line);
    }
    for (const name of call.names) {
      // a name that is no word cannot be a syscall: crun skips it as unknown
      if (WORD.test(name)) lines.push(`name ${name}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
