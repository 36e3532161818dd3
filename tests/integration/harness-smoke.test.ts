// Proves the harness itself: registries, pushed images, the test user. Tests of tspod live
// beside this file; if this one fails, theirs mean nothing.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { asRoot, asUser, asUserAsync, hasTestEnv, ImageDescription, resetUserState, testEnv, waitFor } from './harness';

const skip = hasTestEnv() ? false : 'TSPOD_TEST_ENV not set: run with `sudo npm test`';

function sha256(data: Buffer | string): string {
  return 'sha256:' + createHash('sha256').update(data).digest('hex');
}

function basicAuth(): string {
  return 'Basic ' + Buffer.from(`${testEnv.authUser}:${testEnv.authPassword}`).toString('base64');
}

/** `skopeo inspect` as root against the test registries (which speak plain HTTP). */
function skopeo(args: string[], image: ImageDescription, auth: boolean): string {
  const creds = auth ? ['--creds', `${testEnv.authUser}:${testEnv.authPassword}`] : [];
  const r = asRoot(['skopeo', 'inspect', '--tls-verify=false', ...creds, ...args, `docker://${image.ref}`]);
  assert.equal(r.code, 0, `skopeo inspect ${args.join(' ')} ${image.ref}: ${r.stderr}`);
  return r.stdout;
}

function checkImage(name: string, image: ImageDescription, auth: boolean): void {
  const raw = skopeo(['--raw'], image, auth);
  assert.equal(sha256(raw), image.digest, `${name}: manifest digest`);
  const manifest = JSON.parse(raw);
  assert.equal(manifest.mediaType, image.mediaType, `${name}: manifest media type`);
  const inspected = JSON.parse(skopeo([], image, auth));
  const config = skopeo(['--config', '--raw'], image, auth);
  assert.equal(sha256(config), image.configDigest, `${name}: config digest`);
  assert.deepEqual(JSON.parse(config).rootfs.diff_ids, image.diffIds, `${name}: diff ids`);
  assert.deepEqual(inspected.Layers, image.layers, `${name}: layers`);
  // For an index, skopeo inspects the amd64 instance but reports the index's digest.
  assert.equal(inspected.Digest, image.digest, `${name}: skopeo inspect digest`);
}

