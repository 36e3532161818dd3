// push, login and logout as the test user against the harness's registries, checked with
// skopeo: pushing within one registry keeps every digest (blobs are mounted, the manifest goes
// out byte for byte), --format converts media types, the pushed image pulls back as the same
// image, and the auth registry needs `tspod login`, whose credentials land in
// $XDG_RUNTIME_DIR/containers/auth.json.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { asUser, image, resetUserState, testEnv, tspod, RunResult } from './harness';

const MEDIA = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayer: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayer: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
};

interface Manifest {
  mediaType: string;
  config: { mediaType: string; digest: string };
  layers: { mediaType: string; digest: string }[];
}

function ok(r: RunResult, what: string): RunResult {
  assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`);
  return r;
}

function skopeo(args: string[], ref: string, creds?: string): RunResult {
  const auth = creds ? ['--creds', creds] : [];
  return asUser(['skopeo', 'inspect', '--tls-verify=false', ...auth, ...args, `docker://${ref}`]);
}

function rawManifest(ref: string, creds?: string): Manifest {
  return JSON.parse(ok(skopeo(['--raw'], ref, creds), `skopeo inspect --raw ${ref}`).stdout) as Manifest;
}

function diffIds(ref: string, creds?: string): string[] {
  const config = JSON.parse(ok(skopeo(['--config'], ref, creds), `skopeo inspect --config ${ref}`).stdout) as { rootfs: { diff_ids: string[] } };
  return config.rootfs.diff_ids;
}

function manifestDigest(ref: string, creds?: string): string {
  return (JSON.parse(ok(skopeo([], ref, creds), `skopeo inspect ${ref}`).stdout) as { Digest: string }).Digest;
}

