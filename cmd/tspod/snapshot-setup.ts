// What a start-up snapshot's entry does at build time (native/build-snapshot.js bundles each
// entry and runs it under `node --build-snapshot`; the launcher then execs `node --snapshot-blob
// dist/<blob> -- ARGS`). Node deserializes a heap that holds the whole bundle's source, with the
// chosen command groups' modules (and the entry's own imports) already initialized, so a command
// starts without resolving, reading or compiling ~150 files.
// What runs here at build time must not capture anything of the build machine's process (env,
// cwd, clock, open files): module top levels only define things, and the main function below
// reads its inputs when the command runs.
import * as path from 'node:path';
import { startupSnapshot } from 'node:v8';
import { runCli } from './cli';
import { COMMAND_GROUPS } from './commands';
import { DirTraining, trainCommonPaths } from './snapshot-training';
import { setPackageRoot } from '../../pkg/package-root';

/** The blob is <pkgroot>/dist/<name>.blob: the package root is where this run found it. */
function packageRootFromBlob(): string | undefined {
  const args = process.execArgv;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const blob = a === '--snapshot-blob' ? args[i + 1] : a.startsWith('--snapshot-blob=') ? a.slice('--snapshot-blob='.length) : undefined;
    if (blob) return path.resolve(path.dirname(blob), '..');
  }
  return undefined;
}

/**
 * Loads these command groups, trains the parsers on these command lines and the common paths
 * (snapshot-training.ts), then `more`, and makes the CLI the snapshot's main function. A group
 * left out still works from the snapshot: its modules initialize from the bundle when it is typed.
 */
export function prepareSnapshot(groups: readonly string[], commandLines: readonly string[][], more?: DirTraining): void {
  Promise.all(groups.map((name) => COMMAND_GROUPS[name].load()))
    .then(() => trainCommonPaths(commandLines, more))
    .then(() => {
      startupSnapshot.setDeserializeMainFunction(() => {
        const root = packageRootFromBlob();
        if (root) setPackageRoot(root);
        runCli(process.argv.slice(1));
      });
    });
}
