// Clipanion's parser for one command, built for a short-lived process. Clipanion compiles every
// registered command into a state machine and then "simplifies" it: it folds each node's
// shortcut (epsilon) transitions into copies of its targets' transitions, for every node, on
// every process() call. With run's hundred-odd options that is 370 nodes with ~200 option
// transitions each: 15-30 ms, more than the rest of the parsing. A command line visits a
// handful of those nodes, so here a node is folded the first time the parser reaches it.
import { Cli, CommandClass } from 'clipanion';
import { END_OF_INPUT } from 'clipanion/lib/constants';
import { makeAnyOfMachine, runMachineInternal, selectBestState, RunState, StateMachine } from 'clipanion/lib/core';
import { TSPOD_VERSION } from '../../pkg/version';
import type { CommandFlags } from './short-flags';

type MachineNode = StateMachine['nodes'][number];

interface CompiledParser {
  machine: StateMachine;
  contexts: unknown[];
  process: (input: string[]) => RunState;
  suggest: (input: string[], partial: boolean) => string[][];
}

interface ParserBuilder {
  builders: { compile(): { machine: StateMachine; context: unknown }; options: { names: string[]; arity: number }[] }[];
  compile(): CompiledParser;
}

function builderOf(cli: Cli): ParserBuilder {
  return (cli as unknown as { builder: ParserBuilder }).builder;
}

/** The flags of the commands a parser knows, from clipanion's own option records. */
export function commandFlags(cli: Cli): CommandFlags {
  const flags: CommandFlags = { withValue: new Set(), boolean: new Set() };
  for (const { options } of builderOf(cli).builders) {
    for (const { names, arity } of options) for (const name of names) (arity > 0 ? flags.withValue : flags.boolean).add(name);
  }
  return flags;
}

/** Clipanion's simplification of one node: the same folding, for this node alone. */
function foldShortcuts(nodes: MachineNode[], index: number): void {
  const node = nodes[index];
  const seen = new Set(node.shortcuts.map(({ to }) => to));
  while (node.shortcuts.length > 0) {
    const target = nodes[node.shortcuts.shift()!.to];
    for (const [segment, transitions] of Object.entries(target.statics)) {
      const store = Object.prototype.hasOwnProperty.call(node.statics, segment) ? node.statics[segment] : (node.statics[segment] = []);
      for (const transition of transitions) if (!store.some(({ to }) => transition.to === to)) store.push(transition);
    }
    for (const [test, transition] of target.dynamics) {
      if (!node.dynamics.some(([otherTest, { to }]) => test === otherTest && transition.to === to)) node.dynamics.push([test, transition]);
    }
    for (const transition of target.shortcuts) {
      if (!seen.has(transition.to)) {
        node.shortcuts.push(transition);
        seen.add(transition.to);
      }
    }
  }
}

function foldOnFirstVisit(machine: StateMachine): void {
  const nodes = machine.nodes;
  const folded = new Set<number>();
  machine.nodes = new Proxy(nodes, {
    get(target, key, receiver) {
      if (typeof key === 'string') {
        const index = Number(key);
        if (Number.isInteger(index) && index >= 0 && index < target.length && !folded.has(index)) {
          folded.add(index);
          foldShortcuts(target, index);
        }
      }
      return Reflect.get(target, key, receiver);
    },
  });
}

/** Installs the lazily folded parser on cli, compiled once; clipanion's own compile() stays
 * available for its suggestions. */
function compileOnce(cli: Cli): void {
  const builder = builderOf(cli);
  const original = builder.compile.bind(builder);
  const parts = builder.builders.map((b) => b.compile());
  // One command's machine already starts at the initial node: no union (a copy of every node) needed.
  const machine = parts.length === 1 ? parts[0].machine : makeAnyOfMachine(parts.map((p) => p.machine));
  foldOnFirstVisit(machine);
  const compiled: CompiledParser = {
    machine,
    contexts: parts.map((p) => p.context),
    process: (input) => selectBestState(input, runMachineInternal(machine, [...input, END_OF_INPUT]).map(({ state }) => state)),
    suggest: (input, partial) => original().suggest(input, partial),
  };
  builder.compile = () => compiled;
}

/** The longest registered command path that the arguments start with. */
export function matchedPath(classes: CommandClass[], args: string[]): string[] {
  let best: string[] = [];
  for (const cls of classes) {
    for (const p of cls.paths ?? []) {
      if (p.length > best.length && p.every((w, i) => args[i] === w)) best = p;
    }
  }
  return best;
}

/** The classes registered under exactly this path: clipanion's parser grows with every
 * registered command (~3 ms each), so only the typed one is registered. */
export function typedClasses(classes: CommandClass[], path: string[]): CommandClass[] {
  return classes.filter((c) => c.paths?.some((p) => p.length === path.length && p.every((w, i) => w === path[i])));
}

// One command's parser is built once and reused (parsing keeps no state in it, and nodes stay
// folded): the parsers that snapshot-training.ts builds are in the start-up snapshot, already
// compiled and folded along the common command lines, which saves ps, images and run ~2-3 ms.
const parsers = new Map<CommandClass, Cli>();

export function parserFor(classes: CommandClass[]): Cli {
  if (classes.length !== 1) return newCli(classes);
  let cli = parsers.get(classes[0]);
  if (cli === undefined) parsers.set(classes[0], (cli = newCli(classes)));
  return cli;
}

export function newCli(classes: CommandClass[]): Cli {
  const cli = new Cli({ binaryName: 'tspod', binaryLabel: 'tspod', binaryVersion: TSPOD_VERSION, enableColors: false, enableCapture: false });
  for (const cls of classes) cli.register(cls);
  compileOnce(cli);
  return cli;
}
