// `tspod manifest` as the test user: a list made of a local image (busybox) and every
// platform of the registry's multiarch index, inspected, annotated, pushed to the harness
// registry (checked with skopeo as root: the list, and each instance by digest), removed;
// and the error cases (missing lists and images, names in use, bad flags).
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { asRoot, image, resetUserState, testEnv, tspod, RunResult } from './harness';

const DOCKER_LIST = 'application/vnd.docker.distribution.manifest.list.v2+json';
const OCI_INDEX = 'application/vnd.oci.image.index.v1+json';

interface ListDoc {
  schemaVersion: number;
  mediaType: string;
  manifests: { mediaType: string; digest: string; size: number; platform: { architecture: string; os: string; variant?: string }; annotations?: Record<string, string> }[];
  annotations?: Record<string, string>;
}

function ok(r: RunResult, what: string): RunResult {
  assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`);
  return r;
}

function oneError(r: RunResult, code: number, pattern: RegExp): void {
  assert.equal(r.code, code, `${r.stderr}${r.stdout}`);
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], pattern);
}

function inspect(name: string): ListDoc {
  return JSON.parse(ok(tspod(['manifest', 'inspect', name]), `manifest inspect ${name}`).stdout) as ListDoc;
}

/** The raw manifest the registry serves, read with skopeo as root. */
function remoteRaw(ref: string): ListDoc {
  return JSON.parse(ok(asRoot(['skopeo', 'inspect', '--raw', '--tls-verify=false', `docker://${ref}`]), `skopeo inspect --raw ${ref}`).stdout) as ListDoc;
}

const platformsOf = (doc: ListDoc) => doc.manifests.map((m) => [m.platform.os, m.platform.architecture, m.platform.variant ?? ''].join('/'));

