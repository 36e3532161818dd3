// Where tspod is installed (the directory holding dist/, native/ and node_modules/): the helper
// binaries and the native SQLite addon are found from here. Module paths cannot tell inside the
// start-up snapshot (its code was loaded from the build tree), so its main function sets it.
import { createRequire } from 'node:module';
import * as path from 'node:path';

let root = path.resolve(__dirname, '..', '..');

export function packageRoot(): string {
  return root;
}

/** Called by the snapshot's main function with the installed package's directory. */
export function setPackageRoot(dir: string): void {
  root = dir;
}

/** A helper binary of native/build. */
export function nativeBinary(name: string): string {
  return path.join(root, 'native', 'build', name);
}

/** require() of a module from tspod's node_modules at run time (a native addon cannot be in
 * the snapshot, and the snapshot's own require() loads only node's built-in modules). */
export function requireInstalled<T>(specifier: string): T {
  return createRequire(path.join(root, 'package.json'))(specifier) as T;
}
