// The commands on local images as the unprivileged user types them: images (columns, -q,
// --digests, --no-trunc, --format, filters, sort), image inspect / inspect, history, tag and
// untag, rmi (untag vs delete, layers on disk, exit codes like Podman's), image prune,
// image exists, image tree, bad input, and a store with 100 names.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chainIds } from '../../pkg/storage/chain-id';
import { image, resetUserState, testEnv, tspod } from './harness';

const hex = (digest: string): string => digest.replace(/^sha256:/, '');
const short = (digest: string): string => hex(digest).slice(0, 12);

function ok(args: string[], input?: string): string {
  const r = tspod(args, { input, timeoutMs: 180_000 });
  assert.equal(r.code, 0, `tspod ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** The rows of a default `images` table, split on Podman's two-space column gaps. */
function tableRows(stdout: string): string[][] {
  return stdout
    .trimEnd()
    .split('\n')
    .map((line) => line.split(/ {2,}/).map((cell) => cell.trim()));
}

/** Layer directories on disk (chain ID hexes) in the user's store. */
function layerDirs(): string[] {
  const root = path.join(testEnv.home, '.local/share/tspod');
  const dir = ['overlay', 'vfs'].map((d) => path.join(root, d)).find((d) => fs.existsSync(d));
  return dir ? fs.readdirSync(dir).filter((n) => /^[0-9a-f]{64}$/.test(n)).sort() : [];
}

function pullFresh(): void {
  resetUserState();
  ok(['pull', '-q', 'busybox']);
  ok(['pull', '-q', 'multilayer']);
}

describe('images', () => {
  before(pullFresh);

  test("Podman's columns and values, one row per image name", () => {
    const rows = tableRows(ok(['images']));
    assert.deepEqual(rows[0], ['REPOSITORY', 'TAG', 'IMAGE ID', 'CREATED', 'SIZE']);
    const busybox = rows.find((r) => r[0] === 'docker.io/library/busybox');
    assert.ok(busybox, JSON.stringify(rows));
    assert.equal(busybox[1], 'latest');
    assert.equal(busybox[2], short(image('busybox:latest').configDigest));
    assert.match(busybox[3], / ago$/);
    assert.match(busybox[4], /^[\d.]+ (B|kB|MB)$/);
    const multi = rows.find((r) => r[0] === 'docker.io/library/multilayer');
    assert.equal(multi?.[2], short(image('multilayer:latest').configDigest));
    assert.equal(rows.length, 3);
  });

  test('-q, --no-trunc, --digests, -n', () => {
    const ids = ok(['images', '-q']).trim().split('\n').sort();
    assert.deepEqual(ids, [short(image('busybox:latest').configDigest), short(image('multilayer:latest').configDigest)].sort());
    assert.ok(ok(['images', '--no-trunc']).includes(image('busybox:latest').configDigest));
    const digests = tableRows(ok(['images', '--digests']));
    assert.deepEqual(digests[0], ['REPOSITORY', 'TAG', 'DIGEST', 'IMAGE ID', 'CREATED', 'SIZE']);
    assert.equal(digests.find((r) => r[0] === 'docker.io/library/busybox')?.[2], image('busybox:latest').digest);
    assert.equal(ok(['images', '-n']).split('\n').filter(Boolean).length, 2);
  });

  test('--format templates, table and json', () => {
    assert.deepEqual(ok(['images', '--format', '{{.Repository}}:{{.Tag}}']).trim().split('\n').sort(), [
      'docker.io/library/busybox:latest',
      'docker.io/library/multilayer:latest',
    ]);
    const table = ok(['images', '--format', 'table {{.ID}}\t{{.Size}}']);
    assert.deepEqual(tableRows(table)[0], ['IMAGE ID', 'SIZE']);
    const json = JSON.parse(ok(['images', '--format', 'json'])) as Record<string, unknown>[];
    const bb = json.find((j) => j.Id === hex(image('busybox:latest').configDigest));
    assert.ok(bb);
    assert.deepEqual(bb.Names, ['docker.io/library/busybox:latest']);
    assert.equal(bb.Digest, image('busybox:latest').digest);
    assert.deepEqual(bb.Labels, { 'org.tspod.test': 'busybox' });
  });

  test('reference filters: familiar names, globs, the positional argument', () => {
    const repos = (args: string[]): string[] => ok(['images', '--format', '{{.Repository}}', ...args]).trim().split('\n').filter(Boolean).sort();
    assert.deepEqual(repos(['--filter', 'reference=busybox']), ['docker.io/library/busybox']);
    assert.deepEqual(repos(['--filter', 'reference=busy*']), ['docker.io/library/busybox']);
    assert.deepEqual(repos(['--filter', 'reference=docker.io/library/b*:latest']), ['docker.io/library/busybox']);
    assert.deepEqual(repos(['--filter', 'reference=busybox', '--filter', 'reference=multi*']), ['docker.io/library/busybox', 'docker.io/library/multilayer']);
    assert.deepEqual(repos(['multilayer']), ['docker.io/library/multilayer']);
    assert.deepEqual(repos(['--filter', 'reference=nothing*']), []);
  });

  test('label, before and since filters', () => {
    const ids = (args: string[]): string[] => ok(['images', '-q', ...args]).trim().split('\n').filter(Boolean);
    assert.deepEqual(ids(['--filter', 'label=org.tspod.test=busybox']), [short(image('busybox:latest').configDigest)]);
    assert.equal(ids(['--filter', 'label=org.tspod.test']).length, 2);
    assert.deepEqual(ids(['--filter', 'label=org.tspod.test=nope']), []);
    // both test images were created at the same second: neither is before or after the other
    assert.ok(!ids(['--filter', 'before=busybox']).includes(short(image('busybox:latest').configDigest)));
    assert.ok(!ids(['--filter', 'since=busybox']).includes(short(image('busybox:latest').configDigest)));
    const r = tspod(['images', '--filter', 'since=nosuch']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /^Error: could not find local image for filter "since=nosuch": nosuch: image not known\n$/);
  });

  test('dangling after the name moves to another image', () => {
    ok(['tag', 'multilayer', 'docker.io/library/busybox:latest']);
    const rows = tableRows(ok(['images', '--filter', 'dangling=true']));
    assert.deepEqual(rows.slice(1).map((r) => [r[0], r[1], r[2]]), [['<none>', '<none>', short(image('busybox:latest').configDigest)]]);
    assert.deepEqual(tableRows(ok(['images', '--filter', 'dangling=false'])).slice(1).map((r) => r[2]), [
      short(image('multilayer:latest').configDigest),
      short(image('multilayer:latest').configDigest),
    ]);
    ok(['tag', 'busybox@' + image('busybox:latest').digest, 'docker.io/library/busybox:latest']);
    assert.equal(ok(['images', '-q', '--filter', 'dangling=true']), '');
  });

  test('bad input is one line, exit 125', () => {
    for (const args of [['--filter', 'bogus=1'], ['--filter', 'dangling=maybe'], ['--sort', 'bogus'], ['--format', '{{.Nope']]) {
      const r = tspod(['images', ...args]);
      assert.equal(r.code, 125, args.join(' '));
      assert.equal(r.stdout, '');
      assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
      assert.match(r.stderr, /^Error: /);
    }
    assert.equal(tspod(['images', '--filter', 'bogus=1']).stderr, 'Error: unsupported image filter "bogus"\n');
  });
});

describe('image inspect', () => {
  before(pullFresh);

  test("Docker's document: ID, names, RootFS, Config", () => {
    const [doc] = JSON.parse(ok(['image', 'inspect', 'busybox'])) as Record<string, any>[];
    const bb = image('busybox:latest');
    assert.equal(doc.Id, bb.configDigest);
    assert.deepEqual(doc.RepoTags, ['docker.io/library/busybox:latest']);
    assert.ok(doc.RepoDigests.includes(`docker.io/library/busybox@${bb.digest}`));
    assert.deepEqual(doc.RootFS, { Type: 'layers', Layers: bb.diffIds });
    assert.deepEqual(doc.Config.Cmd, ['sh']);
    assert.deepEqual(doc.Config.Labels, { 'org.tspod.test': 'busybox' });
    assert.equal(doc.Digest, bb.digest);
    assert.equal(doc.ManifestType, bb.mediaType);
    assert.equal(doc.Os, 'linux');
    assert.match(doc.Created, /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
    assert.ok(doc.GraphDriver.Data.UpperDir.includes(hex(bb.diffIds[0])));
  });

  test("multilayer's config", () => {
    const [doc] = JSON.parse(ok(['inspect', 'multilayer'])) as Record<string, any>[];
    const ml = image('multilayer:latest');
    assert.deepEqual(doc.RootFS.Layers, ml.diffIds);
    assert.equal(doc.Config.User, 'tester');
    assert.equal(doc.Config.WorkingDir, '/data');
    assert.deepEqual(doc.Config.ExposedPorts, { '8080/tcp': {}, '9090/udp': {} });
    assert.deepEqual(doc.Config.Volumes, { '/vol': {} });
    assert.deepEqual(doc.Config.Entrypoint, ['/bin/sh', '-c']);
    assert.ok(doc.Config.Env.includes('MULTILAYER=1'));
    assert.equal(doc.History.length, 4);
  });

  test('--format templates', () => {
    assert.equal(ok(['image', 'inspect', '--format', '{{.Id}}', 'busybox']), `${image('busybox:latest').configDigest}\n`);
    assert.equal(ok(['inspect', '--format', '{{.Config.Cmd}}', 'busybox']), '[sh]\n');
    assert.equal(ok(['inspect', '--type', 'image', '--format', '{{index .RepoTags 0}}', 'busybox']), 'docker.io/library/busybox:latest\n');
    assert.deepEqual(JSON.parse(ok(['image', 'inspect', '--format', '{{json .Config}}', 'multilayer'])).Entrypoint, ['/bin/sh', '-c']);
  });

  test('several names: one array; a missing one is reported after the found ones', () => {
    assert.equal((JSON.parse(ok(['image', 'inspect', 'busybox', 'multilayer'])) as unknown[]).length, 2);
    const r = tspod(['image', 'inspect', 'busybox', 'nosuch']);
    assert.equal(r.code, 125);
    assert.equal((JSON.parse(r.stdout) as unknown[]).length, 1);
    assert.equal(r.stderr, 'Error: no such image: nosuch\n');
    const any = tspod(['inspect', 'nosuch']);
    assert.equal(any.code, 125);
    assert.equal(any.stdout, '[]\n');
    assert.equal(any.stderr, 'Error: no such object: nosuch\n');
  });
});

describe('history and tree', () => {
  before(pullFresh);

  test('multilayer: four steps, newest first, the image ID on top', () => {
    const [doc] = JSON.parse(ok(['image', 'inspect', 'multilayer'])) as { History: { created_by: string; empty_layer?: boolean }[] }[];
    const rows = tableRows(ok(['history', 'multilayer']));
    assert.deepEqual(rows[0], ['ID', 'CREATED', 'CREATED BY', 'SIZE', 'COMMENT']);
    assert.equal(rows.length, 5);
    assert.equal(rows[1][0], short(image('multilayer:latest').configDigest));
    assert.equal(rows[2][0], '<missing>');
    // the bottom step made busybox's top layer: Podman shows busybox's ID there
    assert.equal(rows[4][0], short(image('busybox:latest').configDigest));
    const createdBy = ok(['history', '--no-trunc', '--format', '{{.CreatedBy}}', 'multilayer']).trimEnd().split('\n');
    assert.deepEqual(createdBy, doc.History.map((h) => h.created_by).reverse());
    const truncated = ok(['history', '--format', '{{.CreatedBy}}', 'multilayer']).trimEnd().split('\n');
    for (const line of truncated) assert.ok(line.length <= 45, line);
    assert.ok(truncated.some((l) => l.endsWith('...')));
    const sizes = ok(['history', '-H=false', '--format', '{{.Size}}', 'multilayer']).trim().split('\n').map(Number);
    assert.equal(sizes[0], 0, 'the config step made no layer');
    assert.ok(sizes.slice(1).every((s) => s > 0), sizes.join());
    assert.deepEqual(ok(['history', '-q', 'multilayer']).trim().split('\n').slice(0, 2), [short(image('multilayer:latest').configDigest), '<missing>']);
  });

  test("image tree shows the layers bottom up and which image each tops", () => {
    const out = ok(['image', 'tree', 'multilayer']).split('\n');
    const chains = chainIds(image('multilayer:latest').diffIds);
    assert.equal(out[0], `Image ID: ${short(image('multilayer:latest').configDigest)}`);
    assert.equal(out[1], 'Tags:     [docker.io/library/multilayer:latest]');
    assert.equal(out[3], 'Image Layers');
    assert.match(out[4], new RegExp(`^├── ID: ${short(chains[0])} Size: +[\\d.]+[kM]?B Top Layer of: \\[docker.io/library/busybox:latest\\]$`));
    assert.match(out[6], new RegExp(`^└── ID: ${short(chains[2])} Size: +[\\d.]+[kM]?B Top Layer of: \\[docker.io/library/multilayer:latest\\]$`));
  });
});

describe('tag, untag, rmi, prune, exists', () => {
  before(pullFresh);

  test('tag gives local names; untag takes them away', () => {
    ok(['tag', 'busybox', 'myapp', 'user/app:1', 'example.com/tools/busybox:1.35']);
    const all = ok(['images', '--format', '{{.Repository}}:{{.Tag}}']);
    for (const n of ['localhost/myapp:latest', 'localhost/user/app:1', 'example.com/tools/busybox:1.35']) assert.ok(all.includes(n), all);
    ok(['untag', 'busybox', 'localhost/user/app:1', 'example.com/tools/busybox:1.35']);
    const after = ok(['images', '--format', '{{.Repository}}:{{.Tag}}']);
    assert.ok(!after.includes('localhost/user/app:1'));
    assert.ok(after.includes('localhost/myapp:latest'));
    const bad = tspod(['untag', 'busybox', 'bogus:1']);
    assert.equal(bad.code, 125);
    assert.equal(bad.stderr, 'Error: localhost/bogus:1: tag not known\n');
  });

  test('bad names for tag are invalid references', () => {
    const r = tspod(['tag', 'busybox', 'Bad:Name']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /^Error: invalid reference format: repository name must be lowercase\n$/);
    const missing = tspod(['tag', 'nosuch', 'x']);
    assert.equal(missing.code, 125);
    assert.equal(missing.stderr, 'Error: nosuch: image not known\n');
  });

  test('image exists: 0 or 1, silent', () => {
    const yes = tspod(['image', 'exists', 'busybox']);
    assert.equal(yes.code, 0);
    assert.equal(yes.stdout + yes.stderr, '');
    const no = tspod(['image', 'exists', 'nosuch']);
    assert.equal(no.code, 1);
    assert.equal(no.stdout + no.stderr, '');
  });

  test('rmi of one of several names untags; by ID it needs -f', () => {
    assert.equal(ok(['rmi', 'myapp']), 'Untagged: localhost/myapp:latest\n');
    ok(['tag', 'busybox', 'myapp']);
    const r = tspod(['rmi', short(image('busybox:latest').configDigest)]);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /^Error: conflict: unable to delete [0-9a-f]{12} \(must be forced\) - image is referenced in multiple repositories\n$/);
    ok(['untag', 'busybox', 'myapp']);
  });

  test('rmi of a missing image: exit 1 like Podman; several: all reported', () => {
    const r = tspod(['rmi', 'nosuch']);
    assert.equal(r.code, 1);
    assert.equal(r.stderr, 'Error: nosuch: image not known\n');
    const two = tspod(['rmi', 'nosuch', 'nosuch2']);
    assert.equal(two.code, 1);
    assert.equal(two.stderr, 'Error: 2 errors occurred:\n\t* nosuch: image not known\n\t* nosuch2: image not known\n');
    assert.equal(tspod(['rmi', '-i', 'nosuch']).code, 0);
  });

  test('rmi of the last name deletes the image and the layers only it used', () => {
    const busyboxLayer = hex(image('busybox:latest').diffIds[0]);
    const multiChains = chainIds(image('multilayer:latest').diffIds).map(hex);
    assert.deepEqual(layerDirs(), [...new Set(multiChains)].sort());
    const r = tspod(['rmi', 'multilayer']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `Untagged: docker.io/library/multilayer:latest\nDeleted: ${hex(image('multilayer:latest').configDigest)}\n`);
    assert.deepEqual(layerDirs(), [busyboxLayer], 'the layer busybox shares stays');
    assert.equal(tspod(['image', 'exists', 'multilayer']).code, 1);
  });

  test('image prune removes dangling images and their layers', () => {
    ok(['pull', '-q', 'multilayer']);
    ok(['untag', 'multilayer']);
    assert.equal(ok(['image', 'prune'], 'n\n'), 'WARNING! This command removes all dangling images.\nAre you sure you want to continue? [y/N] ');
    assert.equal(tspod(['image', 'exists', hex(image('multilayer:latest').configDigest)]).code, 0);
    assert.equal(ok(['image', 'prune', '-f']), `${hex(image('multilayer:latest').configDigest)}\n`);
    assert.equal(tspod(['image', 'exists', hex(image('multilayer:latest').configDigest)]).code, 1);
    assert.deepEqual(layerDirs(), [hex(image('busybox:latest').diffIds[0])]);
    assert.equal(ok(['image', 'prune', '-f']), '');
    assert.equal(ok(['image', 'prune', '-a', '-f']), `${hex(image('busybox:latest').configDigest)}\n`);
    assert.deepEqual(layerDirs(), []);
  });
});

describe('a store with 100 names', () => {
  before(() => {
    resetUserState();
    ok(['pull', '-q', 'busybox']);
  });

  test('images lists every name of the one image', () => {
    const names = Array.from({ length: 100 }, (_, i) => `bench/img${i}:v${i % 7}`);
    ok(['tag', 'busybox', ...names]);
    const rows = ok(['images', '--format', '{{.Repository}}:{{.Tag}}']).trim().split('\n');
    assert.equal(rows.length, 101);
    for (const n of names) assert.ok(rows.includes(`localhost/${n}`), n);
    assert.equal(ok(['images', '-q']), `${short(image('busybox:latest').configDigest)}\n`);
    assert.equal(ok(['images', '-q', 'bench/img1*']), `${short(image('busybox:latest').configDigest)}\n`);
    assert.equal(ok(['images', '--format', '{{.Tag}}', '--filter', 'reference=bench/img1*']).trim().split('\n').length, 11);
    assert.equal(ok(['images', '--format', '{{.Tag}}', '--sort', 'tag']).trim().split('\n')[0], 'latest');
    const removed = ok(['rmi', ...names.slice(0, 50)]);
    assert.equal(removed.trim().split('\n').length, 50);
    assert.equal(ok(['images', '-n']).trim().split('\n').length, 51);
  });
});
