import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { transferDisplay } from '../../cmd/tspod/transfer-display';

/** What a terminal shows for what was written: cursor-up, clear-line and clear-below applied. */
function screen(written: string): string[] {
  const lines: string[] = [];
  let row = 0;
  for (const part of written.split(/(\x1b\[\d*[AJK])/)) {
    const m = /^\x1b\[(\d*)([AJK])$/.exec(part);
    if (m) {
      if (m[2] === 'A') row -= Number(m[1] || 1);
      else if (m[2] === 'J') lines.length = row;
      else lines[row] = '';
      continue;
    }
    for (const [i, chunk] of part.split('\n').entries()) {
      if (i > 0) row++;
      if (chunk) lines[row] = (lines[row] ?? '') + chunk;
    }
  }
  return lines.slice(0, row);
}

function fakeTty(): { out: NodeJS.WriteStream; text: () => string } {
  let written = '';
  const out = new Writable({ write: (chunk, _enc, done) => ((written += chunk.toString()), done()) }) as unknown as NodeJS.WriteStream;
  out.isTTY = true;
  return { out, text: () => written };
}

const digest = `sha256:${'a'.repeat(64)}`;

test('on a terminal, finished blobs stay above the messages that follow, in order', () => {
  const { out, text } = fakeTty();
  const show = transferDisplay(false, out);
  show({ kind: 'message', text: 'Getting image source signatures' });
  show({ kind: 'blob-start', what: 'blob', digest, size: 100 });
  show({ kind: 'blob-progress', digest, done: 50 });
  show({ kind: 'blob-done', what: 'blob', digest });
  show({ kind: 'message', text: 'Writing manifest to image destination' });
  assert.deepEqual(screen(text()), ['Getting image source signatures', 'Copying blob aaaaaaaaaaaa done', 'Writing manifest to image destination']);
});

test('without a terminal, plain lines; with -q, nothing', () => {
  const plain = fakeTty();
  plain.out.isTTY = false;
  const show = transferDisplay(false, plain.out);
  show({ kind: 'blob-start', what: 'blob', digest, size: 100 });
  show({ kind: 'blob-done', what: 'blob', digest });
  show({ kind: 'message', text: 'Writing manifest to image destination' });
  assert.equal(plain.text(), 'Copying blob aaaaaaaaaaaa done\nWriting manifest to image destination\n');
  const quiet = fakeTty();
  transferDisplay(true, quiet.out)({ kind: 'message', text: 'x' });
  assert.equal(quiet.text(), '');
});
