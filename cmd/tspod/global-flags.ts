// Global flags (--log-level, --root, ...) may stand before the command, as in
// `tspod --root /x images`, or after it, as `tspod images --root /x`; Podman accepts both.
// The leading ones are taken off here, before clipanion sees the command line.
import { GlobalOptions } from '../../pkg/config/engine-config';

export interface GlobalFlagSpec {
  name: string;
  key: keyof GlobalOptions;
  description: string;
}

export const GLOBAL_FLAGS: GlobalFlagSpec[] = [
  { name: '--log-level', key: 'logLevel', description: 'Log messages at and above this level (trace, debug, info, warn, error)' },
  { name: '--root', key: 'root', description: 'Path to the root directory in which data, including images, is stored' },
  { name: '--runroot', key: 'runroot', description: 'Path to the runtime root directory in which runtime state is stored' },
  { name: '--storage-driver', key: 'storageDriver', description: 'Storage driver: overlay, fuse-overlayfs or vfs' },
  { name: '--runtime', key: 'runtime', description: 'OCI runtime to use: a name (runc, crun) or a path' },
];

export interface SplitArgs {
  globals: GlobalOptions;
  rest: string[];
  /** a leading global flag that is missing its value */
  missingValue?: string;
}

export function splitGlobalFlags(argv: string[]): SplitArgs {
  const globals: GlobalOptions = {};
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const spec = GLOBAL_FLAGS.find((f) => f.name === name);
    if (!spec) break;
    if (eq > 0) {
      globals[spec.key] = arg.slice(eq + 1);
    } else {
      if (i + 1 >= argv.length) return { globals, rest: [], missingValue: name };
      globals[spec.key] = argv[++i];
    }
  }
  return { globals, rest: argv.slice(i) };
}
