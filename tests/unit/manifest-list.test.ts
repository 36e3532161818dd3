import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderList } from '../../pkg/image/manifest-list';

const D = (c: string) => `sha256:${c.repeat(64)}`;

const state = {
  manifests: [
    { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: D('a'), size: 10, platform: { variant: 'v8', architecture: 'arm64', os: 'linux' }, annotations: { k: 'v' } },
    { mediaType: 'application/vnd.docker.distribution.manifest.v2+json', digest: D('b'), size: 20, platform: { os: 'linux', architecture: 'amd64', 'os.features': [] } },
  ],
  annotations: { 'org.opencontainers.image.title': 'x' },
};

test('renderList: Docker manifest list in Docker field order, annotations shown locally but not pushed', () => {
  const local = renderList(state, 'v2s2').toString();
  assert.equal(
    local,
    '{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[' +
      `{"mediaType":"application/vnd.oci.image.manifest.v1+json","size":10,"digest":"${D('a')}","platform":{"architecture":"arm64","os":"linux","variant":"v8"},"annotations":{"k":"v"}},` +
      `{"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":20,"digest":"${D('b')}","platform":{"architecture":"amd64","os":"linux"}}]}`,
  );
  assert.doesNotMatch(renderList(state, 'v2s2', true).toString(), /annotations/);
});

test('renderList: OCI index with descriptor and index annotations', () => {
  const doc = JSON.parse(renderList(state, 'oci').toString());
  assert.equal(doc.mediaType, 'application/vnd.oci.image.index.v1+json');
  assert.deepEqual(Object.keys(doc.manifests[0]), ['mediaType', 'digest', 'size', 'platform', 'annotations']);
  assert.deepEqual(doc.annotations, { 'org.opencontainers.image.title': 'x' });
  assert.deepEqual(JSON.parse(renderList({ manifests: [] }, 'oci').toString()), { schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [] });
});
