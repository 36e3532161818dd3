// The documents save writes (Docker's manifest.json and repositories, OCI manifests and index),
// name normalisation for load, and the config import builds.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dockerManifestJson, dockerRepositories, isDirTransportManifest, parseDockerManifest, repoTagName } from '../../pkg/image/archive-docker';
import { blobPath, localImageName, nameFromAnnotations, ociIndex, ociManifest } from '../../pkg/image/archive-oci';
import { importConfig, rfc3339Nano } from '../../pkg/image/image-import';
import { sha256Digest } from '../../pkg/image/digest';
import { formatReference, parseReference } from '../../pkg/image/reference';

const D1 = `sha256:${'1'.repeat(64)}`;
const D2 = `sha256:${'2'.repeat(64)}`;

describe('docker-archive documents', () => {
  const tags = [parseReference('docker.io/library/busybox:latest'), parseReference('localhost/app:1'), parseReference('quay.io/org/x:2')];
  it('manifest.json uses familiar names, Docker-style', () => {
    const json = dockerManifestJson([{ configPath: blobPath(D1), layerPaths: [blobPath(D2)], tags, topDiffId: D2 }]).toString();
    assert.ok(json.endsWith('\n'));
    assert.deepEqual(JSON.parse(json), [
      { Config: `blobs/sha256/${'1'.repeat(64)}`, RepoTags: ['busybox:latest', 'localhost/app:1', 'quay.io/org/x:2'], Layers: [`blobs/sha256/${'2'.repeat(64)}`] },
    ]);
  });
  it('repositories maps familiar repositories and tags to the top layer', () => {
    const repos = dockerRepositories([{ configPath: '', layerPaths: [], tags, topDiffId: D2 }]);
    assert.deepEqual(JSON.parse(String(repos)), { busybox: { latest: '2'.repeat(64) }, 'localhost/app': { '1': '2'.repeat(64) }, 'quay.io/org/x': { '2': '2'.repeat(64) } });
    assert.equal(dockerRepositories([{ configPath: '', layerPaths: [], tags: [], topDiffId: D2 }]), undefined);
  });
  it('RepoTags load as fully qualified names', () => {
    assert.equal(repoTagName('busybox:latest'), 'docker.io/library/busybox:latest');
    assert.equal(repoTagName('user/app'), 'docker.io/user/app:latest');
    assert.equal(repoTagName('localhost/app:1'), 'localhost/app:1');
    assert.throws(() => repoTagName(`busybox@${D1}`), /a digest is not a tag/);
  });
  it('parseDockerManifest checks the shape', () => {
    assert.deepEqual(parseDockerManifest(Buffer.from('[{"Config":"c.json","Layers":["a/layer.tar"]}]')), [{ Config: 'c.json', Layers: ['a/layer.tar'], RepoTags: null }]);
    assert.throws(() => parseDockerManifest(Buffer.from('{}')), /expected a list/);
    assert.throws(() => parseDockerManifest(Buffer.from('[]')), /lists no image/);
    assert.throws(() => parseDockerManifest(Buffer.from('[{"Config":"c","Layers":[1]}]')), /Layers is not a list/);
    assert.throws(() => parseDockerManifest(Buffer.from('not json')), /not JSON/);
  });
  it('tells a dir: manifest from a docker-archive one', () => {
    assert.equal(isDirTransportManifest(Buffer.from(' \n{"schemaVersion":2}')), true);
    assert.equal(isDirTransportManifest(Buffer.from('[{}]')), false);
  });
});

