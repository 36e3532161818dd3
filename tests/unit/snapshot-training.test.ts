// The start-up snapshot's training (cmd/tspod/snapshot-*-training.ts) runs at build time, where a
// failure would leave tspod without its snapshots: it must run to its end on its made-up data,
// and leave nothing behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { trainCommonPaths } from '../../cmd/tspod/snapshot-training';
import { trainStartPath } from '../../cmd/tspod/snapshot-start-training';
import { AnyFunction, compileOnly } from '../../cmd/tspod/snapshot-compile-only';
import { trainMonitorExchanges } from '../../cmd/tspod/snapshot-monitor-training';
import { establishedHelperServer, runOnHelperServer } from '../../pkg/storage/helper-server';

const leftovers = (): string[] => fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith('tspod-snapshot-'));

test('the common and container start paths train to their end and remove their directory', async () => {
  const before = leftovers();
  await trainCommonPaths([['ps', '-a'], ['run', '--rm', 'image', 'cmd']], trainStartPath);
  assert.deepEqual(leftovers(), before);
});

test('compile-only calls stop at the first use of an argument', async () => {
  const usesArgument = ((engine: { db: unknown }) => engine.db) as unknown as AnyFunction;
  const usesThis = async function (this: { rm: boolean }) {
    return this.rm;
  } as unknown as AnyFunction;
  await compileOnly([usesArgument, usesThis]);
});

test('compile-only calls refuse a function that does its work without its arguments', async () => {
  const works = function works() {
    return 1;
  } as unknown as AnyFunction;
  const worksLater = async function worksLater() {
    return 1;
  } as unknown as AnyFunction;
  const fails = function fails() {
    throw new Error('no such file');
  } as unknown as AnyFunction;
  await assert.rejects(compileOnly([works]), /works finished without using its arguments/);
  await assert.rejects(compileOnly([worksLater]), /worksLater finished without using its arguments/);
  await assert.rejects(compileOnly([fails]), /no such file/);
});

test('the helper server and monitor exchanges leave no connection behind, and skip a directory too deep for a socket', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tspod-train2-'));
  try {
    await trainMonitorExchanges(dir);
    // The command run from the snapshot connects to its own helper server, not to a kept one.
    assert.equal(establishedHelperServer(), undefined);
    assert.equal(await runOnHelperServer(['mount']), undefined);
    const deep = path.join(dir, 'd'.repeat(120));
    fs.mkdirSync(deep);
    await trainMonitorExchanges(deep);
    assert.deepEqual(fs.readdirSync(deep), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
