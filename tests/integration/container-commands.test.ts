// inspect, rename, container exists, port, top, pause/unpause, restart and container prune,
// as the unprivileged user (pause also as root). Containers here carry a label and a `cc-`
// name prefix so that prune and cleanup leave other tests' containers alone.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { asRoot, image, tspod } from './harness';
import { labelledContainers } from './labelled-containers';

const LABEL = 'tspod-test=container-commands';

const { runDetached, inspectField, removeOurs } = labelledContainers(LABEL);

describe('container commands', () => {
  before(() => {
    const r = tspod(['pull', '-q', 'busybox'], { timeoutMs: 120_000 });
    assert.equal(r.code, 0, r.stderr);
    removeOurs();
  });
  after(removeOurs);

  test('inspect gives Docker-compatible documents and templates', () => {
    const id = runDetached('cc-inspect', '-e', 'FOO=bar', '-v', '/tmp:/mnt:ro', 'busybox', 'sleep', '100');
    const r = tspod(['inspect', 'cc-inspect']);
    assert.equal(r.code, 0, r.stderr);
    const [doc] = JSON.parse(r.stdout);
    assert.equal(doc.Id, id);
    assert.equal(doc.Name, 'cc-inspect');
    assert.equal(doc.Path, 'sleep');
    assert.deepEqual(doc.Args, ['100']);
    assert.match(doc.Image, /^sha256:[0-9a-f]{64}$/);
    assert.match(doc.Created, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    assert.equal(doc.State.Status, 'running');
    assert.equal(doc.State.FinishedAt, '0001-01-01T00:00:00Z');
    assert.ok(doc.State.Pid > 0);
    assert.ok(doc.Config.Env.includes('FOO=bar'));
    assert.deepEqual(doc.HostConfig.Binds, ['/tmp:/mnt:ro']);
    assert.equal(doc.Mounts[0].RW, false);
    assert.equal(inspectField('cc-inspect', '{{.State.Status}} {{.State.ExitCode}}'), 'running 0');
    assert.equal(inspectField('cc-inspect', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}'), '10.0.2.100');
    const sized = JSON.parse(tspod(['container', 'inspect', '-s', 'cc-inspect']).stdout)[0];
    assert.equal(typeof sized.SizeRw, 'number');
    assert.ok(sized.SizeRootFs >= sized.SizeRw);
    assert.equal(tspod(['rm', '-f', 'cc-inspect']).code, 0);

    const exited = tspod(['run', '--name', 'cc-exit', '-l', LABEL, 'busybox', 'sh', '-c', 'exit 3']);
    assert.equal(exited.code, 3);
    assert.equal(inspectField('cc-exit', '{{.State.Status}} {{.State.ExitCode}}'), 'exited 3');
    assert.notEqual(inspectField('cc-exit', '{{.State.FinishedAt}}'), '0001-01-01T00:00:00Z');
  });

  test('a container named like an image wins; --type picks one; missing names fail', () => {
    assert.equal(tspod(['create', '--name', 'busybox', '-l', LABEL, 'busybox', 'true']).code, 0);
    assert.equal(inspectField('busybox', '{{.Name}}'), 'busybox');
    assert.match(tspod(['inspect', '--type', 'image', '--format', '{{.Id}}', 'busybox']).stdout, /^sha256:/);
    const missing = tspod(['inspect', '--type', 'container', 'cc-no-such']);
    assert.equal(missing.code, 125);
    assert.match(missing.stderr, /no such container: cc-no-such/);
    assert.equal(missing.stdout.trim(), '[]');
    assert.equal(tspod(['rm', 'busybox']).code, 0);
  });

  test('rename, container exists, port', () => {
    runDetached('cc-old', 'busybox', 'sleep', '100');
    runDetached('cc-other', 'busybox', 'sleep', '100');
    assert.equal(tspod(['container', 'exists', 'cc-old']).code, 0);
    assert.equal(tspod(['container', 'exists', 'cc-nope']).code, 1);
    const bad = tspod(['rename', 'cc-old', 'bad/name']);
    assert.equal(bad.code, 125);
    assert.match(bad.stderr, /names must match/);
    const taken = tspod(['rename', 'cc-old', 'cc-other']);
    assert.equal(taken.code, 125);
    assert.match(taken.stderr, /already in use/);
    assert.equal(tspod(['rename', 'cc-old', 'cc-new']).code, 0);
    assert.equal(tspod(['container', 'exists', 'cc-old']).code, 1);
    assert.equal(inspectField('cc-new', '{{.Name}} {{.State.Status}}'), 'cc-new running');

    const none = tspod(['port', 'cc-new']);
    assert.equal(none.code, 0, none.stderr);
    assert.equal(none.stdout, '');
    const p80 = tspod(['port', 'cc-new', '80']);
    assert.notEqual(p80.code, 0);
    assert.equal(p80.stderr, "Error: No public port '80/tcp' published for cc-new\n");
    assert.notEqual(tspod(['port', 'cc-nope']).code, 0);
  });

  test('top lists the processes of the container', () => {
    runDetached('cc-top', 'busybox', 'sh', '-c', 'sleep 100 & sleep 101');
    const r = tspod(['top', 'cc-top']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0], /^USER\s+PID\s+PPID\s+%CPU\s+ELAPSED\s+TTY\s+TIME\s+COMMAND$/);
    assert.ok(lines.some((l) => /sleep 100$/.test(l)), r.stdout);
    assert.ok(lines.some((l) => /sleep 101$/.test(l)), r.stdout);
    assert.ok(lines.slice(1).every((l) => l.startsWith('root')), r.stdout);
    const cols = tspod(['top', 'cc-top', 'pid', 'args']);
    assert.match(cols.stdout.split('\n')[0], /^\s*PID\s+COMMAND$/);
    const opts = tspod(['top', 'cc-top', '-o', 'pid,comm']);
    assert.equal(opts.code, 0, opts.stderr);
    assert.ok(opts.stdout.includes('sleep'));
    assert.equal(tspod(['stop', '-t', '0', 'cc-top']).code, 0);
    assert.notEqual(tspod(['top', 'cc-top']).code, 0);
  });

  test('pause fails clearly rootless on cgroup v1', () => {
    runDetached('cc-pause', 'busybox', 'sleep', '100');
    const r = tspod(['pause', 'cc-pause']);
    assert.equal(r.code, 125);
    assert.equal(r.stderr, 'Error: pausing containers requires a cgroup the user can write: this host has cgroup v1 and tspod runs rootless\n');
    assert.equal(inspectField('cc-pause', '{{.State.Status}}'), 'running');
  });

  test('restart stops and starts again, several names', () => {
    runDetached('cc-r1', 'busybox', 'sleep', '100');
    assert.equal(tspod(['create', '--name', 'cc-r2', '-l', LABEL, 'busybox', 'sleep', '100']).code, 0);
    const pid = inspectField('cc-r1', '{{.State.Pid}}');
    const r = tspod(['restart', '-t', '0', 'cc-r1', 'cc-r2']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'cc-r1\ncc-r2\n');
    assert.equal(inspectField('cc-r1', '{{.State.Status}}'), 'running');
    assert.notEqual(inspectField('cc-r1', '{{.State.Pid}}'), pid);
    assert.equal(inspectField('cc-r2', '{{.State.Status}}'), 'running');
    const missing = tspod(['restart', 'cc-r1', 'cc-nope']);
    assert.notEqual(missing.code, 0);
    assert.equal(missing.stdout, 'cc-r1\n');
  });

  test('container prune removes the stopped containers it matches', () => {
    assert.equal(tspod(['create', '--name', 'cc-p1', '-l', LABEL, 'busybox', 'true']).code, 0);
    assert.equal(tspod(['run', '--name', 'cc-p2', '-l', LABEL, '-l', 'keep=1', 'busybox', 'true']).code, 0);
    runDetached('cc-p3', 'busybox', 'sleep', '100');
    const p1 = inspectField('cc-p1', '{{.Id}}');
    const no = tspod(['container', 'prune', '--filter', `label=${LABEL}`], { input: 'n\n' });
    assert.equal(no.code, 0);
    assert.match(no.stdout, /^WARNING! This will remove all non running containers\.\nAre you sure you want to continue\? \[y\/N\] $/);
    assert.equal(tspod(['container', 'exists', 'cc-p1']).code, 0);
    const r = tspod(['container', 'prune', '-f', '--filter', `label=${LABEL}`, '--filter', 'label!=keep']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(r.stdout.split('\n').includes(p1), r.stdout);
    assert.equal(tspod(['container', 'exists', 'cc-p1']).code, 1);
    assert.equal(tspod(['container', 'exists', 'cc-p2']).code, 0);
    assert.equal(tspod(['container', 'exists', 'cc-p3']).code, 0);
    assert.equal(tspod(['container', 'prune', '-f', '--filter', 'until=1h', '--filter', `label=${LABEL}`]).stdout, '');
    assert.equal(tspod(['container', 'prune', '-f', '--filter', 'bogus=1']).code, 125);
  });
});

describe('pause as root', () => {
  const ref = image('busybox:latest').ref;
  const root = (args: string[]) => asRoot(['tspod', ...args], { timeoutMs: 120_000 });
  after(() => root(['rm', '-f', 'cc-root-pause']));

  test('pause freezes and unpause thaws', () => {
    assert.equal(root(['pull', '-q', '--tls-verify=false', ref]).code, 0);
    root(['rm', '-f', 'cc-root-pause']);
    assert.equal(root(['run', '-d', '--name', 'cc-root-pause', ref, 'sleep', '100']).code, 0);
    const p = root(['pause', 'cc-root-pause']);
    assert.equal(p.code, 0, p.stderr);
    assert.equal(root(['inspect', '--format', '{{.State.Status}} {{.State.Paused}}', 'cc-root-pause']).stdout, 'paused true\n');
    assert.equal(root(['pause', 'cc-root-pause']).code, 125);
    const u = root(['unpause', 'cc-root-pause']);
    assert.equal(u.code, 0, u.stderr);
    assert.equal(root(['inspect', '--format', '{{.State.Status}}', 'cc-root-pause']).stdout, 'running\n');
  });
});
