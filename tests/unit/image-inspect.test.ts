// `image inspect`, `history` and `image tree` as pure functions over a stored image.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ImageRecord } from '../../pkg/image/image-store';
import { dockerConfig, inspectImage, repoDigests, rfc3339Nano } from '../../pkg/image/image-inspect';
import { historyJson, historyRowView, imageHistory, imageTree, treeSize, truncateCreatedBy } from '../../pkg/image/image-history';
import { renderTemplate } from '../../pkg/format/go-template';
import { chainIds } from '../../pkg/storage/chain-id';

const D = (c: string): string => `sha256:${c.repeat(64)}`;
const diffIds = [D('1'), D('2'), D('3')];
const chains = chainIds(diffIds);
const created = '2024-01-01T00:00:00.123456789Z';

const config = {
  created,
  author: 'tester',
  architecture: 'arm64',
  variant: 'v8',
  os: 'linux',
  config: {
    User: 'tester',
    WorkingDir: '/data',
    Entrypoint: ['/bin/sh', '-c'],
    Cmd: ['echo hi'],
    Env: ['PATH=/bin'],
    ExposedPorts: { '8080/tcp': {}, '9090/udp': {} },
    Volumes: { '/vol': {} },
    Labels: { a: 'b' },
    StopSignal: 'SIGTERM',
  },
  rootfs: { type: 'layers', diff_ids: diffIds },
  history: [
    { created: '2024-01-01T00:00:00Z', created_by: 'base layer' },
    { created: '2024-01-02T00:00:00Z', created_by: 'second layer', comment: 'c2' },
    { created: '2024-01-03T00:00:00Z', created_by: 'ENV X=1', empty_layer: true },
    { created: '2024-01-04T00:00:00Z', created_by: 'third layer, which has a rather long command line to cut' },
    { created: '2024-01-05T00:00:00Z', created_by: 'CMD ["echo hi"]', empty_layer: true },
  ],
};

const image: ImageRecord = {
  id: D('a'),
  topLayer: chains[2],
  config: Buffer.from(JSON.stringify(config)),
  manifest: Buffer.from(JSON.stringify({ schemaVersion: 2, config: {}, layers: [], annotations: { 'org.x': 'y' } })),
  manifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
  manifestDigest: D('m'),
  size: 4242,
  created: Date.parse(created),
  added: 0,
  parent: null,
  names: ['docker.io/library/app:latest', 'localhost/app:1'],
  digests: ['docker.io/library/app@' + D('m')],
  extra: { namesHistory: ['localhost/app:1', 'docker.io/library/app:latest'], lastTagTime: Date.parse('2024-02-01T10:00:00.5Z') },
};

describe('image inspect', () => {
  const storage = { driver: 'overlay', layerDirs: ['/s/overlay/c', '/s/overlay/b', '/s/overlay/a'] };
  const doc = inspectImage(image, storage);

  it("has Docker's fields from the config", () => {
    assert.equal(doc.Id, D('a'));
    assert.deepEqual(doc.RepoTags, image.names);
    assert.equal(doc.Created, created);
    assert.equal(doc.Author, 'tester');
    assert.equal(doc.Architecture, 'arm64');
    assert.equal(doc.Variant, 'v8');
    assert.equal(doc.Os, 'linux');
    assert.equal(doc.Size, 4242);
    assert.equal(doc.VirtualSize, 4242);
    assert.deepEqual(doc.RootFS, { Type: 'layers', Layers: diffIds });
    assert.equal(doc.Config.User, 'tester');
    assert.equal(doc.Config.WorkingDir, '/data');
    assert.deepEqual(doc.Config.Entrypoint, ['/bin/sh', '-c']);
    assert.deepEqual(doc.Config.ExposedPorts, { '8080/tcp': {}, '9090/udp': {} });
    assert.deepEqual(doc.Config.Volumes, { '/vol': {} });
    assert.equal(doc.Config.StopSignal, 'SIGTERM');
    assert.equal(doc.Metadata.LastTagTime, '2024-02-01T10:00:00.5Z');
    assert.equal(doc.Parent, '');
  });

  it("has Podman's extras", () => {
    assert.equal(doc.Digest, D('m'));
    assert.equal(doc.ManifestType, 'application/vnd.oci.image.manifest.v1+json');
    assert.deepEqual(doc.Labels, { a: 'b' });
    assert.deepEqual(doc.Annotations, { 'org.x': 'y' });
    assert.deepEqual(doc.NamesHistory, ['localhost/app:1', 'docker.io/library/app:latest']);
    assert.equal(doc.History.length, 5);
    assert.equal(doc.User, 'tester');
  });

  it('points GraphDriver at the layer dirs', () => {
    assert.deepEqual(doc.GraphDriver, {
      Name: 'overlay',
      Data: {
        LowerDir: '/s/overlay/b/diff:/s/overlay/a/diff',
        MergedDir: '/s/overlay/c/merged',
        UpperDir: '/s/overlay/c/diff',
        WorkDir: '/s/overlay/c/work',
      },
    });
    assert.equal(inspectImage(image, { driver: 'overlay', layerDirs: ['/x'] }).GraphDriver.Data?.LowerDir, undefined);
    assert.equal(inspectImage(image, { driver: 'overlay', layerDirs: [] }).GraphDriver.Data, null);
  });

  it('repo digests: stored ones, then each name at the manifest digest', () => {
    assert.deepEqual(repoDigests(image), [`docker.io/library/app@${D('m')}`, `localhost/app@${D('m')}`]);
  });

  it('works with the templates people use', () => {
    assert.equal(renderTemplate('{{.Config.Cmd}}', doc), '[echo hi]');
    assert.equal(renderTemplate('{{index .RepoTags 0}}', doc), 'docker.io/library/app:latest');
    assert.equal(renderTemplate('{{json .Config.Entrypoint}}', doc), '["/bin/sh","-c"]');
    assert.equal(renderTemplate('{{.Id}}', doc), D('a'));
  });

  it("Docker's Config shape: fixed fields always, the rest when set", () => {
    const empty = dockerConfig(undefined);
    assert.deepEqual(Object.keys(empty), [
      'Hostname', 'Domainname', 'User', 'AttachStdin', 'AttachStdout', 'AttachStderr', 'Tty', 'OpenStdin', 'StdinOnce',
      'Env', 'Cmd', 'Image', 'Volumes', 'WorkingDir', 'Entrypoint', 'OnBuild', 'Labels',
    ]);
    assert.equal(empty.Cmd, null);
    assert.equal(JSON.stringify(dockerConfig({ Cmd: ['sh'] }).Cmd), '["sh"]');
  });

  it('RFC 3339 with nanoseconds', () => {
    assert.equal(rfc3339Nano('2024-01-01T00:00:00.500000000Z', 0), '2024-01-01T00:00:00.5Z');
    assert.equal(rfc3339Nano('2024-01-01T00:00:00+02:00', 0), '2024-01-01T00:00:00+02:00');
    assert.equal(rfc3339Nano(undefined, Date.parse('2024-01-01T00:00:00Z')), '2024-01-01T00:00:00Z');
    assert.equal(rfc3339Nano('garbage', 0), '0001-01-01T00:00:00Z');
  });
});

