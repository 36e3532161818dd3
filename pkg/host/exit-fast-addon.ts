// The addon that speeds up the end of every command (native/exit-fast.c; used by
// cmd/tspod/exit-teardown.ts), loaded once. Its dlopen costs ~0.5 ms: a command that is about to
// wait anyway has it loaded in that wait rather than at its exit.
import * as fs from 'node:fs';
import { nativeBinary } from '../package-root';

export interface ExitFastAddon {
  detachTeardown(): boolean;
  exitNow(code: number, stdio: string): boolean;
}

let addon: ExitFastAddon | null | undefined;

/** Null when it is not there: it is built only where node's headers were found, and one built
 * for another node does not load. */
export function exitFastAddon(): ExitFastAddon | null {
  if (addon !== undefined) return addon;
  addon = null;
  const file = nativeBinary('exit-fast.node');
  if (fs.existsSync(file)) {
    const loaded = { exports: {} as ExitFastAddon };
    try {
      process.dlopen(loaded, file);
      addon = loaded.exports;
    } catch {
      // exits as Node does
    }
  }
  return addon;
}

/** Loads it at the event loop's next turn: for a caller that is about to wait. */
export function loadExitFastAddonSoon(): void {
  if (addon === undefined) setImmediate(exitFastAddon);
}
