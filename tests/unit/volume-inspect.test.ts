// volume ls filters and the inspect document, without a store.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { localRfc3339, matchesVolume, parseVolumeFilters, volumeDocument } from '../../pkg/volume/volume-inspect';
import type { VolumeRecord } from '../../pkg/volume/volume-store';

const vol = (name: string, extra: Partial<VolumeRecord> = {}): VolumeRecord => ({
  name,
  driver: 'local',
  mountpoint: `/vols/${name}/_data`,
  labels: {},
  options: {},
  anonymous: false,
  created: Date.UTC(2024, 0, 1),
  ...extra,
});

describe('volume filters', () => {
  const web = vol('web-data', { labels: { app: 'web', tier: 'front' }, options: { type: 'tmpfs' } });
  const db = vol('db', { anonymous: true });
  const match = (v: VolumeRecord, ...f: string[]): boolean => matchesVolume(v, parseVolumeFilters(f), new Set(['db']), Date.UTC(2024, 0, 2));

  it('name matches a substring or a pattern', () => {
    assert.equal(match(web, 'name=web'), true);
    assert.equal(match(web, 'name=^web-'), true);
    assert.equal(match(db, 'name=web'), false);
    assert.equal(match(db, 'name=web', 'name=db'), true);
  });

  it('labels all match; label! excludes', () => {
    assert.equal(match(web, 'label=app'), true);
    assert.equal(match(web, 'label=app=web', 'label=tier=front'), true);
    assert.equal(match(web, 'label=app=web', 'label=tier=back'), false);
    assert.equal(match(web, 'label!=app'), false);
    assert.equal(match(db, 'label!=app'), true);
  });

  it('dangling, driver, opt, until and anonymous', () => {
    assert.equal(match(web, 'dangling=true'), true);
    assert.equal(match(db, 'dangling=true'), false);
    assert.equal(match(db, 'dangling=false'), true);
    assert.equal(match(web, 'driver=local'), true);
    assert.equal(match(web, 'opt=type=tmpfs'), true);
    assert.equal(match(db, 'opt=type'), false);
    assert.equal(match(web, 'until=2h'), true);
    assert.equal(match(web, 'until=2023-12-31T00:00:00Z'), false);
    assert.equal(match(db, 'anonymous=true'), true);
    assert.equal(match(web, 'anonymous=true'), false);
  });

  it('rejects unknown keys and missing values', () => {
    assert.throws(() => parseVolumeFilters(['bogus=1']), /invalid filter "bogus=1"/);
    assert.throws(() => parseVolumeFilters(['name']), /invalid filter/);
  });
});

describe('volume document', () => {
  it("has Podman's fields", () => {
    const doc = volumeDocument(vol('v', { labels: { a: 'b' } }), 2, true);
    assert.deepEqual(Object.keys(doc), ['Name', 'Driver', 'Mountpoint', 'CreatedAt', 'Labels', 'Scope', 'Options', 'Anonymous', 'MountCount', 'NeedsCopyUp']);
    assert.equal(doc.Scope, 'local');
    assert.equal(doc.MountCount, 2);
  });

  it('CreatedAt is RFC 3339 in local time', () => {
    const text = localRfc3339(Date.UTC(2024, 0, 1, 12, 30, 5, 250));
    assert.match(text, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.25(Z|[+-]\d\d:\d\d)$/);
    assert.equal(Date.parse(text), Date.UTC(2024, 0, 1, 12, 30, 5, 250));
  });
});
