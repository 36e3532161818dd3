// tspod pull as the unprivileged user against the local registry: short names through the
// docker.io mirror, digests, both manifest formats, multi-platform indexes, what lands on
// disk, and the failure paths: missing images, bad references, corrupted blobs, hostile
// layers, a pull killed halfway and pulls racing each other.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { image, resetUserState, spawnTspod, testEnv, tspod, tspodAsync, waitFor } from './harness';
import { layerTar, pushLayout, registryBlobPath, writeLayout } from './oci-layout-builder';

const graphRoot = () => path.join(testEnv.home, '.local/share/tspod');
const layerDir = (chainId: string) => path.join(graphRoot(), 'overlay', chainId.replace(/^sha256:/, ''), 'diff');
const hex = (digest: string) => digest.replace(/^sha256:/, '');

function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const d of diffIds) {
    const prev = out[out.length - 1];
    out.push(prev ? `sha256:${crypto.createHash('sha256').update(`${prev} ${d}`).digest('hex')}` : d);
  }
  return out;
}

function imageCount(): number {
  const r = tspod(['info', '--format', '{{.Images}}']);
  assert.equal(r.code, 0, r.stderr);
  return Number(r.stdout.trim());
}

function pull(args: string[]): { code: number; stdout: string; stderr: string } {
  return tspod(['pull', ...args], { timeoutMs: 180_000 });
}

function tempEntries(): string[] {
  const dir = path.join(graphRoot(), 'overlay');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.includes('.tmp-')) : [];
}

