// Compiles functions at snapshot build time without doing their work, so that the start-up
// snapshot holds their bytecode as it holds the trained ones' (snapshot-training.ts): for what
// cannot run there (it needs the database, the runtime, the monitor, mounts or the terminal).
// V8 compiles a whole function at its first call, however far the call gets; so each one is
// called with arguments (and `this`) that throw at their first use. Every function given must
// read an argument before doing anything else (checked by hand: keep it so when adding one); a
// call that ends any other way than at that first use (or at a Node API refusing it as an
// argument) fails the training, so a function changed to do work first is noticed, not run.

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

/** A method reached through its prototype: TypeScript's `private` is no barrier at run time. */
export function method(cls: { prototype: object }, name: string): AnyFunction {
  const fn = (cls.prototype as Record<string, AnyFunction>)[name];
  if (typeof fn !== 'function') throw new Error(`snapshot training: ${name} is no method`);
  return fn;
}

/** The proxy itself, or a Node API that refused it (fs, path: a string was expected). */
function expectArgumentUsed(err: unknown): void {
  if (err instanceof ArgumentUsed || (err as NodeJS.ErrnoException)?.code === 'ERR_INVALID_ARG_TYPE') return;
  throw err;
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
