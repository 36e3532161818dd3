// Turns clipanion's multi-line parse errors into the one line a Docker user expects,
// with a "did you mean" hint for misspelled commands.
import { errorMessage } from '../../pkg/errors';
import { editDistance } from '../../pkg/format/edit-distance';

export function suggest(word: string, choices: string[]): string[] {
  const scored = choices
    .map((c) => ({ c, d: c.startsWith(word) || word.startsWith(c) ? 1 : editDistance(word, c) }))
    .filter(({ c, d }) => d <= Math.max(2, Math.floor(c.length / 3)))
    .sort((x, y) => x.d - y.d || x.c.localeCompare(y.c));
  return scored.slice(0, 3).map(({ c }) => c);
}

export function unknownCommandMessage(words: string[], choices: string[]): string {
  const typed = words.join(' ');
  const hints = suggest(words[words.length - 1], choices);
  const hint = hints.length ? `; did you mean ${hints.map((h) => `'${h}'`).join(' or ')}?` : '';
  return `unrecognized command 'tspod ${typed}'${hint} See 'tspod --help'.`;
}

/** The reason clipanion gives, reworded as Docker and Podman word it. */
export function parseErrorMessage(err: unknown, commandPath: string): string {
  const candidates = (err as { candidates?: { reason: string | null }[] }).candidates;
  const reason = candidates?.find((c) => c.reason)?.reason ?? errorMessage(err).split('\n')[0];
  const see = ` See 'tspod ${commandPath} --help'.`;
  let m = /^Unsupported option name \("(.*)"\)\.$/.exec(reason);
  if (m) return `unknown flag: ${m[1]}.${see}`;
  m = /^Invalid option name \("(.*)"\)\.$/.exec(reason);
  if (m) return `unknown shorthand flag: ${m[1]}.${see}`;
  m = /^Not enough arguments to option (.*)\.$/.exec(reason);
  if (m) return `flag needs an argument: ${m[1]}.${see}`;
  if (reason.startsWith('Not enough positional arguments')) return `"tspod ${commandPath}" requires more arguments.${see}`;
  m = /^Extraneous positional argument \("(.*)"\)\.$/.exec(reason);
  if (m) return `"tspod ${commandPath}" accepts no argument "${m[1]}" here.${see}`;
  return `${reason.replace(/\.$/, '')}.${see}`;
}
