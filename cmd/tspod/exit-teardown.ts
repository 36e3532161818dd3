// The end of every command, sped up by a small addon (native/exit-fast.c says how): the freeing
// of the process's memory is handed to a helper that shares it, and a command that ends with
// process.exit() skips Node's own teardown. 3-5 ms sooner for the shell or unit waiting for tspod.
import { exitFastAddon as exitFast } from '../../pkg/host/exit-fast-addon';

/** Profilers and coverage write their files in Node's teardown: it must run for them. */
function nodeTeardownWanted(): boolean {
  return process.env.NODE_V8_COVERAGE !== undefined || process.execArgv.some((a) => /^--(cpu-prof|heap-prof|prof)\b/.test(a));
}

/**
 * Installs both. STDIO: the launcher's record of fds 0-2 (launcher-env.ts); without it, or with
 * a terminal among them, process.exit() stays Node's.
 */
export function speedUpExit(stdio: string | undefined): void {
  process.on('exit', () => exitFast()?.detachTeardown());
  if (stdio === undefined || nodeTeardownWanted()) return;
  const proc = process as unknown as { reallyExit(code: number): void };
  const nodeExit = proc.reallyExit;
  // process.exit() runs the 'exit' listeners, then this: exitNow does not return unless it cannot.
  proc.reallyExit = (code: number) => {
    exitFast()?.exitNow(code, stdio);
    nodeExit.call(process, code);
  };
}