/** Lets skopeo fetch the whole image and verify every blob against its digest. */
function skopeoVerify(ref: string, creds?: string): void {
  const dir = path.join(testEnv.home, `push-verify-${Date.now()}`);
  const auth = creds ? ['--src-creds', creds] : [];
  try {
    ok(asUser(['skopeo', 'copy', '-q', '--src-tls-verify=false', ...auth, `docker://${ref}`, `oci:${dir}:copy`]), `skopeo copy ${ref}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function imageId(name: string): string {
  const r = ok(tspod(['pull', '-q', name]), `pull ${name}`);
  return r.stdout.trim();
}

/** `tspod rmi`, or a reset of the user's store where rmi does not exist yet. */
function removeImage(name: string): void {
  const r = tspod(['rmi', name]);
  if (r.code !== 0 && /unrecognized command/.test(r.stderr)) resetUserState();
  else ok(r, `rmi ${name}`);
}

function oneErrorLine(r: RunResult): string {
  assert.equal(r.code, 125, r.stderr);
  const lines = r.stderr.split('\n').filter(Boolean);
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^Error: /);
  return lines[0];
}

describe('push', () => {
  const reg = () => testEnv.registry;

  before(() => {
    resetUserState();
    tspod(['logout', '--all']);
    ok(tspod(['pull', '-q', 'busybox']), 'pull busybox');
    ok(tspod(['pull', '-q', 'multilayer']), 'pull multilayer');
  });

  for (const name of ['busybox', 'multilayer']) {
    test(`${name} into another repository of the same registry keeps every digest`, () => {
      const src = image(`${name}:latest`);
      const dest = `${reg()}/pushed/${name}:1`;
      const digestFile = path.join(testEnv.home, `${name}.digest`);
      const r = ok(tspod(['push', '--digestfile', digestFile, name, dest]), `push ${name}`);
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^Getting image source signatures\n/);
      assert.match(r.stderr, /Copying blob [0-9a-f]{12} skipped/);
      assert.match(r.stderr, /Copying config [0-9a-f]{12} /);
      assert.match(r.stderr, /Writing manifest to image destination\n$/);

      const manifest = rawManifest(dest);
      assert.equal(manifest.config.digest, src.configDigest);
      assert.equal(manifest.mediaType, src.mediaType);
      assert.deepEqual(manifest.layers.map((l) => l.digest), src.layers);
      assert.deepEqual(diffIds(dest), src.diffIds);
      const digest = manifestDigest(dest);
      assert.equal(digest, src.digest, 'the stored manifest went out byte for byte');
      assert.equal(fs.readFileSync(digestFile, 'utf8'), digest);
      fs.rmSync(digestFile);
      skopeoVerify(dest);
    });
  }

  test('a pushed image pulls back as the same image', () => {
    const dest = `${reg()}/pushed/multilayer:1`;
    removeImage('multilayer');
    assert.equal(`sha256:${imageId(dest)}`, image('multilayer:latest').configDigest);
    ok(tspod(['pull', '-q', 'multilayer']), 'pull multilayer again');
  });

  test('--format oci and --format v2s2 write the right media types', () => {
    const toOci = `${reg()}/pushed/busybox:oci`;
    ok(tspod(['push', '-q', '--format', 'oci', 'busybox', toOci]), 'push --format oci');
    const oci = rawManifest(toOci);
    assert.equal(oci.mediaType, MEDIA.ociManifest);
    assert.equal(oci.config.mediaType, MEDIA.ociConfig);
    assert.deepEqual(oci.layers.map((l) => l.mediaType), [MEDIA.ociLayer]);
    assert.equal(oci.config.digest, image('busybox:latest').configDigest);
    // the same manifest as the harness's busybox:oci, made by skopeo, apart from formatting
    assert.deepEqual(oci.layers.map((l) => l.digest), image('busybox:oci').layers);

    const toDocker = `${reg()}/pushed/multilayer:v2s2`;
    const r = ok(tspod(['push', '-q', '--format=v2s2', 'multilayer', toDocker]), 'push --format v2s2');
    assert.equal(r.stderr, '', '-q prints nothing');
    const docker = rawManifest(toDocker);
    assert.equal(docker.mediaType, MEDIA.dockerManifest);
    assert.equal(docker.config.mediaType, MEDIA.dockerConfig);
    assert.deepEqual(docker.layers.map((l) => l.mediaType), [MEDIA.dockerLayer, MEDIA.dockerLayer, MEDIA.dockerLayer]);
    assert.deepEqual(docker.layers.map((l) => l.digest), image('multilayer:latest').layers);
    skopeoVerify(toDocker);
  });

  test('errors: unknown image, bad destination, an unqualified name with no registry behind it', () => {
    assert.equal(oneErrorLine(tspod(['push', 'nosuchimage'])), 'Error: nosuchimage: image not known');
    assert.match(oneErrorLine(tspod(['push', 'busybox', 'BAD//Ref'])), /invalid reference format/);
    assert.match(oneErrorLine(tspod(['push', 'busybox', 'localhost/app'])), /localhost/);
    assert.match(oneErrorLine(tspod(['push', 'busybox', 'oci:/tmp/x'])), /transport/);
  });
});

describe('login, logout and pushing to a registry with auth', () => {
  const auth = () => testEnv.authRegistry;
  const creds = () => `${testEnv.authUser}:${testEnv.authPassword}`;
  const authFile = () => path.join(testEnv.runtimeDir, 'containers', 'auth.json');

  before(() => {
    tspod(['logout', '--all']);
    ok(tspod(['pull', '-q', 'busybox']), 'pull busybox');
  });

  test('push without login: one line naming the registry and suggesting tspod login', () => {
    const line = oneErrorLine(tspod(['push', 'busybox', `${auth()}/pushed/busybox:1`]));
    assert.ok(line.includes(auth()), line);
    assert.ok(line.includes(`tspod login ${auth()}`), line);
  });

  test('login with a wrong password fails', () => {
    const r = tspod(['login', '-u', testEnv.authUser, '--password-stdin', auth()], { input: 'wrong-password\n' });
    assert.equal(r.stderr, `Error: logging in to "${auth()}": invalid username/password\n`);
    assert.equal(r.code, 125);
    const stored = fs.existsSync(authFile()) ? fs.readFileSync(authFile(), 'utf8') : '';
    assert.ok(!stored.includes(auth()), 'nothing stored');
  });

  test('login without a terminal and without credentials says what is missing', () => {
    assert.match(oneErrorLine(tspod(['login', auth()])), /user name is required/);
    assert.match(oneErrorLine(tspod(['login', '-u', 'x', '-p', 'y', '--password-stdin', auth()])), /mutually exclusive/);
  });

  test('login --password-stdin stores the credentials in $XDG_RUNTIME_DIR/containers/auth.json, 0600', () => {
    const r = ok(tspod(['login', '-u', testEnv.authUser, '--password-stdin', auth()], { input: `${testEnv.authPassword}\n` }), 'login');
    assert.equal(r.stdout, 'Login Succeeded!\n');
    const st = fs.statSync(authFile());
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(st.uid, testEnv.uid);
    assert.ok(JSON.parse(fs.readFileSync(authFile(), 'utf8')).auths[auth()]);
    assert.equal(ok(tspod(['login', '--get-login', auth()]), 'get-login').stdout, `${testEnv.authUser}\n`);
    const again = ok(tspod(['login', auth()]), 'login with stored credentials');
    assert.match(again.stdout, /Existing credentials are valid/);
  });

  test('after login, push to the auth registry works', () => {
    const dest = `${auth()}/pushed/busybox:1`;
    ok(tspod(['push', '-q', 'busybox', dest]), 'push');
    const manifest = rawManifest(dest, creds());
    assert.equal(manifest.layers.length, 1);
    // The layer had to be compressed anew (the blob is on another registry): the image is
    // still complete and consistent.
    assert.equal(diffIds(dest, creds()).length, 1);
    skopeoVerify(dest, creds());
    // skopeo reads the same auth.json: tspod's login is Podman's
    ok(skopeo([], dest), 'skopeo with the credentials of tspod login');
    assert.notEqual(asUser(['skopeo', 'inspect', '--tls-verify=false', '--no-creds', `docker://${dest}`]).code, 0, 'anonymous skopeo is refused');
  });

  test('an image pulled from the auth registry pushes within it with the same digest', () => {
    const src = testEnv.authImages['busybox:latest'];
    ok(tspod(['pull', '-q', src.ref]), 'pull from the auth registry');
    const dest = `${auth()}/pushed/mounted:1`;
    ok(tspod(['push', '-q', src.ref, dest]), 'push within the auth registry');
    assert.equal(manifestDigest(dest, creds()), src.digest);
  });

  test('logout removes the credentials; pulls then ask for tspod login', () => {
    const r = ok(tspod(['logout', auth()]), 'logout');
    assert.equal(r.stdout, `Removed login credentials for ${auth()}\n`);
    assert.ok(!JSON.parse(fs.readFileSync(authFile(), 'utf8')).auths[auth()]);
    const pull = tspod(['pull', '-q', `${auth()}/pushed/busybox:1`]);
    assert.equal(pull.code, 125);
    assert.ok(pull.stderr.includes(`tspod login ${auth()}`), pull.stderr);
    assert.equal(oneErrorLine(tspod(['logout', auth()])), `Error: not logged into ${auth()}`);
    assert.equal(oneErrorLine(tspod(['login', '--get-login', auth()])), `Error: not logged into ${auth()}`);
    assert.equal(ok(tspod(['logout', '--all']), 'logout --all').stdout, 'Removed login credentials for all registries\n');
  });
});
