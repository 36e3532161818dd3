// `container inspect` as a pure function over a stored container, and `top`'s process tree
// and ps arguments.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Container, ContainerConfig } from '../../pkg/container/container-config';
import { binds, inspectContainer, InspectFacts, timeText, ulimitEntries, ZERO_TIME } from '../../pkg/container/container-inspect';
import { containerPaths } from '../../pkg/container/container-paths';
import { descendants, keepContainerRows, psArguments } from '../../pkg/container/container-top';
import { renderTemplate } from '../../pkg/format/go-template';
import type { EngineConfig } from '../../pkg/config/engine-config';

const ID = 'ab'.repeat(32);
const IMAGE_ID = `sha256:${'cd'.repeat(32)}`;

function config(over: Partial<ContainerConfig> = {}): ContainerConfig {
  return {
    imageId: IMAGE_ID,
    imageName: 'docker.io/library/busybox:latest',
    entrypoint: [],
    cmd: ['sleep', '100'],
    env: ['FOO=bar'],
    groupAdd: [],
    tty: false,
    stdin: false,
    labels: { a: 'b' },
    annotations: {},
    mounts: [
      { type: 'bind', source: '/srv/data', destination: '/data', readonly: true, options: [] },
      { type: 'volume', source: 'vol1', destination: '/vol', readonly: false, options: [] },
      { type: 'tmpfs', destination: '/scratch', readonly: false, options: ['size=1m'] },
    ],
    readOnly: false,
    capAdd: ['NET_ADMIN'],
    capDrop: [],
    privileged: false,
    securityOpt: [],
    ulimits: ['nofile=1024:2048'],
    network: 'slirp4netns',
    stopSignal: 'TERM',
    stopTimeout: 10,
    logDriver: 'k8s-file',
    logOpts: { 'max-size': '1m', 'max-size-bytes': '1048576' },
    restartPolicy: { name: 'on-failure', maxRetries: 3 },
    autoRemove: false,
    devices: ['/dev/fuse'],
    resources: { memory: 1048576, cpus: 1.5, pidsLimit: 100 },
    ...over,
  };
}

function container(over: Partial<Container> = {}, cfg: Partial<ContainerConfig> = {}): Container {
  return {
    id: ID,
    name: 'web',
    imageId: IMAGE_ID,
    imageName: 'docker.io/library/busybox:latest',
    status: 'running',
    pid: 4242,
    monitorPid: 4240,
    exitCode: 0,
    created: Date.UTC(2024, 0, 2, 3, 4, 5, 678),
    startedAt: Date.UTC(2024, 0, 2, 3, 4, 6),
    finishedAt: 0,
    restartCount: 0,
    stoppedByUser: false,
    config: config(cfg),
    state: {},
    ...over,
  };
}

const paths = containerPaths({ graphRoot: '/g', runRoot: '/r' } as EngineConfig, ID);

function facts(over: Partial<InspectFacts> = {}): InspectFacts {
  return {
    paths,
    driver: 'overlay',
    lowerDirs: ['/g/layers/2/diff', '/g/layers/1/diff'],
    imageEnv: ['PATH=/bin:/usr/bin'],
    imageWorkdir: '/home',
    volumeMountpoint: (n) => `/g/volumes/${n}/_data`,
    ...over,
  };
}

