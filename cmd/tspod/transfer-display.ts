// Shows pull/push progress: one bar per blob on a terminal (redrawn in place), one plain
// line per finished blob otherwise (logs, CI), and nothing with -q. Always on stderr, so
// stdout carries only the result (the image ID), as Podman does.
import { TransferEvent, TransferListener } from '../../pkg/image/transfer-events';

interface BlobLine {
  what: string;
  digest: string;
  size: number;
  done: number;
  finished?: string;
}

const BAR_WIDTH = 30;

function short(digest: string): string {
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

function mib(n: number): string {
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)}KiB`;
  return `${(n / 1024 / 1024).toFixed(1)}MiB`;
}

function renderLine(b: BlobLine): string {
  const label = `Copying ${b.what} ${short(b.digest)}`;
  if (b.finished) return `${label} ${b.finished}`;
  const frac = b.size > 0 ? Math.min(1, b.done / b.size) : 0;
  const filled = Math.floor(frac * BAR_WIDTH);
  const bar = '='.repeat(filled) + (filled < BAR_WIDTH ? '>' : '') + ' '.repeat(Math.max(0, BAR_WIDTH - filled - 1));
  return `${label} [${bar}] ${mib(b.done)} / ${mib(b.size)}`;
}

function finishedText(e: Extract<TransferEvent, { kind: 'blob-done' }>): string {
  if (e.skipped === 'exists') return 'skipped: already exists';
  if (e.skipped === 'mounted') return 'skipped: mounted from another repository';
  return 'done';
}

/** Plain lines: a message as it comes, a blob when it is finished. */
function plainListener(out: NodeJS.WritableStream): TransferListener {
  return (e) => {
    if (e.kind === 'message') out.write(`${e.text}\n`);
    else if (e.kind === 'blob-done') out.write(`Copying ${e.what} ${e.digest.replace(/^sha256:/, '').slice(0, 12)} ${finishedText(e)}\n`);
  };
}

/** Bars redrawn in place at most every 100 ms; messages scroll above them. */
function ttyListener(out: NodeJS.WriteStream): TransferListener {
  let blobs: BlobLine[] = [];
  let drawn = 0;
  let lastDraw = 0;
  const redraw = (force: boolean) => {
    const now = Date.now();
    if (!force && now - lastDraw < 100) return;
    lastDraw = now;
    let text = drawn > 0 ? `\x1b[${drawn}A` : '';
    for (const b of blobs) text += `\x1b[2K${renderLine(b)}\n`;
    drawn = blobs.length;
    out.write(text);
  };
  return (e) => {
    if (e.kind === 'message') {
      // Messages go above the bars: clear the bars, print what is finished for good (so the
      // lines read in order, as Podman's do: "Copying blob ... done", then "Writing manifest"),
      // the message, and redraw what is still moving.
      const finished = blobs.filter((x) => x.finished);
      const text = [...finished.map((x) => renderLine(x)), e.text].map((line) => `\x1b[2K${line}\n`).join('');
      out.write((drawn > 0 ? `\x1b[${drawn}A\x1b[0J` : '') + text);
      blobs = blobs.filter((x) => !x.finished);
      drawn = 0;
      redraw(true);
      return;
    }
    if (e.kind === 'blob-start') {
      blobs.push({ what: e.what, digest: e.digest, size: e.size, done: 0 });
      redraw(true);
      return;
    }
    const b = blobs.find((x) => x.digest === e.digest);
    if (!b) return;
    if (e.kind === 'blob-progress') {
      b.done = e.done;
      redraw(false);
    } else {
      b.done = b.size;
      b.finished = finishedText(e);
      redraw(true);
    }
  };
}

export function transferDisplay(quiet: boolean, out: NodeJS.WriteStream = process.stderr): TransferListener {
  if (quiet) return () => undefined;
  return out.isTTY ? ttyListener(out) : plainListener(out);
}
