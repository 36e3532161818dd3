// `inspect`: any object by name. Each kind of object registers an Inspector; a name is looked
// up in INSPECTORS order (Docker's: containers before images, so a container named like an
// image wins) unless --type picks one kind. Add containers, volumes and networks by putting
// their Inspector in that list.
import { Command, Option } from 'clipanion';
import { TspodCommand } from './tspod-command';
import { formatObject } from './output-format';
import { InvalidArgumentError } from '../../pkg/errors';
import type { Engine } from '../../pkg/engine/engine';

export interface InspectOptions {
  /** -s/--size: containers add SizeRw and SizeRootFs */
  size?: boolean;
}

export interface Inspector {
  /** the --type word */
  type: string;
  /** the inspect document of the object `name` finds, or undefined when there is none of this type */
  lookup(engine: Engine, name: string, opts?: InspectOptions): Promise<unknown | undefined>;
}

/** In lookup order. */
async function inspectors(): Promise<Inspector[]> {
  return [(await import('./container-inspect')).containerInspector, (await import('./image-inspect')).imageInspector, (await import('./volume')).volumeInspector, (await import('./network')).networkInspector];
}

/**
 * Prints the documents found (a JSON array with 4-space indents like Podman, or each through
 * the --format template), then one `Error:` line per problem. Returns the exit code.
 */
export function printInspected(found: unknown[], problems: string[], format: string | undefined): number {
  if (format === undefined || format.trim() === 'json') {
    process.stdout.write(`${JSON.stringify(found, null, 4)}\n`);
  } else {
    for (const doc of found) process.stdout.write(formatObject(format, doc));
  }
  for (const p of problems) process.stderr.write(`Error: ${p}\n`);
  return problems.length > 0 ? 125 : 0;
}

/**
 * Looks each name up with the inspectors, in order, and prints what was found, then one error
 * line per name that nothing found. Returns the exit code.
 */
export function inspectNames(
  cmd: TspodCommand,
  chosen: Inspector[],
  names: string[],
  opts: { format?: string; size?: boolean; notFound: (name: string) => string },
): Promise<number> {
  return cmd.withEngine(async (engine) => {
    const found: unknown[] = [];
    const problems: string[] = [];
    for (const name of names) {
      let doc: unknown;
      for (const inspector of chosen) {
        doc = await inspector.lookup(engine, name, { size: opts.size });
        if (doc !== undefined) break;
      }
      if (doc !== undefined) found.push(doc);
      else problems.push(opts.notFound(name));
    }
    return printInspected(found, problems, opts.format);
  });
}

export class InspectCommand extends TspodCommand {
  static override paths = [['inspect']];
  static override usage = Command.Usage({
    description: 'Display the configuration of objects',
    details: 'Looks each name up as every kind of object tspod knows, unless --type names one, and prints a JSON array of what it found.',
    examples: [
      ['Inspect an image', 'tspod inspect busybox'],
      ['Only look among images', 'tspod inspect --type image busybox'],
      ['Print one field', "tspod inspect --format '{{.Id}}' busybox"],
    ],
  });

  type = Option.String('-t,--type', 'all', { description: 'Only look for this kind of object (container, image, or all)' });
  format = Option.String('-f,--format', { description: 'Format the output with a Go template, or `json`' });
  size = Option.Boolean('-s,--size', false, { description: 'Display total file size (containers)' });
  names = Option.Rest({ required: 1 });

  async run(): Promise<number> {
    const all = await inspectors();
    const types = all.map((i) => i.type);
    if (this.type !== 'all' && !types.includes(this.type)) {
      throw new InvalidArgumentError(`invalid type "${this.type}": must be ${[...types, 'all'].map((t) => `"${t}"`).join(' or ')}`);
    }
    const chosen = this.type === 'all' ? all : all.filter((i) => i.type === this.type);
    const kind = this.type === 'all' ? 'object' : this.type;
    return inspectNames(this, chosen, this.names, { format: this.format, size: this.size, notFound: (name) => `no such ${kind}: ${name}` });
  }
}
