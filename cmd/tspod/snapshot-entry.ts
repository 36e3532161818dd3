// The start-up snapshot's entry (native/build-snapshot.js bundles it and runs it under
// `node --build-snapshot`; the launcher then execs `node --snapshot-blob dist/tspod.blob -- ARGS`).
// Node deserializes a heap that holds the whole bundle's source, with the daily commands' modules
// (and native/build-snapshot.js's PRELOADED ones) already initialized, so a command starts
// without resolving, reading or compiling ~150 files.
// What runs here at build time must not capture anything of the build machine's process (env,
// cwd, clock, open files): module top levels only define things, and the main function below
// reads its inputs when the command runs.
import * as path from 'node:path';
import { startupSnapshot } from 'node:v8';
import { runCli } from './cli';
import { COMMAND_GROUPS } from './commands';
import { trainCommonPaths } from './snapshot-training';
import { setPackageRoot } from '../../pkg/package-root';

/** The blob is <pkgroot>/dist/tspod.blob: the package root is where this run found it. */
function packageRootFromBlob(): string | undefined {
  const args = process.execArgv;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const blob = a === '--snapshot-blob' ? args[i + 1] : a.startsWith('--snapshot-blob=') ? a.slice('--snapshot-blob='.length) : undefined;
    if (blob) return path.resolve(path.dirname(blob), '..');
  }
  return undefined;
}

// Initialized at build time. Every start deserializes what they add to the heap (all ~60 groups:
// +170 KB of blob, ~0.7 ms for every command), while a group left out initializes its modules
// from the bundle when typed, which measured no slower (`volume ls`).
// `container` because every container's exit runs `tspod container cleanup` (its whole group).
const DAILY_GROUPS = ['run', 'create', 'exec', 'ps', 'logs', 'inspect', 'start', 'stop', 'rm', 'images', 'pull', 'version', 'rmi', 'tag', 'container'];

async function loadDailyCommands(): Promise<void> {
  await Promise.all(DAILY_GROUPS.map((name) => COMMAND_GROUPS[name].load()));
}

loadDailyCommands()
  .then(trainCommonPaths)
  .then(() => {
    startupSnapshot.setDeserializeMainFunction(() => {
      const root = packageRootFromBlob();
      if (root) setPackageRoot(root);
      runCli(process.argv.slice(1));
    });
  });