describe('pull', () => {
  before(() => resetUserState());

  test('a short name resolves through the docker.io mirror; progress on stderr, the ID on stdout', () => {
    const r = pull(['busybox']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${hex(image('busybox:latest').configDigest)}\n`);
    assert.match(r.stderr, /^Trying to pull docker\.io\/library\/busybox:latest\.\.\.$/m);
    assert.match(r.stderr, new RegExp(`^Copying blob ${hex(image('busybox:latest').layers[0]).slice(0, 12)} done$`, 'm'));
    assert.match(r.stderr, /^Writing manifest to image destination$/m);
    assert.equal(imageCount(), 1);
  });

  test('layers land on disk owned through the subuid range, stored once when shared', () => {
    const busybox = image('busybox:latest');
    const hello = path.join(layerDir(busybox.diffIds[0]), 'home/tester/hello.txt');
    const st = fs.statSync(hello);
    assert.equal(st.uid, testEnv.subuid.start + 999);
    assert.equal(st.gid, testEnv.subgid.start + 999);
    assert.equal(fs.readFileSync(path.join(layerDir(busybox.diffIds[0]), 'etc/passwd'), 'utf8').includes('tester:x:1000:1000'), true);

    const r = pull(['multilayer']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /skipped: already exists/);
    const chains = chainIds(image('multilayer:latest').diffIds);
    assert.equal(chains[0], busybox.diffIds[0], 'multilayer builds on the busybox layer');
    for (const c of chains) assert.ok(fs.existsSync(layerDir(c)), `layer ${c} extracted`);
    const layers = fs.readdirSync(path.join(graphRoot(), 'overlay')).filter((n) => /^[0-9a-f]{64}$/.test(n));
    assert.equal(layers.length, 3, 'busybox layer stored once for both images');
    // The deletion of /data/b.txt is an overlay whiteout (a 0/0 character device) in the top layer.
    const whiteout = fs.statSync(path.join(layerDir(chains[2]), 'data/b.txt'));
    assert.ok(whiteout.isCharacterDevice());
    assert.equal(whiteout.rdev, 0);
    assert.equal(imageCount(), 2);
  });

  test('the directory of the layer dirs is marked a top directory, so ext4 spreads new layers over block groups', () => {
    // See pkg/storage/layer-home.ts: without the flag, files of a layer pulled right after a
    // removal are created at a tenth of the speed on ext4 without a journal.
    const r = spawnSync('lsattr', ['-d', path.join(graphRoot(), 'overlay')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout.split(' ')[0], /T/, r.stdout);
  });

  test('-q prints only the ID', () => {
    const r = pull(['-q', 'busybox']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    assert.equal(r.stdout, `${hex(image('busybox:latest').configDigest)}\n`);
  });

  test('by digest, by a fully qualified name, and the OCI-format copy give the same image', () => {
    const busybox = image('busybox:latest');
    const byDigest = pull(['-q', `busybox@${busybox.digest}`]);
    assert.equal(byDigest.code, 0, byDigest.stderr);
    assert.equal(byDigest.stdout.trim(), hex(busybox.configDigest));
    const direct = pull(['-q', `${testEnv.registry}/library/busybox:latest`]);
    assert.equal(direct.code, 0, direct.stderr);
    assert.equal(direct.stdout.trim(), hex(busybox.configDigest));
    const oci = pull(['-q', 'busybox:oci']);
    assert.equal(oci.code, 0, oci.stderr);
    assert.equal(oci.stdout.trim(), hex(image('busybox:oci').configDigest));
    assert.equal(image('busybox:oci').mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(busybox.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
  });

  test('an index resolves to the host platform, or the one asked for', () => {
    const multi = image('multiarch:latest');
    assert.ok(multi.platforms);
    const host = pull(['-q', 'multiarch']);
    assert.equal(host.code, 0, host.stderr);
    assert.equal(host.stdout.trim(), hex(multi.platforms['linux/amd64'].configDigest));
    const arm = pull(['-q', '--platform', 'linux/arm64', 'multiarch']);
    assert.equal(arm.code, 0, arm.stderr);
    assert.equal(arm.stdout.trim(), hex(multi.platforms['linux/arm64/v8'].configDigest));
    const arm2 = pull(['-q', '--arch', 'arm64', 'multiarch']);
    assert.equal(arm2.stdout.trim(), hex(multi.platforms['linux/arm64/v8'].configDigest));
    const none = pull(['--platform', 'linux/s390x', 'multiarch']);
    assert.equal(none.code, 125);
    assert.match(none.stderr, /linux\/amd64/);
    assert.equal(none.stderr.trim().split('\n').filter((l) => l.startsWith('Error:')).length, 1);
  });

  test('a missing image is one error line, exit 125, and changes nothing', () => {
    const before = imageCount();
    const r = pull(['no-such-image']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /^Error: .*manifest unknown.*no-such-image/m);
    assert.equal(imageCount(), before);
  });

  test('bad references are refused before any network traffic', () => {
    for (const bad of ['BadName', 'busybox:bad tag', 'busybox@sha256:1234', '-']) {
      const r = pull([bad]);
      assert.equal(r.code, 125, `${bad}: ${r.stderr}`);
      assert.match(r.stderr, /^Error: .*(invalid reference|invalid|unknown flag)/m, bad);
      assert.doesNotMatch(r.stderr, /Trying to pull/);
    }
  });

  test('an unreachable registry is one clear line', () => {
    const r = pull(['127.0.0.1:1/library/busybox:latest']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /^Error: .*127\.0\.0\.1:1.*connection refused/m);
  });
});

describe('pull failure paths', () => {
  before(() => resetUserState());

  test('a blob whose content does not match its digest is rejected and nothing is kept', async () => {
    const layout = writeLayout([await layerTar([{ name: 'corrupt.txt', content: crypto.randomBytes(4096).toString('hex') }])]);
    pushLayout(layout, 'corrupt');
    // The registry serves whatever is in its storage: flip the bytes behind the layer's digest.
    const blob = registryBlobPath(layout.layerDigests[0]);
    const data = fs.readFileSync(blob);
    fs.writeFileSync(blob, Buffer.from(data.map((b) => b ^ 0xff)));
    const r = pull(['corrupt']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /^Error: .*(digest|sha256)/im);
    assert.equal(imageCount(), 0);
    assert.ok(!fs.existsSync(layerDir(layout.diffIds[0])), 'no layer kept');
    assert.deepEqual(tempEntries(), []);
  });

  test('a hostile layer cannot write outside the layer', async () => {
    const marker = `tspod-escape-${crypto.randomBytes(4).toString('hex')}`;
    const cases: Record<string, Parameters<typeof layerTar>[0]> = {
      traversal: [{ name: `../../../../../../tmp/${marker}-a`, content: 'x' }],
      symlink: [
        { name: 'evil', type: 'symlink', linkname: '/tmp' },
        { name: `evil/${marker}-b`, content: 'x' },
      ],
      hardlink: [{ name: 'passwd', type: 'link', linkname: '../../../../../../etc/passwd' }],
    };
    for (const [name, entries] of Object.entries(cases)) {
      const layout = writeLayout([await layerTar(entries)]);
      pushLayout(layout, `hostile-${name}`);
      const r = pull([`hostile-${name}`]);
      assert.equal(r.code, 125, `${name}: ${r.stderr}`);
      assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('Error:')).length, 1, r.stderr);
      assert.ok(!fs.existsSync(layerDir(layout.diffIds[0])), `${name}: no layer kept`);
    }
    assert.ok(!fs.existsSync(`/tmp/${marker}-a`));
    assert.ok(!fs.existsSync(`/tmp/${marker}-b`));
    assert.equal(imageCount(), 0);
  });

  test('a pull killed halfway leaves a store the next pull completes', async () => {
    // 48 MiB that gzip cannot shrink: slow enough to kill mid-extraction.
    const layout = writeLayout([await layerTar([{ name: 'big.bin', content: crypto.randomBytes(48 << 20) }])]);
    pushLayout(layout, 'big');
    const child = spawnTspod(['pull', 'big']);
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    await waitFor(() => tempEntries().length > 0, 60_000, 'the layer extraction to start');
    child.kill('SIGKILL');
    await exited;
    assert.equal(imageCount(), 0);
    const r = pull(['-q', 'big']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), hex(layout.configDigest));
    assert.equal(fs.statSync(path.join(layerDir(layout.diffIds[0]), 'big.bin')).size, 48 << 20);
    assert.deepEqual(tempEntries(), []);
  });

  test('concurrent pulls of the same image all succeed and store it once', async () => {
    resetUserState();
    const results = await Promise.all(Array.from({ length: 5 }, () => tspodAsync(['pull', '-q', 'multilayer'], { timeoutMs: 180_000 })));
    for (const r of results) {
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout.trim(), hex(image('multilayer:latest').configDigest));
    }
    assert.equal(imageCount(), 1);
    const layers = fs.readdirSync(path.join(graphRoot(), 'overlay')).filter((n) => /^[0-9a-f]{64}$/.test(n));
    assert.equal(layers.length, 3);
    assert.deepEqual(tempEntries(), []);
  });
});