describe('manifest lists', () => {
  const busybox = image('busybox:latest');
  const multiarch = image('multiarch:latest');
  const platforms = multiarch.platforms ?? {};
  const dest = `${testEnv.registry}/build-parse/manifest-list`;

  before(() => {
    resetUserState();
    ok(tspod(['pull', '-q', 'busybox']), 'pull busybox');
  });

  test('create from a local image and a remote index with --all, inspect, exists, images', () => {
    const created = ok(tspod(['manifest', 'create', 'bp-list', 'busybox']), 'manifest create');
    const id = created.stdout.trim();
    assert.match(id, /^[0-9a-f]{64}$/);
    const added = ok(tspod(['manifest', 'add', '--all', '--annotation', 'org.example.team=build', 'bp-list', 'docker://docker.io/library/multiarch']), 'manifest add --all');
    assert.equal(added.stdout.trim(), id, 'add prints the list ID');

    const doc = inspect('bp-list');
    assert.equal(doc.schemaVersion, 2);
    assert.equal(doc.mediaType, DOCKER_LIST);
    assert.deepEqual(
      doc.manifests.map((m) => m.digest),
      [busybox.digest, platforms['linux/amd64'].digest, platforms['linux/arm64/v8'].digest],
    );
    assert.deepEqual(platformsOf(doc), ['linux/amd64/', 'linux/amd64/', 'linux/arm64/v8']);
    assert.deepEqual(doc.manifests[1].annotations, { 'org.example.team': 'build' }, 'the flags apply to the first instance added');
    assert.equal(doc.manifests[0].mediaType, busybox.mediaType);

    assert.equal(tspod(['manifest', 'exists', 'bp-list']).code, 0);
    assert.equal(tspod(['manifest', 'exists', 'busybox']).code, 1, 'an image is not a list');
    assert.equal(tspod(['manifest', 'exists', 'no-such-list']).code, 1);
    assert.match(ok(tspod(['images', '--format', '{{.Repository}} {{.ID}}']), 'images').stdout, new RegExp(`localhost/bp-list ${id.slice(0, 12)}`));
  });

  test('push sends the list and every image; digests are kept; skopeo reads them back', () => {
    ok(tspod(['manifest', 'push', '--tls-verify=false', 'bp-list', `${dest}:v1`]), 'manifest push');
    const raw = remoteRaw(`${dest}:v1`);
    assert.equal(raw.mediaType, DOCKER_LIST);
    assert.deepEqual(
      raw.manifests.map((m) => m.digest),
      [busybox.digest, platforms['linux/amd64'].digest, platforms['linux/arm64/v8'].digest],
    );
    assert.deepEqual(platformsOf(raw), ['linux/amd64/', 'linux/amd64/', 'linux/arm64/v8']);
    for (const m of raw.manifests) {
      const instance = JSON.parse(ok(asRoot(['skopeo', 'inspect', '--raw', '--tls-verify=false', `docker://${dest}@${m.digest}`]), `instance ${m.digest}`).stdout) as { layers: unknown[] };
      assert.ok(instance.layers.length > 0);
    }
    // every blob of every platform is really there (skopeo verifies them while copying)
    ok(asRoot(['skopeo', 'copy', '-q', '--all', '--src-tls-verify=false', `docker://${dest}:v1`, `dir:/tmp/build-parse-manifest-copy-${process.pid}`]), 'skopeo copy --all');
    asRoot(['rm', '-rf', `/tmp/build-parse-manifest-copy-${process.pid}`]);
  });

  test('annotate an instance and the list; push --format oci --rm writes an OCI index and removes the local list', () => {
    ok(tspod(['manifest', 'annotate', '--arch', 'arm', '--variant', 'v7', '--os-version', '1.0', '--annotation', 'k=v', 'bp-list', busybox.digest]), 'annotate instance');
    ok(tspod(['manifest', 'annotate', '--index', '--annotation', 'org.opencontainers.image.title=bp', 'bp-list']), 'annotate --index');
    const doc = inspect('bp-list');
    assert.equal(doc.mediaType, OCI_INDEX, 'list annotations need an OCI index');
    assert.deepEqual(doc.annotations, { 'org.opencontainers.image.title': 'bp' });
    assert.deepEqual(doc.manifests[0].platform, { architecture: 'arm', os: 'linux', 'os.version': '1.0', variant: 'v7' });
    assert.deepEqual(doc.manifests[0].annotations, { k: 'v' });

    ok(tspod(['manifest', 'push', '--tls-verify=false', '--format', 'oci', '--rm', 'bp-list', `${dest}:oci`]), 'manifest push --format oci --rm');
    const raw = remoteRaw(`${dest}:oci`);
    assert.equal(raw.mediaType, OCI_INDEX);
    assert.deepEqual(platformsOf(raw), ['linux/arm/v7', 'linux/amd64/', 'linux/arm64/v8']);
    assert.deepEqual(raw.annotations, { 'org.opencontainers.image.title': 'bp' });
    assert.equal(tspod(['manifest', 'exists', 'bp-list']).code, 1, '--rm removed the local list');
    assert.equal(tspod(['image', 'exists', 'busybox']).code, 0, 'its images stay');
  });

  test('inspect of a remote reference prints what the registry serves', () => {
    const doc = inspect(`docker.io/library/multiarch:latest`);
    assert.equal(doc.mediaType, multiarch.mediaType);
    assert.deepEqual(doc.manifests.map((m) => m.digest).sort(), Object.values(platforms).map((p) => p.digest).sort());
  });

  test('remove drops an instance; rm removes lists and prints what it removed', () => {
    const id = ok(tspod(['manifest', 'create', '--all', 'bp-two', 'docker://docker.io/library/multiarch']), 'create --all').stdout.trim();
    assert.equal(inspect('bp-two').manifests.length, 2);
    ok(tspod(['manifest', 'remove', 'bp-two', platforms['linux/arm64/v8'].digest]), 'manifest remove');
    assert.deepEqual(inspect('bp-two').manifests.map((m) => m.digest), [platforms['linux/amd64'].digest]);
    const rm = ok(tspod(['manifest', 'rm', 'bp-two']), 'manifest rm');
    assert.equal(rm.stdout, `Untagged: localhost/bp-two:latest\nDeleted: ${id}\n`);
    assert.equal(tspod(['manifest', 'exists', 'bp-two']).code, 1);
  });

  test('a committed image (never pushed, no manifest yet) gets its real manifest when the list is pushed', () => {
    ok(tspod(['run', '--name', 'bp-commit-src', 'busybox', 'sh', '-c', 'echo made > /made']), 'run');
    ok(tspod(['commit', '-q', 'bp-commit-src', 'bp-committed']), 'commit');
    ok(tspod(['rm', 'bp-commit-src']), 'rm');
    ok(tspod(['manifest', 'create', 'bp-commit-list', 'bp-committed']), 'create');
    ok(tspod(['manifest', 'push', '-q', '--tls-verify=false', '--rm', 'bp-commit-list', `${dest}:committed`]), 'push');
    const [entry] = remoteRaw(`${dest}:committed`).manifests;
    const instance = JSON.parse(ok(asRoot(['skopeo', 'inspect', '--tls-verify=false', `docker://${dest}@${entry.digest}`]), 'skopeo inspect instance').stdout) as { Layers: string[]; Architecture: string };
    assert.equal(instance.Layers.length, 2, 'busybox layer and the committed one');
    assert.equal(instance.Layers[0], busybox.layers[0], 'the base layer is reused as pulled');
    assert.equal(entry.platform.architecture, instance.Architecture);
  });

  test('run of a list runs the instance for this host; a list without one is a clear error', () => {
    ok(tspod(['manifest', 'create', 'bp-run', 'busybox']), 'create bp-run');
    assert.equal(ok(tspod(['run', '--rm', 'bp-run', 'echo', 'from the list']), 'run bp-run').stdout, 'from the list\n');
    ok(tspod(['manifest', 'annotate', '--arch', 's390x', 'bp-run', busybox.digest]), 'annotate s390x');
    oneError(tspod(['run', '--rm', 'bp-run', 'true']), 125, /^Error: no image found in image index for platform linux\/\S+; available platforms: linux\/s390x$/);
    ok(tspod(['manifest', 'rm', 'bp-run']), 'rm bp-run');
  });

  test('errors: one line each, with the exit codes Podman uses', () => {
    ok(tspod(['manifest', 'create', 'bp-err']), 'create bp-err');
    oneError(tspod(['manifest', 'create', 'bp-err']), 125, /^Error: bp-err: an image or manifest list with this name already exists/);
    oneError(tspod(['manifest', 'add', 'no-such-list', 'busybox']), 125, /^Error: no-such-list: manifest list not known locally/);
    oneError(tspod(['manifest', 'add', 'busybox', 'busybox']), 125, /^Error: busybox is an image, not a manifest list/);
    oneError(tspod(['manifest', 'add', 'bp-err', 'docker://docker.io/library/no-such-image']), 125, /^Error: .*no-such-image/);
    oneError(tspod(['manifest', 'annotate', '--arch', 'x', 'bp-err', `sha256:${'0'.repeat(64)}`]), 125, /^Error: sha256:0+: no such instance in manifest list bp-err/);
    oneError(tspod(['manifest', 'add', '--annotation', 'novalue', 'bp-err', 'busybox']), 125, /^Error: no value given for annotation "novalue"/);
    oneError(tspod(['manifest', 'push', '--format', 'v1', 'bp-err', `${dest}:bad`]), 125, /^Error: unknown manifest format "v1"/);
    oneError(tspod(['manifest', 'push', 'no-such-list', `${dest}:bad`]), 125, /^Error: no-such-list: manifest list not known locally/);
    oneError(tspod(['manifest', 'inspect', 'docker.io/library/no-such-image']), 125, /^Error: .*no-such-image/);
    oneError(tspod(['manifest', 'rm', 'no-such-list']), 1, /^Error: no-such-list: image not known$/);
    oneError(tspod(['manifest', 'rm', 'busybox']), 125, /^Error: busybox is an image, not a manifest list$/);
    assert.equal(tspod(['image', 'exists', 'busybox']).code, 0, 'rm refused to remove a plain image');
    ok(tspod(['manifest', 'rm', 'bp-err']), 'rm bp-err');
  });
});
