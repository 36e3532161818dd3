// pflag (Docker) and Podman read `-t0`, `-n5` or `-p8080:80` as a short flag with its value
// glued on, and `-dp 80:80` or `-an1` as boolean flags followed by one that takes a value.
// Clipanion reads a token of several letters after one dash as a batch of boolean flags: it
// refuses `stop -t0` and takes `ps -an1` as -n without a value. So the leading options of a
// command line are split here as pflag splits them, before clipanion sees them; options after
// the first positional argument are left alone (they may be the container command's own).
// Clipanion also refuses `--NAME=VALUE` when NAME has a digit (`--ip6=fd00::5`, `--ipv6=true`):
// those are split into `--NAME VALUE` here, or for a flag without a value into `--NAME` or
// `--no-NAME`, as pflag reads its booleans.

/** A command's flags (command-parser.ts's commandFlags reads them off the parser). */
export interface CommandFlags {
  /** flags that take a value, e.g. "-t", "--time" */
  withValue: Set<string>;
  /** flags that take none */
  boolean: Set<string>;
}

/**
 * TOKEN (e.g. "-t0", "-dp", "-ip8080:80") as pflag splits it: boolean flags one by one until
 * a flag that takes a value, which takes the rest of the token when there is a rest. Undefined
 * when some letter is no flag of the command (the parser then reports the token as it is).
 */
export function splitShortFlags(token: string, flags: CommandFlags): string[] | undefined {
  const out: string[] = [];
  for (let i = 1; i < token.length; i++) {
    const flag = `-${token[i]}`;
    if (flags.withValue.has(flag)) {
      out.push(flag);
      if (i + 1 < token.length) out.push(token.slice(i + 1).replace(/^=/, ''));
      return out;
    }
    if (!flags.boolean.has(flag)) return undefined;
    out.push(flag);
  }
  return out;
}

/** Some leading option is a single-dash token of two letters or more, or a `--NAME=VALUE`
 * with a digit in NAME: only then is splitting worth reading the parser's flags. */
export function hasShortFlagBatch(args: string[], start: number): boolean {
  for (let i = start; i < args.length && args[i].startsWith('-') && args[i] !== '--'; i++) {
    if (/^-[^-]./.test(args[i])) return true;
  }
  // Options that take a value interrupt the run of leading dashes above: look further for these.
  for (let i = start; i < args.length && args[i] !== '--'; i++) if (DIGIT_BINDING.test(args[i])) return true;
  return false;
}

const DIGIT_BINDING = /^(--[a-z-]*\d[a-z0-9-]*)=([\s\S]*)$/;
const TRUE = ['1', 't', 'T', 'true', 'TRUE', 'True'];
const FALSE = ['0', 'f', 'F', 'false', 'FALSE', 'False'];

/** `--ip6=ADDR` -> `--ip6 ADDR`; `--ipv6=true` -> `--ipv6`, `--ipv6=false` -> `--no-ipv6`. */
function splitDigitBinding(token: string, flags: CommandFlags): string[] {
  const m = DIGIT_BINDING.exec(token);
  if (!m) return [token];
  const [, name, value] = m;
  if (flags.withValue.has(name)) return [name, value];
  if (flags.boolean.has(name) && TRUE.includes(value)) return [name];
  if (flags.boolean.has(name) && FALSE.includes(value)) return [`--no-${name.slice(2)}`];
  return [token];
}

/** ARGS with the leading options from START on split as pflag splits them. */
export function splitLeadingShortFlags(args: string[], start: number, flags: CommandFlags): string[] {
  const out = args.slice(0, start);
  let i = start;
  while (i < args.length) {
    const token = args[i];
    // The first positional (or --): the rest belongs to it.
    if (token === '--' || token === '-' || !token.startsWith('-')) break;
    i++;
    const parts = token.startsWith('--') ? splitDigitBinding(token, flags) : (splitShortFlags(token, flags) ?? [token]);
    out.push(...parts);
    const last = parts[parts.length - 1];
    // A flag that takes a value and did not get it glued on takes the next word, whatever it is.
    const gotValue = parts.length > 1 && !last.startsWith('-');
    if (!gotValue && flags.withValue.has(last) && i < args.length) out.push(args[i++]);
  }
  return [...out, ...args.slice(i)];
}
