import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QuadletContext, QuadletError, quadletService, QuadletSource, serviceNameOf } from '../../pkg/systemd/quadlet';
import { parseUnitFile } from '../../pkg/systemd/unit-file';

const RUN_FLAGS = ['--env', '--volume', '--label', '--publish', '--user', '--cgroups', '--health-cmd', '--sdnotify', '--read-only-tmpfs', '--cap-add'];

function source(file: string, text: string): QuadletSource {
  return { file, kind: file.endsWith('.volume') ? 'volume' : file.endsWith('.network') ? 'network' : 'container', unit: parseUnitFile(text, file) };
}

function context(notify: boolean, ...files: QuadletSource[]): QuadletContext {
  return {
    binary: '/t/tspod',
    runRoot: '%t/tspod',
    notify,
    flags: { run: new Set(RUN_FLAGS), 'volume create': new Set(['--ignore', '--label', '--opt']) },
    sources: new Map(files.map((f) => [f.file.split('/').pop() as string, f])),
  };
}

test('service names: web.container, data.volume, net.network', () => {
  assert.deepEqual(['/d/web.container', '/d/data.volume', '/d/net.network'].map(serviceNameOf), ['web.service', 'data-volume.service', 'net-network.service']);
});

test('a container: default name systemd-%N, notify when relayed, flags in file order, user sections kept', () => {
  const web = source('/q/web.container', '[Container]\nImage=busybox\nPublishPort=8080:80\nHealthCmd=true\nReadOnlyTmpfs=no\nEnvironment=A=1 "B=x y"\n[Service]\nType=oneshot\n[Timer]\nOnCalendar=daily\n');
  const s = quadletService(web, context(true, web));
  assert.match(s.text, /\n\t--name=systemd-%N \\\n/);
  assert.doesNotMatch(s.text, /--sdnotify|\n\t-d \\|Type=notify/, 'Type=oneshot: run in the foreground');
  assert.match(s.text, /\n\t--publish 8080:80 \\\n\t--health-cmd true \\\n\t--read-only-tmpfs=false \\\n\t--env A=1 \\\n\t--env "B=x y" busybox\n/);
  assert.match(s.text, /\nType=oneshot\n\n\[Timer\]\nOnCalendar=daily\n$/);
  const plain = source('/q/p.container', '[Container]\nImage=busybox\nNotify=true\n');
  assert.match(quadletService(plain, context(true, plain)).text, /\nType=notify\nNotifyAccess=all\n[\s\S]*\t--sdnotify=container \\\n/);
  const bare = quadletService(source('/q/b.container', '[Quadlet]\nDefaultDependencies=no\n[Container]\nImage=busybox\n'), context(false)).text;
  assert.doesNotMatch(bare, /network-online|\[Quadlet\]/);
  assert.match(quadletService(plain, context(true, plain)).text, /\nWants=network-online\.target\nAfter=network-online\.target\n/);
  const forking = quadletService(source('/q/f.container', '[Container]\nImage=busybox\n'), context(false));
  assert.match(forking.text, /\t--conmon-pidfile=%t\/%N\.pid \\\n\t-d busybox\n/);
  assert.match(forking.text, /\nType=forking\nPIDFile=%t\/%N\.pid\n/);
});

test('every problem of a file is reported with its line; flags this tspod lacks are problems too', () => {
  const bad = source('/q/bad.container', '[Container]\nImage=busybox\nMemory=1g\nGroup=5\nAutoUpdate=sometimes\nPod=x.pod\n[Service]\nExecStart=/bin/true\n');
  assert.throws(
    () => quadletService(bad, context(true, bad)),
    (e: Error) =>
      e instanceof QuadletError &&
      e.message ===
        [
          '/q/bad.container:3: Memory= needs `tspod run --memory`, which this tspod does not have',
          '/q/bad.container:5: invalid AutoUpdate "sometimes": use registry or local',
          '/q/bad.container:6: Pod= is not supported: tspod has no pods',
          '/q/bad.container:4: Group= needs User=',
          '/q/bad.container:8: ExecStart= is generated from [Container]: leave it out of [Service]',
        ].join('\n'),
  );
  assert.throws(() => quadletService(source('/q/n.network', '[Network]\nSubnet=10.0.0.0/24\n'), context(true)), /n\.network:2: Subnet= needs `tspod network create`, which this tspod does not have/);
  assert.throws(() => quadletService(source('/q/e.container', '[Unit]\nDescription=x\n'), context(true)), /e\.container:1: no \[Container\] section/);
});
