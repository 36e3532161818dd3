// auto-update as the unprivileged user: a newer digest pushed to the tag a container was
// created from is found by --dry-run (nothing pulled, nothing restarted), then pulled and its
// unit restarted through systemctl (a fake one first on PATH records the call: these machines
// run no systemd); a failed restart puts the old image back (rolled back); the local policy;
// containers outside a unit are reported.
import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { asRoot, asUser, image, resetUserState, testEnv, tspod } from './harness';

const fakeBin = () => path.join(testEnv.home, 'au-fakebin');
const systemctlLog = () => path.join(testEnv.home, 'au-systemctl.log');
const failMarker = () => path.join(testEnv.home, 'au-systemctl.fail');

function ok(args: string[], env: Record<string, string> = {}): string {
  const r = tspod(args, { timeoutMs: 120_000, env });
  assert.equal(r.code, 0, `tspod ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Copies a test image to library/sd-autoupdate:latest on the test registry (a "new release"). */
function publish(source: string): void {
  const reg = testEnv.registry;
  const r = asRoot(['skopeo', 'copy', '--quiet', '--src-tls-verify=false', '--dest-tls-verify=false', `docker://${reg}/library/${source}`, `docker://${reg}/library/sd-autoupdate:latest`]);
  assert.equal(r.code, 0, r.stderr);
}

function autoUpdate(args: string[]): ReturnType<typeof tspod> {
  return tspod(['auto-update', ...args], { timeoutMs: 120_000, env: { PATH: `${fakeBin()}:${testEnv.path}` } });
}

function systemctlCalls(): string[] {
  return fs.existsSync(systemctlLog()) ? fs.readFileSync(systemctlLog(), 'utf8').split('\n').filter(Boolean) : [];
}

const AU_IMAGE = 'docker.io/library/sd-autoupdate:latest';
const runningImage = () => ok(['inspect', '--format', '{{.Image}}', 'sd-au']).trim();
const taggedImage = () => ok(['image', 'inspect', '--format', '{{.Id}}', AU_IMAGE]).trim();

describe('auto-update', () => {
  before(() => {
    resetUserState();
    asUser(['rm', '-rf', fakeBin(), systemctlLog(), failMarker()]);
    asUser(['mkdir', '-p', fakeBin()]);
    const script = `#!/bin/sh\necho "$*" >> ${systemctlLog()}\nif [ -e ${failMarker()} ]; then rm -f ${failMarker()}; echo "Job for $3 failed because the control process exited with error code." >&2; exit 1; fi\n`;
    asUser(['sh', '-c', `cat > ${fakeBin()}/systemctl && chmod 755 ${fakeBin()}/systemctl`], { input: script });
    publish('busybox:latest');
    // As the unit's ExecStart would run it: Environment=PODMAN_SYSTEMD_UNIT=%n labels the container.
    ok(['run', '-d', '--name', 'sd-au', '--label', 'io.containers.autoupdate=registry', 'sd-autoupdate', 'sleep', '1000'], { PODMAN_SYSTEMD_UNIT: 'container-sd-au.service' });
  });

  test('nothing to update: every labelled container in a unit is listed as not updated', () => {
    const r = autoUpdate(['--dry-run']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^UNIT\s+CONTAINER\s+IMAGE\s+POLICY\s+UPDATED\n/);
    assert.match(r.stdout, /\ncontainer-sd-au\.service\s+[0-9a-f]{12} \(sd-au\)\s+docker\.io\/library\/sd-autoupdate:latest\s+registry\s+false\n$/);
    assert.equal(autoUpdate([]).code, 0);
    assert.deepEqual(systemctlCalls(), [], 'no restart without an update');
  });

  test('--dry-run finds a newer digest on the registry without pulling or restarting', () => {
    const before = taggedImage();
    publish('multilayer:latest');
    const r = autoUpdate(['--dry-run', '--format', '{{.Unit}} {{.ContainerName}} {{.Policy}} {{.Updated}}']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'container-sd-au.service sd-au registry pending\n');
    assert.equal(taggedImage(), before, 'nothing pulled');
    assert.deepEqual(systemctlCalls(), []);
  });

  test('an update pulls the new image and restarts the unit with systemctl --user', () => {
    const old = runningImage();
    const r = autoUpdate([]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\ncontainer-sd-au\.service\s+.*\s+registry\s+true\n$/);
    assert.deepEqual(systemctlCalls(), ['--user restart container-sd-au.service']);
    assert.notEqual(taggedImage(), old);
    assert.match(ok(['image', 'inspect', '--format', '{{.RepoDigests}}', AU_IMAGE]), new RegExp(image('multilayer:latest').digest));
  });

  test('a restart that fails puts the previous image back under the name (rolled back)', () => {
    // The fake systemctl restarted nothing: sd-au still runs the old image, so the update is pending again.
    const old = runningImage();
    asUser(['touch', failMarker()]);
    const r = autoUpdate(['--format', 'json']);
    assert.equal(r.code, 125);
    assert.match(r.stderr, /^Error: restarting unit container-sd-au\.service: Job for container-sd-au\.service failed/m);
    const [row] = JSON.parse(r.stdout) as Record<string, string>[];
    assert.deepEqual({ Unit: row.Unit, ContainerName: row.ContainerName, Image: row.Image, Policy: row.Policy, Updated: row.Updated }, {
      Unit: 'container-sd-au.service',
      ContainerName: 'sd-au',
      Image: AU_IMAGE,
      Policy: 'registry',
      Updated: 'rolled back',
    });
    assert.deepEqual(systemctlCalls().slice(1), ['--user restart container-sd-au.service', '--user restart container-sd-au.service']);
    assert.equal(taggedImage(), old);
  });

  test('the local policy follows the local name; containers outside units and bad policies are reported', () => {
    for (const name of ['busybox', 'multilayer']) ok(['pull', '-q', name]);
    ok(['tag', 'busybox', 'localhost/sd-local:latest']);
    ok(['run', '-d', '--name', 'sd-local', '--label', 'io.containers.autoupdate=local', 'localhost/sd-local:latest', 'sleep', '1000'], { PODMAN_SYSTEMD_UNIT: 'container-sd-local.service' });
    ok(['run', '-d', '--name', 'sd-nounit', '--label', 'io.containers.autoupdate=registry', 'busybox', 'sleep', '1000']);
    ok(['run', '-d', '--name', 'sd-badpolicy', '--label', 'io.containers.autoupdate=sometimes', 'busybox', 'sleep', '1000'], { PODMAN_SYSTEMD_UNIT: 'x.service' });
    ok(['tag', 'multilayer', 'localhost/sd-local:latest']);
    const r = autoUpdate(['--dry-run', '--format', '{{.ContainerName}} {{.Policy}} {{.Updated}}']);
    assert.equal(r.code, 125);
    assert.match(r.stdout, /^sd-local local pending$/m);
    assert.match(r.stderr, /^Error: container sd-nounit is not run by a systemd unit \(no PODMAN_SYSTEMD_UNIT label\): run it from a unit made by `generate systemd --new` or a Quadlet file$/m);
    assert.match(r.stderr, /^Error: container sd-badpolicy: invalid auto-update policy "sometimes": use registry or local$/m);
    for (const name of ['sd-au', 'sd-local', 'sd-nounit', 'sd-badpolicy']) ok(['rm', '-f', '-t', '0', name]);
  });
});
