// `images`: rows per name, hiding intermediates, sorting, the template fields, and the
// filters (Go path.Match globs on names in all their spellings, labels, dangling, before/since).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ImageRecord } from '../../pkg/image/image-store';
import {
  compileImageFilters,
  globMatch,
  parseGoDuration,
  parseImageFilters,
  parseUntil,
  PRUNE_FILTER_KEYS,
  referenceCandidates,
  referenceMatches,
} from '../../pkg/image/image-filters';
import { goTimeString, jsonSummaries, listImages, quietIds, rowView, splitName, summarizeImages } from '../../pkg/image/image-list';
import { InvalidArgumentError } from '../../pkg/errors';

const DAY = 86_400_000;
const NOW = Date.parse('2024-06-01T00:00:00Z');

function hexId(c: string): string {
  return `sha256:${c.repeat(64)}`;
}

function record(c: string, names: string[], opts: Partial<ImageRecord> & { labels?: Record<string, string> } = {}): ImageRecord {
  const config = { architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, config: { Labels: opts.labels } };
  return {
    id: hexId(c),
    topLayer: null,
    config: Buffer.from(JSON.stringify(config)),
    manifest: null,
    manifestMediaType: null,
    manifestDigest: `sha256:${'d'.repeat(63)}${c}`,
    size: 1000,
    created: NOW - 10 * DAY,
    added: NOW,
    parent: null,
    names,
    digests: [],
    extra: {},
    ...opts,
  };
}

const busybox = record('a', ['docker.io/library/busybox:latest', 'localhost/myapp:latest'], {
  labels: { 'org.tspod.test': 'busybox' },
  created: NOW - 30 * DAY,
  size: 2_000_000,
});
const multilayer = record('b', ['docker.io/library/multilayer:latest'], { labels: { 'org.tspod.test': 'multilayer' }, created: NOW - 20 * DAY });
const dangling = record('c', [], { created: NOW - 5 * DAY, size: 10 });
const parent = record('e', [], { created: NOW - 40 * DAY });
const child = record('f', ['localhost/child:1'], { created: NOW - DAY, parent: parent.id });
const all = [busybox, multilayer, dangling, parent, child];
const summaries = summarizeImages(all, new Map([[multilayer.id, 2]]));

function filtered(flags: string[], opts: { all?: boolean } = {}): string[] {
  const byName = new Map(summaries.flatMap((s) => s.names.map((n) => [n, s] as const)));
  const filters = compileImageFilters(parseImageFilters(flags), {
    resolve: (name) => byName.get(name) ?? byName.get(`docker.io/library/${name}:latest`),
    now: NOW,
  });
  return listImages(summaries, { filters, all: opts.all }).map((e) => `${e.repository}:${e.tag}`);
}