describe('OCI layout documents', () => {
  it('a manifest of uncompressed layers whose digests are the diff IDs', () => {
    const m = ociManifest({ digest: D1, size: 10 }, [{ digest: D2, size: 20, mediaType: 'application/vnd.oci.image.layer.v1.tar' }]);
    assert.equal(m.digest, sha256Digest(m.bytes));
    assert.deepEqual(JSON.parse(m.bytes.toString()), {
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: D1, size: 10 },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: D2, size: 20 }],
    });
  });
  it('an index with annotations and platforms only where given', () => {
    const m = ociManifest({ digest: D1, size: 1 }, []);
    const index = JSON.parse(ociIndex([{ manifest: m }, { manifest: m, annotations: { 'org.opencontainers.image.ref.name': 'x' }, platform: { architecture: 'amd64', os: 'linux' } }]).toString());
    assert.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json');
    assert.deepEqual(Object.keys(index.manifests[0]), ['mediaType', 'digest', 'size']);
    assert.deepEqual(index.manifests[1].annotations, { 'org.opencontainers.image.ref.name': 'x' });
    assert.deepEqual(index.manifests[1].platform, { architecture: 'amd64', os: 'linux' });
  });
  it("names like Podman: localhost/ for bare names, containerd's annotation first", () => {
    assert.equal(formatReference(localImageName('mytag')), 'localhost/mytag:latest');
    assert.equal(formatReference(localImageName('foo:v1')), 'localhost/foo:v1');
    assert.equal(formatReference(localImageName('library/busybox')), 'localhost/library/busybox:latest');
    assert.equal(formatReference(localImageName('docker.io/busybox')), 'docker.io/library/busybox:latest');
    assert.equal(nameFromAnnotations({ 'io.containerd.image.name': 'docker.io/library/a:1', 'org.opencontainers.image.ref.name': '1' }), 'docker.io/library/a:1');
    assert.equal(nameFromAnnotations({ 'org.opencontainers.image.ref.name': 'example.com/x:2' }), 'example.com/x:2');
    assert.equal(nameFromAnnotations({}), undefined);
    assert.equal(nameFromAnnotations(undefined), undefined);
    assert.throws(() => nameFromAnnotations({ 'org.opencontainers.image.ref.name': 'Not Valid' }), /invalid image name/);
  });
  it('blob paths come from valid digests only', () => {
    assert.equal(blobPath(D1), `blobs/sha256/${'1'.repeat(64)}`);
    assert.throws(() => blobPath('sha256:../../x'));
  });
});

describe('import config', () => {
  it("is byte for byte the config Podman writes for the same tar and time", () => {
    // podman 4.3: `podman import --change 'CMD ["/bin/sh"]' --change 'ENV A=1' -m "a message" rootfs.tar`
    const diffId = 'sha256:06974d0b0dfd0bb185f29c5184383f524148d4f57ee2abe5dd2559fbd968ef22';
    const created = '2026-11-28T07:54:55.068321357Z';
    const bytes = importConfig(diffId, created, { os: 'linux', architecture: 'amd64' }, ['CMD ["/bin/sh"]', 'ENV A=1'], 'a message');
    assert.equal(sha256Digest(bytes), 'sha256:293aa4acf64c18792d2625dd0d649d7401c9790a105040e3c4cf560a28cad594');
    const plain = importConfig(diffId, created, { os: 'linux', architecture: 'amd64' }, []);
    assert.equal(sha256Digest(plain), 'sha256:a1262287562090b64246a36313c687b57f898d5a9dc2e328046adb5d07ca1514');
  });
  it('orders the container config as the OCI struct does, and records a variant', () => {
    const doc = JSON.parse(importConfig(D1, '2024-01-01T00:00:00Z', { os: 'linux', architecture: 'arm64', variant: 'v8' }, ['CMD x', 'ENV A=1', 'USER u']).toString());
    assert.deepEqual(Object.keys(doc.config), ['User', 'Env', 'Cmd']);
    assert.deepEqual(Object.keys(doc).slice(0, 4), ['created', 'architecture', 'variant', 'os']);
  });
  it('formats times as Go does', () => {
    assert.equal(rfc3339Nano(1_700_000_000_000_000_000n), '2023-11-14T22:13:20Z');
    assert.equal(rfc3339Nano(1_700_000_000_120_000_000n), '2023-11-14T22:13:20.12Z');
    assert.equal(rfc3339Nano(1_700_000_000_000_000_001n), '2023-11-14T22:13:20.000000001Z');
  });
});
