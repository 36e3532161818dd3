// Quadlet files as the unprivileged user: `systemd generate-units --dry-run` and the user
// generator in contrib/systemd/ turn ~/.config/containers/systemd/*.container, .volume and
// .network into units that pass `systemd-analyze --user verify`; their Exec lines, run in
// systemd's order, create the volume, run the container and remove it. Unknown keys and bad
// values are reported as FILE:LINE and their file produces no unit.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { asUser, resetUserState, testEnv, tspod } from './harness';
import { fetchPublished, hostPort, loadUnit, runExec, startUnit, stopUnit, verifyUnit, waitForHealth } from './systemd-unit-runner';

const quadletDir = () => path.join(testEnv.home, '.config', 'containers', 'systemd');
const outDir = () => path.join(testEnv.home, 'quadlet-out');
const hostDir = () => path.join(quadletDir(), 'host');

function ok(args: string[]): string {
  const r = tspod(args, { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `tspod ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function inspect(name: string, format: string): string {
  return ok(['inspect', '--format', format, name]).trim();
}

/** Writes the Quadlet files as the user would: only these, in ~/.config/containers/systemd. */
function writeQuadlets(files: Record<string, string>): void {
  asUser(['rm', '-rf', quadletDir(), outDir()]);
  asUser(['mkdir', '-p', hostDir()]);
  for (const [name, text] of Object.entries(files)) {
    const file = path.join(quadletDir(), name);
    asUser(['sh', '-c', `mkdir -p ${path.dirname(file)} && cat > ${file}`], { input: text });
  }
}

const WEB = (): string => `[Unit]
Description=A web container
After=data.volume

[Container]
Image=busybox
ContainerName=qweb
HostName=qweb
Exec=sh -c 'echo "$$GREETING $$SPACED $$(id -u)" > /data/out; cat /host/in > /data/copied; httpd -p 8080 -h /data; trap "exit 0" TERM; sleep 1000 & wait'
Environment=GREETING=hello "SPACED=a b"
PublishPort=${hostPort(3)}:8080
Volume=data.volume:/data
Volume=./host:/host:ro
Tmpfs=/scratch
Label=app=web
AutoUpdate=registry
AddCapability=CAP_NET_RAW
User=0
Group=0
WorkingDir=/data
HealthCmd=test -s /data/copied
HealthInterval=1s
HealthRetries=2
HealthTimeout=5s
HealthStartPeriod=0s
HealthOnFailure=none

[Service]
Restart=always
TimeoutStartSec=300

[Install]
WantedBy=default.target
`;

const DATA = `[Volume]
VolumeName=qdata
Label=app=web
`;

describe('Quadlet units', () => {
  before(() => {
    resetUserState();
    ok(['pull', '-q', 'busybox']);
  });
  after(() => {
    asUser(['rm', '-rf', quadletDir(), outDir()]);
  });

  test('generate-units --dry-run: units for .container and .volume, problems as FILE:LINE with no unit', () => {
    writeQuadlets({
      'web.container': WEB(),
      'data.volume': DATA,
      'bad.container': '[Container]\nImage=busybox\n# a comment\nColour=blue\nReadOnly=maybe\nVolume=missing.volume:/m\n',
      'noimage.container': '[Unit]\nDescription=x\n\n[Container]\nExec=true\n',
      'unknown.volume': '[Volume]\nSize=10G\n',
      'web.container.d/10-extra.conf': '[Container]\nEnvironment=DROPIN=yes\n',
      'bad.container.d/10-bad.conf': '[Container]\nNoSuchKey=1\n',
    });
    const r = tspod(['systemd', 'generate-units', '--dry-run']);
    assert.equal(r.code, 125, r.stderr);
    const bad = path.join(quadletDir(), 'bad.container');
    assert.equal(
      r.stderr.split('\n').filter(Boolean).sort().join('\n'),
      [
        `Error: ${bad}:4: unknown key "Colour" in [Container]`,
        `Error: ${bad}:5: invalid boolean "maybe" for ReadOnly=`,
        `Error: ${bad}:6: missing.volume is not in the Quadlet directories`,
        `Error: ${path.join(quadletDir(), 'noimage.container')}:4: no Image= key in [Container]`,
        `Error: ${path.join(quadletDir(), 'unknown.volume')}:2: unknown key "Size" in [Volume]`,
        `Error: ${path.join(quadletDir(), 'bad.container.d', '10-bad.conf')}:2: unknown key "NoSuchKey" in [Container]`,
      ].sort().join('\n'),
    );
    const units = r.stdout.split(/^---(.+)---$/m).slice(1);
    assert.deepEqual(units.filter((_, i) => i % 2 === 0).sort(), ['data-volume.service', 'web.service']);
    const web = units[units.indexOf('web.service') + 1];
    assert.match(web, /\n\[X-Container\]\nImage=busybox\n/);
    assert.match(web, /\nAfter=data-volume\.service\n/, '[Unit] dependencies on Quadlet files name their services');
    assert.match(web, /\nRequires=data-volume\.service\nAfter=data-volume\.service\n/);
    assert.match(web, /\n\t--publish \d+:8080 \\\n\t--volume qdata:\/data \\\n/);
    assert.match(web, /\n\t--env DROPIN=yes \\\n/, 'drop-ins in web.container.d/ are merged');
    assert.match(web, new RegExp(`\\n\\t--volume ${hostDir()}:/host:ro \\\\\\n`), './ paths are relative to the unit file');
    assert.match(web, /\n\t--label io\.containers\.autoupdate=registry \\\n/);
    assert.match(web, /\n\t--health-cmd "test -s \/data\/copied" \\\n\t--health-interval 1s \\\n\t--health-retries 2 \\\n\t--health-timeout 5s \\\n\t--health-start-period 0s \\\n\t--health-on-failure none \\\n/);
    assert.match(web, /\n\t--user 0:0 busybox sh -c "echo \\"\$\$GREETING \$\$SPACED \$\$\(id -u\)\\" > \/data\/out; /);
    assert.match(web, /\nRestart=always\nTimeoutStartSec=300\n\n\[Install\]\nWantedBy=default\.target\n/);
    const data = units[units.indexOf('data-volume.service') + 1];
    assert.match(data, /\nExecStart=\S+\/tspod volume create --ignore \\\n\t--label app=web qdata\n/);
    assert.match(data, /\nType=oneshot\nRemainAfterExit=yes\n/);
  });

  test('a .network file becomes a `network create` unit that the container joining it requires', () => {
    writeQuadlets({
      'net.network': '[Network]\nSubnet=10.89.7.0/24\nLabel=app=web\n',
      'app.container': `[Container]\nImage=busybox\nNetwork=net.network\nExec=sh -c 'trap "exit 0" TERM; sleep 1000 & wait'\n`,
    });
    const g = tspod(['systemd', 'generate-units', outDir()]);
    assert.equal(g.code, 0, g.stderr);
    for (const f of ['net-network.service', 'app.service']) verifyUnit(path.join(outDir(), f));
    const net = loadUnit(path.join(outDir(), 'net-network.service'));
    const app = loadUnit(path.join(outDir(), 'app.service'));
    assert.deepEqual(app.unit.get('Requires'), ['net-network.service']);
    assert.match(app.service.get('ExecStart')?.[0] ?? '', /--network systemd-net /);
    // Twice, as every boot would: --ignore keeps the second run from failing.
    runExec(net, 'ExecStart');
    runExec(net, 'ExecStart');
    assert.equal(ok(['network', 'inspect', '--format', '{{index .Labels "app"}}', 'systemd-net']), 'web\n');
    startUnit(app);
    assert.equal(inspect('systemd-app', '{{.State.Status}}'), 'running');
    assert.match(inspect('systemd-app', '{{json .NetworkSettings.Networks}}'), /"systemd-net"/);
    stopUnit(app);
    assert.equal(tspod(['container', 'exists', 'systemd-app']).code, 1);
    ok(['network', 'rm', 'systemd-net']);
  });

  test('the user generator writes verified units; run in order they create the volume, run the container, remove it', async () => {
    writeQuadlets({ 'web.container': WEB(), 'data.volume': DATA });
    fs.writeFileSync(path.join(hostDir(), 'in'), 'from the host\n');
    const generator = path.join(testEnv.installDir, 'contrib', 'systemd', 'user-generators', 'tspod-user-generator');
    const g = asUser([generator, outDir(), `${outDir()}.early`, `${outDir()}.late`]);
    assert.equal(g.code, 0, g.stderr);
    assert.deepEqual(fs.readdirSync(outDir()).sort(), ['data-volume.service', 'default.target.wants', 'web.service']);
    assert.equal(fs.readlinkSync(path.join(outDir(), 'default.target.wants', 'web.service')), '../web.service');
    for (const f of ['data-volume.service', 'web.service']) verifyUnit(path.join(outDir(), f));
    const volume = loadUnit(path.join(outDir(), 'data-volume.service'));
    const web = loadUnit(path.join(outDir(), 'web.service'));

    // systemd starts what web.service requires first.
    for (const round of [1, 2]) {
      runExec(volume, 'ExecStart');
      assert.equal(ok(['volume', 'inspect', '--format', '{{index .Labels "app"}}', 'qdata']), 'web\n');
      startUnit(web);
      assert.equal(inspect('qweb', '{{.State.Status}}'), 'running', `round ${round}`);
      assert.equal(inspect('qweb', '{{index .Config.Labels "PODMAN_SYSTEMD_UNIT"}}'), 'web.service');
      assert.equal(inspect('qweb', '{{index .Config.Labels "io.containers.autoupdate"}}'), 'registry');
      const out = ok(['exec', 'qweb', 'cat', '/data/out', '/data/copied']);
      assert.equal(out, 'hello a b 0\nfrom the host\n');
      assert.equal(await fetchPublished(hostPort(3), 'copied'), 'from the host\n', 'PublishPort= publishes');
      await waitForHealth('qweb', 'healthy');
      stopUnit(web);
      assert.equal(tspod(['container', 'exists', 'qweb']).code, 1, `round ${round}: removed on stop`);
      assert.ok(!fs.existsSync(path.join(testEnv.runtimeDir, 'web.cid')), 'the ID file goes with the container');
    }
    assert.equal(ok(['run', '--rm', '-v', 'qdata:/d', 'busybox', 'cat', '/d/copied']), 'from the host\n');
  });

  test('generate-units needs an output directory unless --dry-run', () => {
    const r = tspod(['systemd', 'generate-units']);
    assert.equal(r.code, 125);
    assert.equal(r.stderr, 'Error: an output directory is needed (or --dry-run)\n');
  });
});