describe('image rows', () => {
  it('one row per name, <none> for untagged, intermediates hidden, newest first', () => {
    const rows = listImages(summaries).map((e) => `${e.repository}:${e.tag}`);
    assert.deepEqual(rows, [
      'localhost/child:1',
      '<none>:<none>',
      'docker.io/library/multilayer:latest',
      'docker.io/library/busybox:latest',
      'localhost/myapp:latest',
    ]);
    assert.equal(listImages(summaries, { all: true }).length, 6);
  });

  it('dangling and intermediate are told apart', () => {
    const byId = new Map(summaries.map((s) => [s.id, s]));
    assert.equal(byId.get(dangling.id)?.dangling, true);
    assert.equal(byId.get(parent.id)?.dangling, false);
    assert.equal(byId.get(parent.id)?.intermediate, true);
    assert.equal(byId.get(busybox.id)?.dangling, false);
  });

  it('sorts by each key; ties keep the store order', () => {
    const by = (sort: string): string[] => listImages(summaries, { sort }).map((e) => e.tag === '<none>' ? '<none>' : e.repository);
    assert.deepEqual(by('repository'), ['<none>', 'docker.io/library/busybox', 'docker.io/library/multilayer', 'localhost/child', 'localhost/myapp']);
    assert.deepEqual(by('size').slice(0, 1), ['<none>']);
    assert.deepEqual(by('size').slice(-2), ['docker.io/library/busybox', 'localhost/myapp']);
    assert.deepEqual(listImages(summaries, { sort: 'tag' }).map((e) => e.tag), ['1', '<none>', 'latest', 'latest', 'latest']);
    assert.deepEqual(listImages(summaries, { sort: 'id' }).map((e) => e.image.id[7]), ['a', 'a', 'b', 'c', 'f']);
    assert.throws(() => listImages(summaries, { sort: 'bogus' }), /"bogus" is not a valid field for sorting. Choose from: created, id, repository, size, tag/);
  });

  it('quiet IDs are unique, in row order', () => {
    assert.deepEqual(quietIds(listImages(summaries)), ['f'.repeat(12), 'c'.repeat(12), 'b'.repeat(12), 'a'.repeat(12)]);
    assert.equal(quietIds(listImages(summaries), true)[0], hexId('f'));
  });

  it('template fields: Docker names, Podman values', () => {
    const entry = listImages(summaries).find((e) => e.repository === 'docker.io/library/multilayer');
    assert.ok(entry);
    const row = rowView(entry, { now: NOW });
    assert.equal(row.ID, 'b'.repeat(12));
    assert.equal(row.Id, 'b'.repeat(64));
    assert.equal(row.Tag, 'latest');
    assert.equal(row.CreatedSince, '2 weeks ago');
    assert.equal(row.CreatedAt, '2024-05-12 00:00:00 +0000 UTC');
    assert.equal(row.Created, (NOW - 20 * DAY) / 1000);
    assert.equal(row.Size, '1 kB');
    assert.equal(row.VirtualSize, 1000);
    assert.equal(row.Containers, 2);
    assert.deepEqual(row.Labels, { 'org.tspod.test': 'multilayer' });
    assert.equal(row.History, entry.image.namesHistory.join(', '));
    // History and CreatedAt are computed on reading, and `{{json .}}` still shows them.
    const json = JSON.parse(JSON.stringify(row)) as Record<string, unknown>;
    assert.deepEqual([json.History, json.CreatedAt], [row.History, '2024-05-12 00:00:00 +0000 UTC']);
    assert.equal(rowView(entry, { noTrunc: true }).ID, hexId('b'));
    const none = listImages(summaries).find((e) => e.repository === '<none>');
    assert.ok(none);
    assert.equal(rowView(none).Dangling, true);
  });

  it('json: one object per image', () => {
    const json = jsonSummaries(listImages(summaries));
    assert.equal(json.length, 4);
    const bb = json.find((j) => j.Id === 'a'.repeat(64));
    assert.deepEqual(bb?.RepoTags, busybox.names);
    assert.equal(bb?.Created, (NOW - 30 * DAY) / 1000);
  });

  it('splits names', () => {
    assert.deepEqual(splitName('docker.io/library/busybox:latest'), { repository: 'docker.io/library/busybox', tag: 'latest' });
    assert.deepEqual(splitName('localhost:5000/app:1'), { repository: 'localhost:5000/app', tag: '1' });
    assert.deepEqual(splitName('localhost:5000/app'), { repository: 'localhost:5000/app', tag: '<none>' });
    assert.equal(goTimeString(0), '1970-01-01 00:00:00 +0000 UTC');
  });
});

