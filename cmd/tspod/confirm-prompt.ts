// The y/N question prune and reset commands ask before they remove anything.
import * as readline from 'node:readline';

/** Asks on stdout (as Docker and Podman do), reads one line from stdin; anything but y/yes (or end of input) is no. */
export async function confirm(question: string): Promise<boolean> {
  process.stdout.write(question);
  const rl = readline.createInterface({ input: process.stdin, terminal: false });
  try {
    const answer = await new Promise<string>((resolve) => {
      rl.once('line', resolve);
      rl.once('close', () => resolve(''));
    });
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
