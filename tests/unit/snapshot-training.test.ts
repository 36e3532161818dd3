// The start-up snapshot's training (cmd/tspod/snapshot-*-training.ts) runs at build time, where a
// failure would leave tspod without its snapshots: it must run to its end on its made-up data,
// and leave nothing behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { trainCommonPaths } from '../../cmd/tspod/snapshot-training';
import { trainStartPath } from '../../cmd/tspod/snapshot-start-training';
import { AnyFunction, compileOnly } from '../../cmd/tspod/snapshot-compile-only';

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
