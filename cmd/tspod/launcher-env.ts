// What the C launcher changed in this process's environment for node alone (native/launcher.c):
// node runs with malloc on transparent huge pages (GLIBC_TUNABLES), which makes reading the
// start-up snapshot cheaper but is no setting for the programs tspod starts (runtimes, monitors,
// helpers, a nested tspod). The user's own value waits in _TSPOD_GLIBC_TUNABLES: "=VALUE", or ""
// when the user had none.
export function restoreUserEnv(env: NodeJS.ProcessEnv = process.env): void {
  const saved = env._TSPOD_GLIBC_TUNABLES;
  if (saved === undefined) return;
  delete env._TSPOD_GLIBC_TUNABLES;
  if (saved.startsWith('=')) env.GLIBC_TUNABLES = saved.slice(1);
  else delete env.GLIBC_TUNABLES;
}

/** The launcher's record of fds 0-2 as node got them (native/launcher.c's record_stdio), taken
 * out of the environment: the programs tspod starts have stdio of their own. */
export function takeStdioRecord(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const record = env._TSPOD_STDIO;
  delete env._TSPOD_STDIO;
  return record;
}