describe('container inspect document', () => {
  it('has the identity, process and state of a running container', () => {
    const doc = inspectContainer(container(), facts());
    assert.equal(doc.Id, ID);
    assert.equal(doc.Name, 'web');
    assert.equal(doc.Created, '2024-01-02T03:04:05.678Z');
    assert.equal(doc.Path, 'sleep');
    assert.deepEqual(doc.Args, ['100']);
    assert.equal(doc.Image, IMAGE_ID);
    assert.equal(doc.ImageName, 'docker.io/library/busybox:latest');
    assert.equal(doc.State.Status, 'running');
    assert.equal(doc.State.Running, true);
    assert.equal(doc.State.Pid, 4242);
    assert.equal(doc.State.StartedAt, '2024-01-02T03:04:06Z');
    assert.equal(doc.State.FinishedAt, ZERO_TIME);
    assert.equal(doc.HostnamePath, '/g/containers/' + ID + '/userdata/hostname');
    assert.equal(doc.LogPath, paths.logPath);
    assert.equal(doc.SizeRw, undefined);
  });

  it('reports an exited container with its code and no pid', () => {
    const doc = inspectContainer(container({ status: 'exited', exitCode: 3, pid: 0, finishedAt: Date.UTC(2024, 0, 3) }), facts());
    assert.equal(doc.State.Status, 'exited');
    assert.equal(doc.State.Running, false);
    assert.equal(doc.State.ExitCode, 3);
    assert.equal(doc.State.Pid, 0);
    assert.equal(doc.State.FinishedAt, '2024-01-03T00:00:00Z');
    assert.equal(doc.NetworkSettings.IPAddress, '');
    assert.equal(doc.NetworkSettings.Networks.slirp4netns.IPAddress, '');
    const created = inspectContainer(container({ status: 'created', pid: 0, startedAt: 0 }), facts());
    assert.equal(created.State.Status, 'created');
    assert.equal(created.State.StartedAt, ZERO_TIME);
    assert.equal(inspectContainer(container({ status: 'paused' }), facts()).State.Paused, true);
  });

  it('merges the image environment and takes its working dir', () => {
    const doc = inspectContainer(container(), facts());
    const env = doc.Config.Env as string[];
    assert.ok(env.includes('PATH=/bin:/usr/bin'));
    assert.ok(env.includes('FOO=bar'));
    assert.ok(env.includes('HOSTNAME=' + ID.slice(0, 12)));
    assert.equal(doc.Config.WorkingDir, '/home');
    assert.deepEqual(doc.Config.Cmd, ['sleep', '100']);
    assert.equal(doc.Config.Entrypoint, null);
    assert.equal(doc.Config.StopSignal, 'SIGTERM');
    assert.equal(doc.Config.Hostname, ID.slice(0, 12));
  });

  it('describes mounts, binds, limits and the log config', () => {
    const doc = inspectContainer(container(), facts());
    assert.deepEqual(
      doc.Mounts.map((m) => [m.Type, m.Name, m.Source, m.Destination, m.RW, m.Propagation]),
      [
        ['bind', undefined, '/srv/data', '/data', false, 'rprivate'],
        ['volume', 'vol1', '/g/volumes/vol1/_data', '/vol', true, ''],
      ],
    );
    const hc = doc.HostConfig;
    assert.deepEqual(hc.Binds, ['/srv/data:/data:ro', 'vol1:/vol']);
    assert.deepEqual(hc.Tmpfs, { '/scratch': 'size=1m' });
    assert.deepEqual(hc.LogConfig, { Type: 'k8s-file', Config: { 'max-size': '1m' }, Path: paths.logPath, Tag: '' });
    assert.deepEqual(hc.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 });
    assert.equal(hc.Memory, 1048576);
    assert.equal(hc.NanoCpus, 1500000000);
    assert.equal(hc.PidsLimit, 100);
    assert.equal(hc.ShmSize, 65536000);
    assert.deepEqual(hc.Ulimits, [{ Name: 'RLIMIT_NOFILE', Soft: 1024, Hard: 2048 }]);
    assert.deepEqual(hc.Devices, [{ PathOnHost: '/dev/fuse', PathInContainer: '/dev/fuse', CgroupPermissions: 'rwm' }]);
    assert.equal(hc.NetworkMode, 'slirp4netns');
  });

  it('gives slirp4netns addresses to a running slirp container, none to --network none', () => {
    const network = {
      mode: 'slirp4netns' as const,
      helpers: [],
      ports: [{ protocol: 'tcp' as const, hostIp: '', hostPort: 8080, containerPort: 80 }],
      networks: { slirp4netns: { ipAddress: '10.0.2.100', prefixLen: 24, gateway: '10.0.2.2', macAddress: '02:00:00:00:00:01' } },
    };
    const doc = inspectContainer(container({ state: { network } }, { exposedPorts: ['80/tcp', '53/udp'], publish: [{ protocol: 'tcp', hostIp: '', hostPort: 8080, containerPort: 80, count: 1 }] }), facts());
    assert.deepEqual(doc.NetworkSettings.Ports, { '80/tcp': [{ HostIp: '0.0.0.0', HostPort: '8080' }], '53/udp': null });
    assert.deepEqual(doc.HostConfig.PortBindings, { '80/tcp': [{ HostIp: '', HostPort: '8080' }] });
    assert.deepEqual(doc.Config.ExposedPorts, { '80/tcp': {}, '53/udp': {} });
    assert.equal(doc.NetworkSettings.MacAddress, '02:00:00:00:00:01');
    assert.equal(doc.NetworkSettings.IPAddress, '10.0.2.100');
    assert.equal(doc.NetworkSettings.Networks.slirp4netns.Gateway, '10.0.2.2');
    assert.equal(renderTemplate('{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', doc), '10.0.2.100');
    assert.equal(renderTemplate('{{.State.Status}} {{.State.ExitCode}}', doc), 'running 0');
    const none = inspectContainer(container({}, { network: 'none' }), facts());
    assert.deepEqual(none.NetworkSettings.Networks, {});
  });

  it('names the overlay dirs, and adds sizes when asked', () => {
    const doc = inspectContainer(container(), facts({ sizes: { rw: 10, rootFs: 110 } }));
    assert.deepEqual(doc.GraphDriver, {
      Name: 'overlay',
      Data: { LowerDir: '/g/layers/2/diff:/g/layers/1/diff', UpperDir: paths.upper, WorkDir: paths.work, MergedDir: paths.rootfs },
    });
    assert.equal(doc.SizeRw, 10);
    assert.equal(doc.SizeRootFs, 110);
    assert.deepEqual(inspectContainer(container(), facts({ driver: 'vfs', lowerDirs: [] })).GraphDriver, { Name: 'vfs', Data: null });
  });

  it('helpers', () => {
    assert.equal(timeText(0), ZERO_TIME);
    assert.equal(timeText(Date.UTC(2024, 0, 1, 0, 0, 0, 500)), '2024-01-01T00:00:00.5Z');
    assert.deepEqual(ulimitEntries(['nproc=10', 'bogus']), [{ Name: 'RLIMIT_NPROC', Soft: 10, Hard: 10 }]);
    assert.deepEqual(binds(container({}, { mounts: [] })), []);
  });
});

describe('container top', () => {
  it('finds a process and its descendants', () => {
    const parents = new Map([[1, 0], [10, 1], [11, 10], [12, 11], [13, 10], [20, 1]]);
    assert.deepEqual(descendants(10, parents), [10, 11, 13, 12]);
    assert.deepEqual(descendants(99, parents), [99]);
  });

  it('turns descriptors into ps columns and passes ps options through', () => {
    assert.deepEqual(psArguments(['pid', 'args'], [5, 6]), ['-o', 'pid=PID', '-o', 'args=COMMAND', '-p', '5,6']);
    assert.equal(psArguments([], [5]).filter((a) => a === '-o').length, 8);
    assert.deepEqual(psArguments(['-o', 'pid,comm'], [5]), ['-o', 'pid,comm', '-p', '5']);
    assert.throws(() => psArguments(['nonsense'], [5]), /unknown descriptor: nonsense/);
  });

  it('keeps only the rows of the container processes', () => {
    const out = '  PID CMD\n    1 init\n    5 sleep\n    7 other\n';
    assert.equal(keepContainerRows(out, [5]), '  PID CMD\n    5 sleep\n');
    assert.equal(keepContainerRows('CMD\nx\n', [5]), 'CMD\nx\n');
  });
});
