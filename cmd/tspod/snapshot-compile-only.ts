// Compiles, at snapshot build time, the container start and removal functions that cannot run
// there (they need the database, the runtime, the monitor or mounts), so that the start-up
// snapshot holds their bytecode as it holds the trained functions' (snapshot-start-training.ts).
// V8 compiles a whole function at its first call, however far the call gets; so each one here
// is called with arguments (and `this`) that throw at their first use. Every function listed
// reads an argument before doing anything else (checked by hand: keep it so when adding one),
// and an error other than that first use fails the build's training, so a function changed to
// do work before reading its arguments is noticed rather than run.
import { RunCommand } from './container-run';
import { ContainerCreateCommand } from './container-create-options';
import { createContainer } from '../../pkg/container/container-create';
import { prepareStart, releaseStart } from '../../pkg/container/container-start';
import { removeContainer } from '../../pkg/container/container-remove';
import { cleanupContainer } from '../../pkg/container/container-exit';
import { exitCodeOf, waitForExit } from '../../pkg/container/container-stop';
import { ContainerStore } from '../../pkg/container/container-store';
import { ImageStore } from '../../pkg/image/image-store';
import { beginNetwork, planNetwork, tearDownNetwork } from '../../pkg/network/network-setup';
import { startMonitor } from '../../pkg/runtime/monitor-launch';

/** What every use of an untouchable argument throws. */
class ArgumentUsed extends Error {}

function refuse(): never {
  throw new ArgumentUsed('used at snapshot build time');
}

/** An argument any use of which throws: reading, setting, listing or calling it. */
const UNTOUCHABLE = new Proxy<object>(function untouchable() {}, {
  get: refuse,
  set: refuse,
  has: refuse,
  ownKeys: refuse,
  getOwnPropertyDescriptor: refuse,
  defineProperty: refuse,
  deleteProperty: refuse,
  getPrototypeOf: refuse,
  apply: refuse,
  construct: refuse,
}) as unknown as never;

export type AnyFunction = (this: never, ...args: never[]) => unknown;

/** Methods reached through their prototype: TypeScript's `private` is no barrier at run time. */
function method(cls: { prototype: object }, name: string): AnyFunction {
  return (cls.prototype as Record<string, AnyFunction>)[name];
}

/** Each first reads its first argument or `this` (see the header). */
const COMPILED_ONLY: AnyFunction[] = [
  createContainer,
  prepareStart,
  releaseStart,
  removeContainer,
  cleanupContainer,
  exitCodeOf,
  waitForExit,
  planNetwork,
  beginNetwork,
  tearDownNetwork,
  startMonitor,
  method(RunCommand, 'run'),
  method(RunCommand, 'startAndAttach'),
  method(RunCommand, 'removeIfAsked'),
  method(RunCommand, 'removeQuietly'),
  method(ContainerCreateCommand, 'createFromFlags'),
  method(ContainerStore, 'get'),
  method(ContainerStore, 'find'),
  method(ContainerStore, 'insert'),
  method(ContainerStore, 'update'),
  method(ImageStore, 'get'),
  method(ImageStore, 'byName'),
  method(ImageStore, 'hydrate'),
];

function expectArgumentUsed(err: unknown): void {
  if (!(err instanceof ArgumentUsed)) throw err;
}

/** Calls each function on untouchable arguments; resolves once all have stopped at their
 * first use, rejects when one finished or failed otherwise. */
export async function compileOnly(functions: readonly AnyFunction[]): Promise<void> {
  const pending: Promise<void>[] = [];
  for (const fn of functions) {
    const finished = (): never => {
      throw new Error(`snapshot training: ${fn.name} finished without using its arguments`);
    };
    let result: unknown;
    try {
      result = fn.call(UNTOUCHABLE, UNTOUCHABLE, UNTOUCHABLE, UNTOUCHABLE, UNTOUCHABLE);
    } catch (err) {
      expectArgumentUsed(err);
      continue;
    }
    if (!(result instanceof Promise)) finished();
    pending.push((result as Promise<unknown>).then(finished, expectArgumentUsed));
  }
  await Promise.all(pending);
}

export function compileStartFunctions(): Promise<void> {
  return compileOnly(COMPILED_ONLY);
}