describe('history', () => {
  const layers = new Map([
    [chains[0], { parent: null, size: 1000 }],
    [chains[1], { parent: chains[0], size: 20 }],
    [chains[2], { parent: chains[1], size: 3 }],
  ]);
  const steps = imageHistory({
    imageId: image.id,
    history: config.history,
    topLayer: chains[2],
    layers,
    imagesByTopLayer: new Map([
      [chains[0], [D('b')]],
      [chains[2], [image.id]],
    ]),
  });

  it('newest first; sizes from the layer chain; empty steps 0', () => {
    assert.deepEqual(
      steps.map((s) => [s.id, s.createdBy.slice(0, 12), s.size]),
      [
        [image.id, 'CMD ["echo h', 0],
        ['<missing>', 'third layer,', 3],
        ['<missing>', 'ENV X=1', 0],
        ['<missing>', 'second layer', 20],
        [D('b'), 'base layer', 1000],
      ],
    );
    assert.equal(steps[3].comment, 'c2');
  });

  it('rows: short IDs, cut commands, human sizes; or exact ones', () => {
    const now = Date.parse('2024-01-05T01:00:00Z');
    const row = historyRowView(steps[1], { now });
    assert.equal(row.ID, '<missing>');
    assert.equal(row.CreatedBy, 'third layer, which has a rather long comma...');
    assert.equal(row.CreatedBy.length, 45);
    assert.equal(row.Created, '25 hours ago');
    assert.equal(row.Size, '3 B');
    const top = historyRowView(steps[0], { human: false });
    assert.equal(top.ID, 'a'.repeat(12));
    assert.equal(top.Created, '2024-01-05T00:00:00Z');
    assert.equal(historyRowView(steps[4], { human: false }).Size, '1000');
    assert.equal(historyRowView(steps[0], { noTrunc: true }).ID, image.id);
    assert.equal(historyJson(steps)[0].id, 'a'.repeat(64));
  });

  it('truncates like Docker', () => {
    assert.equal(truncateCreatedBy('a\tb'), 'a b');
    assert.equal(truncateCreatedBy('x'.repeat(45)), 'x'.repeat(45));
    assert.equal(truncateCreatedBy('x'.repeat(46)), `${'x'.repeat(42)}...`);
    assert.equal(truncateCreatedBy('x'.repeat(46), true), 'x'.repeat(46));
  });
});

describe('image tree', () => {
  it("prints Podman's layout", () => {
    const text = imageTree({
      imageId: image.id,
      names: ['docker.io/library/app:latest'],
      size: 2_163_000,
      layers: [
        { id: chains[0], size: 2_140_160 },
        { id: chains[1], size: 10_240 },
      ],
      topOf: new Map([[chains[1], ['docker.io/library/app:latest']]]),
    });
    assert.equal(
      text,
      [
        `Image ID: ${'a'.repeat(12)}`,
        'Tags:     [docker.io/library/app:latest]',
        'Size:     2.163MB',
        'Image Layers',
        `├── ID: ${chains[0].slice(7, 19)} Size:  2.14MB`,
        `└── ID: ${chains[1].slice(7, 19)} Size: 10.24kB Top Layer of: [docker.io/library/app:latest]`,
        '',
      ].join('\n'),
    );
  });

  it('sizes with 4 significant digits', () => {
    assert.equal(treeSize(0), '0B');
    assert.equal(treeSize(13), '13B');
    assert.equal(treeSize(1000), '1kB');
    assert.equal(treeSize(1_982_487), '1.982MB');
    assert.equal(treeSize(999_950), '1000kB');
  });
});