describe('image filters', () => {
  it('Go path.Match globs', () => {
    assert.equal(globMatch('busy*', 'busybox'), true);
    assert.equal(globMatch('*', 'docker.io/library/busybox'), false, '* stops at /');
    assert.equal(globMatch('docker.io/*/b*', 'docker.io/library/busybox'), true);
    assert.equal(globMatch('b?sybox', 'busybox'), true);
    assert.equal(globMatch('[a-c]usybox', 'busybox'), true);
    assert.equal(globMatch('[^a-c]usybox', 'busybox'), false);
    assert.equal(globMatch('busybox\\*', 'busybox*'), true);
    assert.equal(globMatch('a.b', 'axb'), false, 'dots are literal');
    assert.equal(globMatch('[', 'x'), undefined, 'bad pattern');
    assert.equal(globMatch('[]a]', 'a'), undefined, 'Go wants ] escaped');
  });

  it('reference candidates: full, familiar, localhost-less, with and without tag', () => {
    assert.deepEqual(referenceCandidates('docker.io/library/busybox:latest'), [
      'docker.io/library/busybox:latest',
      'docker.io/library/busybox',
      'busybox:latest',
      'busybox',
    ]);
    assert.deepEqual(referenceCandidates('localhost/myapp:latest').slice(2), ['myapp:latest', 'myapp']);
    assert.equal(referenceMatches('quay.io/*', 'quay.io/x/y:1'), false);
    assert.equal(referenceMatches('quay.io/x/*', 'quay.io/x/y:1'), true);
  });

  it('reference keeps only matching names', () => {
    assert.deepEqual(filtered(['reference=busy*']), ['docker.io/library/busybox:latest']);
    assert.deepEqual(filtered(['reference=busybox']), ['docker.io/library/busybox:latest']);
    assert.deepEqual(filtered(['reference=myapp']), ['localhost/myapp:latest']);
    assert.deepEqual(filtered(['reference=docker.io/library/b*:latest']), ['docker.io/library/busybox:latest']);
    assert.deepEqual(filtered(['reference=*:latest']), ['docker.io/library/multilayer:latest', 'docker.io/library/busybox:latest', 'localhost/myapp:latest']);
    assert.deepEqual(filtered(['reference=busybox', 'reference=multilayer']), ['docker.io/library/multilayer:latest', 'docker.io/library/busybox:latest']);
  });

  it('dangling, labels, before/since, until, id, containers', () => {
    assert.deepEqual(filtered(['dangling=true']), ['<none>:<none>']);
    assert.equal(filtered(['dangling=false']).includes('<none>:<none>'), false);
    assert.deepEqual(filtered(['label=org.tspod.test=busybox']), ['docker.io/library/busybox:latest', 'localhost/myapp:latest']);
    assert.deepEqual(filtered(['label=org.tspod.test']).length, 3);
    assert.deepEqual(filtered(['label!=org.tspod.test']), ['localhost/child:1', '<none>:<none>']);
    assert.deepEqual(filtered(['before=multilayer']), ['docker.io/library/busybox:latest', 'localhost/myapp:latest']);
    assert.deepEqual(filtered(['since=multilayer']), ['localhost/child:1', '<none>:<none>']);
    assert.deepEqual(filtered(['since=multilayer', 'dangling=true']), ['<none>:<none>'], 'keys AND');
    assert.deepEqual(filtered(['until=240h']), ['docker.io/library/multilayer:latest', 'docker.io/library/busybox:latest', 'localhost/myapp:latest']);
    assert.deepEqual(filtered([`id=${'b'.repeat(5)}`]), ['docker.io/library/multilayer:latest']);
    assert.deepEqual(filtered(['containers=true']), ['docker.io/library/multilayer:latest']);
    assert.deepEqual(filtered(['intermediate=true'], { all: true }), ['<none>:<none>']);
  });

  it('bad filters are one clear error', () => {
    assert.throws(() => parseImageFilters(['bogus=1']), (e: unknown) => e instanceof InvalidArgumentError && e.message === 'unsupported image filter "bogus"');
    assert.throws(() => parseImageFilters(['bogus']), /must be in the format "filter=value or filter!=value"/);
    assert.throws(() => parseImageFilters(['dangling=maybe']), /invalid dangling filter value "maybe"/);
    assert.throws(() => parseImageFilters(['until=yesterday']), /invalid until filter value/);
    assert.throws(() => parseImageFilters(['dangling!=true']), /unsupported image filter "dangling!"/);
    assert.throws(() => parseImageFilters(['reference=x'], PRUNE_FILTER_KEYS), /unsupported image filter "reference"/);
    assert.throws(() => filtered(['before=nosuch']), /could not find local image for filter "before=nosuch"/);
  });

  it('durations and timestamps', () => {
    assert.equal(parseGoDuration('1h30m'), 5_400_000);
    assert.equal(parseGoDuration('2.5s'), 2500);
    assert.equal(parseGoDuration('10'), undefined);
    assert.equal(parseUntil('24h', NOW), NOW - DAY);
    assert.equal(parseUntil('1704067200'), Date.parse('2024-01-01T00:00:00Z'));
    assert.equal(parseUntil('2024-01-01T00:00:00Z'), Date.parse('2024-01-01T00:00:00Z'));
  });
});
