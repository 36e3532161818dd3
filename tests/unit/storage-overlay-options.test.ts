import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { HostError } from '../../pkg/errors';
import { fuseOverlayOptions } from '../../pkg/storage/fuse-overlay-driver';
import {
  MOUNT_DATA_LIMIT,
  commonLayerHome,
  escapeOverlayPath,
  lowersAboveOpaqueRoot,
  overlayMountData,
  planOverlayMount,
  shortLinkName,
} from '../../pkg/storage/overlay-driver';

const HOME = '/home/someone/.local/share/tspod/overlay';
const layer = (n: number): string => path.join(HOME, n.toString(16).padStart(64, '0'), 'diff');
const lowers = (count: number): string[] => Array.from({ length: count }, (_, i) => layer(count - i));

test('overlay option data: lowers topmost first, userxattr always', () => {
  assert.equal(overlayMountData(['/l/2', '/l/1'], '/c/diff', '/c/work'), 'lowerdir=/l/2:/l/1,upperdir=/c/diff,workdir=/c/work,userxattr');
  assert.equal(overlayMountData(['/l/2', '/l/1']), 'lowerdir=/l/2:/l/1,userxattr');
});

test('":" and "," in paths are escaped for overlayfs', () => {
  assert.equal(escapeOverlayPath('/a:b,c\\d'), '/a\\:b\\,c\\\\d');
});

test('few layers: absolute paths, no links, no chdir', () => {
  const plan = planOverlayMount(lowers(3), '/c/diff', '/c/work');
  assert.equal(plan.cwd, undefined);
  assert.deepEqual(plan.links, []);
  assert.ok(plan.data.startsWith(`lowerdir=${layer(3)}:`));
});

test('60 layers: short links relative to the layer home keep the data under one page', () => {
  const all = lowers(60);
  assert.ok(overlayMountData(all, '/c/diff', '/c/work').length > MOUNT_DATA_LIMIT, 'the test needs a string that does not fit');
  const plan = planOverlayMount(all, '/c/diff', '/c/work');
  assert.equal(plan.cwd, HOME);
  assert.equal(plan.links.length, 60);
  assert.ok(plan.data.length <= MOUNT_DATA_LIMIT);
  assert.deepEqual(plan.links[0], { link: `l/${shortLinkName(path.relative(HOME, all[0]))}`, target: path.join('..', path.relative(HOME, all[0])) });
  assert.ok(plan.data.startsWith(`lowerdir=${plan.links[0].link}:${plan.links[1].link}:`));
  assert.ok(plan.data.endsWith(',upperdir=/c/diff,workdir=/c/work,userxattr'));
});

test('short link names are stable, distinct and 24 hex characters', () => {
  assert.equal(shortLinkName('abc/diff'), shortLinkName('abc/diff'));
  assert.notEqual(shortLinkName('abc/diff'), shortLinkName('abd/diff'));
  assert.match(shortLinkName('abc/diff'), /^[0-9a-f]{24}$/);
});

test('more layers than even short links fit in a page is a clear error', () => {
  assert.throws(() => planOverlayMount(lowers(200), '/c/diff', '/c/work'), (err: Error) => err instanceof HostError && /200 layers/.test(err.message));
});

test('long lowers from different homes cannot be shortened', () => {
  const mixed = [...lowers(30), ...lowers(30).map((l) => l.replace('/tspod/', '/other-store/'))];
  assert.equal(commonLayerHome(mixed), undefined);
  assert.throws(() => planOverlayMount(mixed, '/c/diff', '/c/work'), HostError);
});

test('an opaque layer root cuts off everything below it', () => {
  const marked = new Set(['/l/2']);
  assert.deepEqual(lowersAboveOpaqueRoot(['/l/3', '/l/2', '/l/1'], (l) => marked.has(l)), ['/l/3', '/l/2']);
  assert.deepEqual(lowersAboveOpaqueRoot(['/l/3', '/l/1'], (l) => marked.has(l)), ['/l/3', '/l/1']);
});

test('fuse-overlayfs options: absolute paths, commas escaped, colons refused', () => {
  assert.equal(fuseOverlayOptions(['/l/2', '/l/1'], '/c/diff', '/c/work'), 'lowerdir=/l/2:/l/1,upperdir=/c/diff,workdir=/c/work');
  assert.equal(fuseOverlayOptions(['/l/a,b']), 'lowerdir=/l/a\\,b');
  assert.throws(() => fuseOverlayOptions(['/l/a:b']), HostError);
});