describe('harness', { skip }, () => {
  it('serves the plain registry without auth', async () => {
    const res = await fetch(`http://${testEnv.registry}/v2/`);
    assert.equal(res.status, 200);
  });

  it('asks for credentials on the auth registry and accepts the right ones', async () => {
    const anonymous = await fetch(`http://${testEnv.authRegistry}/v2/`);
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('www-authenticate') ?? '', /^Basic /);
    const wrong = await fetch(`http://${testEnv.authRegistry}/v2/`, {
      headers: { Authorization: 'Basic ' + Buffer.from('tspod:wrong').toString('base64') },
    });
    assert.equal(wrong.status, 401);
    const right = await fetch(`http://${testEnv.authRegistry}/v2/`, { headers: { Authorization: basicAuth() } });
    assert.equal(right.status, 200);
  });

  it('pushed every image with the digests env.json records', () => {
    for (const name of ['busybox:latest', 'busybox:oci', 'multilayer:latest', 'multiarch:latest']) {
      assert.ok(testEnv.images[name], `env.json lacks ${name}`);
    }
    for (const [name, image] of Object.entries(testEnv.images)) checkImage(name, image, false);
    for (const [name, image] of Object.entries(testEnv.authImages)) checkImage(`auth ${name}`, image, true);
  });

  it('pushed busybox in both manifest formats with one config and layer', () => {
    const v2s2 = testEnv.images['busybox:latest'];
    const oci = testEnv.images['busybox:oci'];
    assert.equal(v2s2.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.equal(oci.mediaType, 'application/vnd.oci.image.manifest.v1+json');
    assert.equal(v2s2.configDigest, oci.configDigest);
    assert.deepEqual(v2s2.diffIds, oci.diffIds);
    const config = JSON.parse(skopeo(['--config', '--raw'], v2s2, false));
    assert.deepEqual(config.config.Cmd, ['sh']);
    assert.equal(config.config.Labels['org.tspod.test'], 'busybox');
    assert.equal(config.architecture, 'amd64');
  });

  it('pushed multiarch as an index of two platforms', () => {
    const image = testEnv.images['multiarch:latest'];
    const index = JSON.parse(skopeo(['--raw'], image, false));
    assert.equal(index.mediaType, 'application/vnd.oci.image.index.v1+json');
    const platforms = index.manifests.map(
      (m: { platform: { os: string; architecture: string } }) => `${m.platform.os}/${m.platform.architecture}`,
    );
    assert.deepEqual(platforms.sort(), ['linux/amd64', 'linux/arm64']);
    assert.deepEqual(Object.keys(image.platforms ?? {}).sort(), ['linux/amd64', 'linux/arm64/v8']);
  });

  it('built multilayer with a hard link, a whiteout and an opaque directory', async () => {
    const image = testEnv.images['multilayer:latest'];
    assert.equal(image.layers.length, 3);
    const listings: string[] = [];
    for (const layer of image.layers.slice(1)) {
      const res = await fetch(`http://${testEnv.registry}/v2/${image.repository}/blobs/${layer}`);
      assert.equal(res.status, 200);
      const blob = Buffer.from(await res.arrayBuffer());
      assert.equal(sha256(blob), layer);
      const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tspod-smoke-')), 'layer.tar.gz');
      fs.writeFileSync(file, blob);
      const tar = asRoot(['tar', '-tvzf', file]);
      fs.rmSync(path.dirname(file), { recursive: true });
      assert.equal(tar.code, 0, tar.stderr);
      listings.push(tar.stdout);
    }
    assert.match(listings[0], /^h.* \.\/data\/b-link link to \.\/data\/b\.txt$/m);
    assert.match(listings[0], /^l.* \.\/data\/link -> a\.txt$/m);
    assert.match(listings[1], / \.\/data\/\.wh\.b\.txt$/m);
    assert.match(listings[1], / \.\/data\/opq\/\.wh\.\.wh\.\.opq$/m);
  });

  it('has a test user with a subordinate id range who can make a user namespace', () => {
    const id = asRoot(['id', '-u', testEnv.user]);
    assert.equal(id.stdout.trim(), String(testEnv.uid));
    for (const file of ['/etc/subuid', '/etc/subgid']) {
      const range = fs
        .readFileSync(file, 'utf8')
        .split('\n')
        .map((line) => line.split(':'))
        .find(([owner]) => owner === testEnv.user || owner === String(testEnv.uid));
      assert.ok(range && Number(range[2]) >= 65536, `${file} has no 65536 range for ${testEnv.user}`);
    }
    const whoami = asUser(['id', '-u']);
    assert.equal(whoami.stdout.trim(), String(testEnv.uid));
    const userns = asUser(['unshare', '-U', '-r', 'id', '-u']);
    assert.equal(userns.code, 0, userns.stderr);
    assert.equal(userns.stdout.trim(), '0');
    const runtimeDir = fs.statSync(testEnv.runtimeDir);
    assert.equal(runtimeDir.uid, testEnv.uid);
    assert.equal(runtimeDir.mode & 0o777, 0o700);
  });

  it('gives the test user the devices, the tspod binary and registries.conf', () => {
    for (const dev of ['/dev/fuse', '/dev/net/tun']) {
      assert.equal(fs.statSync(dev).mode & 0o666, 0o666, `${dev} is not 0666`);
    }
    assert.equal(asUser(['test', '-x', testEnv.bin]).code, 0, `${testEnv.bin} is not executable by the test user`);
    assert.equal(asUser(['test', '-x', testEnv.node]).code, 0, `${testEnv.node} is not executable by the test user`);
    assert.equal(asUser(['sh', '-c', 'command -v tspod']).stdout.trim(), testEnv.bin);
    const conf = asUser(['cat', testEnv.registriesConf]);
    assert.equal(conf.code, 0, conf.stderr);
    assert.ok(conf.stdout.includes(`location = "${testEnv.registry}"`));
    assert.equal(fs.statSync(testEnv.registriesConf).uid, testEnv.uid);
  });

  it('runs commands with a clean environment, input, timeouts and concurrency', async () => {
    const env = asUser(['env'], { env: { EXTRA: 'x' } });
    const vars = env.stdout.trim().split('\n').sort();
    assert.deepEqual(vars, [
      'EXTRA=x',
      `HOME=${testEnv.home}`,
      `LOGNAME=${testEnv.user}`,
      `PATH=${testEnv.path}`,
      `USER=${testEnv.user}`,
      `XDG_RUNTIME_DIR=${testEnv.runtimeDir}`,
    ]);
    assert.equal(asUser(['cat'], { input: 'piped' }).stdout, 'piped');
    assert.equal(asUser(['pwd']).stdout.trim(), testEnv.home);
    const slow = asUser(['sleep', '10'], { timeoutMs: 200 });
    assert.ok(slow.timedOut);
    assert.equal(slow.signal, 'SIGKILL');
    assert.equal(slow.code, 137);
    const failing = asUser(['sh', '-c', 'echo out; echo err >&2; exit 3']);
    assert.deepEqual([failing.code, failing.stdout, failing.stderr], [3, 'out\n', 'err\n']);
    // tspodAsync is asUserAsync(['tspod', ...]); tspod's own behaviour is for other tests.
    const started = Date.now();
    const results = await Promise.all([1, 2, 3].map((n) => asUserAsync(['sh', '-c', `sleep 0.3; echo ${n}`])));
    assert.deepEqual(results.map((r) => r.stdout), ['1\n', '2\n', '3\n']);
    assert.ok(Date.now() - started < 850, 'asUserAsync calls did not run concurrently');
    let polls = 0;
    await waitFor(() => ++polls === 3, 1000, 'three polls');
    await assert.rejects(waitFor(() => false, 50, 'never'), /timed out waiting for never/);
  });

  it('resets the test user state', () => {
    const dir = `${testEnv.home}/.local/share/tspod`;
    assert.equal(asUser(['mkdir', '-p', `${dir}/x`]).code, 0);
    resetUserState();
    assert.equal(fs.existsSync(dir), false);
  });
});
