// Network modes, published ports and the name files, as the unprivileged user (and publishing
// as root, second). Traffic goes only to loopback: the test's own servers on 127.0.0.1 and busybox
// httpd in containers.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { asRoot, asUser, image, processRuns, resetUserState, spawnTspod, testEnv, tspod, waitFor } from './harness';

/**
 * A process of its own (tspod() blocks this one's event loop) that serves `from-host` on a
 * port of 127.0.0.1; resolves with the process and its port.
 */
async function hostServer(): Promise<{ proc: ChildProcess; port: number }> {
  const code = "require('http').createServer((q, r) => r.end('from-host\\n')).listen(0, '127.0.0.1', function () { console.log(this.address().port); })";
  const proc = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    proc.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())));
    proc.once('exit', (c) => reject(new Error(`the host server exited (${c})`)));
  });
  return { proc, port };
}

/** A port free on the host right now (the kernel's pick, released again). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** The port can be bound on 127.0.0.1 right now. */
function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** Two consecutive ports free right now (the kernel's pick and the next one, which may be taken). */
async function freePortPair(): Promise<number> {
  for (;;) {
    const base = await freePort();
    if (base < 65535 && (await canBind(base + 1))) return base;
  }
}

/** curl as the test user, as a person would from their shell. */
function curl(url: string): { code: number; body: string } {
  const r = asUser(['curl', '-sS', '-m', '5', url]);
  return { code: r.code, body: r.stdout };
}

function ok(args: string[]): string {
  const r = tspod(args);
  assert.equal(r.code, 0, `tspod ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** httpd serving /etc of the container (so /hostname names it). */
const HTTPD = ['busybox', 'httpd', '-f', '-p', '80', '-h', '/etc'];

function helperProcesses(): string[] {
  const r = asUser(['sh', '-c', 'ps -u "$(id -u)" -o comm=']);
  return r.stdout.split('\n').filter((c) => /slirp4netns|tspod-portfwd|passt|pasta/.test(c));
}

/** The network helpers of removed containers are gone (killed ones take a moment to be reaped). */
async function noHelpersLeft(): Promise<void> {
  await waitFor(() => helperProcesses().length === 0, 5_000, `no network helpers left (${helperProcesses().join(', ')})`);
}

/** The first process whose command line names FILE (0: none). */
function pidNaming(file: string): number {
  for (const entry of fs.readdirSync('/proc').filter((e) => /^\d+$/.test(e))) {
    try {
      if (fs.readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0').includes(file)) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return 0;
}

/** The containers' network namespace files (made before create, kept by a bind mount). */
function netnsFiles(): string[] {
  const dir = path.join(testEnv.runtimeDir, 'tspod', 'net');
  return fs.existsSync(dir) ? fs.readdirSync(dir).filter((f) => f.endsWith('.netns')) : [];
}

function psAll(): string[] {
  return ok(['ps', '-a', '--format', '{{.Names}}']).split('\n').filter(Boolean);
}

describe('published ports', () => {
  before(() => {
    resetUserState();
    ok(['pull', '-q', 'busybox']);
  });
  after(() => tspod(['rm', '-f', '-a']));

  test('-p 127.0.0.1:PORT:80 serves busybox httpd to curl on the host; port, ps and inspect show it', async () => {
    const port = await freePort();
    const id = ok(['run', '-d', '--name', 'web', '-p', `127.0.0.1:${port}:80`, ...HTTPD]).trim();
    await waitFor(() => curl(`http://127.0.0.1:${port}/hostname`).body === `${id.slice(0, 12)}\n`, 10_000, 'httpd through the published port');
    assert.equal(ok(['port', 'web']), `80/tcp -> 127.0.0.1:${port}\n`);
    assert.equal(ok(['port', 'web', '80/tcp']), `127.0.0.1:${port}\n`);
    const missing = tspod(['port', 'web', '81']);
    assert.equal(missing.code, 125);
    assert.match(missing.stderr, /No public port '81\/tcp' published for web/);
    assert.match(ok(['ps', '--format', '{{.Ports}}']), new RegExp(`^127\\.0\\.0\\.1:${port}->80/tcp$`, 'm'));
    const ports = JSON.parse(ok(['inspect', 'web', '--format', '{{json .NetworkSettings.Ports}}']));
    assert.deepEqual(ports, { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] });
    const bindings = JSON.parse(ok(['inspect', 'web', '--format', '{{json .HostConfig.PortBindings}}']));
    assert.deepEqual(bindings, { '80/tcp': [{ HostIp: '127.0.0.1', HostPort: String(port) }] });
    assert.equal(ok(['inspect', 'web', '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}']), '10.0.2.100\n');
    ok(['rm', '-f', 'web']);
    await noHelpersLeft();
    assert.notEqual(curl(`http://127.0.0.1:${port}/hostname`).code, 0, 'the port is released');
  });

  test('-p 80 picks a random host port that `port` reports, on every address (IPv4 and IPv6 loopback)', async () => {
    ok(['run', '-d', '--name', 'rnd', '-p', '80', ...HTTPD]);
    const line = ok(['port', 'rnd', '80']).trim();
    const m = /^0\.0\.0\.0:(\d+)$/.exec(line);
    assert.ok(m, line);
    await waitFor(() => curl(`http://127.0.0.1:${m[1]}/hostname`).code === 0, 10_000, 'httpd on the random port');
    assert.equal(curl(`http://[::1]:${m[1]}/hostname`).code, 0);
    ok(['rm', '-f', 'rnd']);
  });

  test('-P publishes the exposed ports (--expose and the image) to random ports; a range maps port by port', async () => {
    ok(['run', '-d', '--name', 'all', '-P', '--expose', '80', '--expose', '7000-7001/udp', ...HTTPD]);
    const lines = ok(['port', 'all']).trim().split('\n');
    assert.deepEqual(lines.map((l) => l.split(' -> ')[0]), ['80/tcp', '7000/udp', '7001/udp']);
    const port = lines[0].split(':')[1];
    await waitFor(() => curl(`http://127.0.0.1:${port}/hostname`).code === 0, 10_000, 'httpd through -P');
    ok(['rm', '-f', 'all']);
    const base = await freePortPair();
    ok(['run', '-d', '--name', 'range', '-p', `127.0.0.1:${base}-${base + 1}:80-81`, 'busybox', 'sh', '-c', 'httpd -p 80 -h /etc; httpd -f -p 81 -h /etc']);
    assert.equal(ok(['port', 'range']), `80/tcp -> 127.0.0.1:${base}\n81/tcp -> 127.0.0.1:${base + 1}\n`);
    await waitFor(() => curl(`http://127.0.0.1:${base + 1}/hostname`).code === 0, 10_000, 'the second port of the range');
    assert.match(ok(['ps', '--format', '{{.Ports}}']), new RegExp(`127\\.0\\.0\\.1:${base}-${base + 1}->80-81/tcp`));
    ok(['rm', '-f', 'range']);
  });

  test('a udp port reaches a listener in the container and the reply comes back', async () => {
    const port = await freePort();
    ok(['run', '-d', '--name', 'udp', '-p', `127.0.0.1:${port}:9000/udp`, 'busybox', 'sleep', '1000']);
    // busybox has no UDP server: a host python runs one inside the container's network namespace
    // (it exits by itself after 15 s without a datagram).
    const pid = ok(['inspect', 'udp', '--format', '{{.State.Pid}}']).trim();
    const echo = "import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)\ns.bind(('0.0.0.0', 9000))\ns.settimeout(15)\nwhile True:\n    d, a = s.recvfrom(100)\n    s.sendto(d.upper(), a)\n";
    const server = spawnTspod(['unshare', 'nsenter', `--net=/proc/${pid}/ns/net`, 'python3', '-c', echo]);
    const sock = dgram.createSocket('udp4');
    let reply = '';
    sock.on('message', (m) => (reply = m.toString()));
    try {
      await waitFor(
        async () => {
          await new Promise<void>((resolve) => sock.send('ping', port, '127.0.0.1', () => resolve()));
          await new Promise((resolve) => setTimeout(resolve, 100));
          return reply === 'PING';
        },
        10_000,
        'the echo of a datagram sent through the published udp port',
      );
    } finally {
      sock.close();
      server.kill('SIGKILL');
      tspod(['rm', '-f', 'udp']);
    }
  });

  test('a host port in use fails run with one line and exit 125, and leaves no container', async () => {
    const holder = net.createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', () => resolve()));
    const port = (holder.address() as net.AddressInfo).port;
    try {
      const r = tspod(['run', '-d', '--name', 'clash', '-p', `${port}:80`, ...HTTPD]);
      assert.equal(r.code, 125);
      assert.match(r.stderr, new RegExp(`^Error: cannot publish 0\\.0\\.0\\.0:${port}/tcp: the port is already in use: .*\\n$`));
      assert.deepEqual(psAll(), []);
      assert.deepEqual(netnsFiles(), []);
      // A created container whose port was taken since: start fails the same way, the container stays.
      ok(['create', '--name', 'later', '-p', `${port}:80`, ...HTTPD]);
      const s = tspod(['start', 'later']);
      assert.equal(s.code, 125);
      assert.match(s.stderr, /already in use/);
      assert.equal(ok(['ps', '-a', '--format', '{{.Names}} {{.State}}']), 'later created\n');
      await noHelpersLeft();
      assert.deepEqual(netnsFiles(), [], 'the namespace made for the failed start is gone');
    } finally {
      holder.close();
    }
    ok(['rm', '-f', 'later']);
  });

  test('bad -p and --network values fail before anything is created', () => {
    for (const args of [
      ['-p', '99999:80'],
      ['-p', '8000-8002:80-90'],
      ['--network', 'slirp4netns:bogus=1'],
      ['--network', 'none', '-p', '80'],
    ]) {
      const r = tspod(['run', '--rm', ...args, 'busybox', 'true']);
      assert.equal(r.code, 125, args.join(' '));
      assert.match(r.stderr, /^Error: .*\n$/);
    }
    assert.deepEqual(psAll(), []);
  });

  test('port_handler=slirp4netns publishes through the slirp4netns API socket', async () => {
    const port = await freePort();
    ok(['run', '-d', '--name', 'api', '--network', 'slirp4netns:port_handler=slirp4netns', '-p', `${port}:80`, ...HTTPD]);
    await waitFor(() => curl(`http://127.0.0.1:${port}/hostname`).code === 0, 10_000, 'httpd through slirp4netns hostfwd');
    assert.equal(ok(['port', 'api']), `80/tcp -> 0.0.0.0:${port}\n`);
    ok(['rm', '-f', 'api']);
    await noHelpersLeft();
  });

  test('pasta publishes ports and keeps the client address (slirp4netns shows its own)', async () => {
    // A CGI script printing the address the connection came from.
    const script = 'mkdir -p /w/cgi-bin; printf "#!/bin/sh\\necho\\necho \\$REMOTE_ADDR\\n" > /w/cgi-bin/ip; chmod +x /w/cgi-bin/ip; exec httpd -f -p 80 -h /w';
    const [pastaPort, slirpPort] = [await freePort(), await freePort()];
    ok(['run', '-d', '--name', 'pasta', '--network', 'pasta', '-p', `${pastaPort}:80`, 'busybox', 'sh', '-c', script]);
    ok(['run', '-d', '--name', 'slirp', '-p', `${slirpPort}:80`, 'busybox', 'sh', '-c', script]);
    await waitFor(() => curl(`http://127.0.0.1:${pastaPort}/cgi-bin/ip`).code === 0, 10_000, 'httpd through pasta');
    assert.match(curl(`http://127.0.0.1:${pastaPort}/cgi-bin/ip`).body, /^(\[::ffff:)?127\.0\.0\.1\]?\n$/);
    await waitFor(() => curl(`http://127.0.0.1:${slirpPort}/cgi-bin/ip`).code === 0, 10_000, 'httpd through slirp4netns');
    assert.match(curl(`http://127.0.0.1:${slirpPort}/cgi-bin/ip`).body, /10\.0\.2\.100/);
    ok(['rm', '-f', 'pasta', 'slirp']);
    await noHelpersLeft();
    assert.deepEqual(netnsFiles(), []);
  });

  test("the namespace file (inspect's SandboxKey) and the helpers go with rm -f, and with a kill -9 of the monitor once ps -a notices", async () => {
    const port = await freePort();
    ok(['run', '-d', '--name', 'keyed', '-p', `127.0.0.1:${port}:80`, ...HTTPD]);
    const key = ok(['inspect', '--format', '{{.NetworkSettings.SandboxKey}}', 'keyed']).trim();
    assert.deepEqual(netnsFiles(), [path.basename(key)]);
    await waitFor(() => curl(`http://127.0.0.1:${port}/hostname`).code === 0, 10_000, 'httpd through the published port');
    assert.match(ok(['exec', 'keyed', 'ip', '-o', '-4', 'addr', 'show', 'tap0']), /inet 10\.0\.2\.100\//);
    ok(['rm', '-f', 'keyed']);
    assert.deepEqual(netnsFiles(), []);
    await noHelpersLeft();

    ok(['run', '-d', '--name', 'orphan', '-p', `127.0.0.1:${port}:80`, ...HTTPD]);
    await waitFor(() => curl(`http://127.0.0.1:${port}/hostname`).code === 0, 10_000, 'httpd through the published port');
    const pids = ok(['inspect', '--format', '{{.State.ConmonPid}} {{.State.Pid}}', 'orphan']).trim().split(' ').map(Number);
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    await waitFor(() => ok(['ps', '-a', '--format', '{{.Names}} {{.State}}']) === 'orphan exited\n', 15_000, 'ps -a to see the container exited');
    assert.deepEqual(netnsFiles(), []);
    await noHelpersLeft();
    assert.notEqual(curl(`http://127.0.0.1:${port}/hostname`).code, 0, 'the port is released');
    ok(['rm', 'orphan']);
  });

  test('with vfs storage (whose mount cannot make the namespace) the namespace is made apart, and goes with rm -f', async () => {
    const store = ['--root', path.join(testEnv.home, 'vfs-netns-store'), '--storage-driver', 'vfs'];
    const port = await freePort();
    try {
      ok([...store, 'pull', '-q', 'busybox']);
      const id = ok([...store, 'run', '-d', '--name', 'vfsweb', '-p', `127.0.0.1:${port}:80`, ...HTTPD]).trim();
      assert.deepEqual(netnsFiles(), [`${id.slice(0, 16)}.netns`]);
      await waitFor(() => curl(`http://127.0.0.1:${port}/hostname`).body === `${id.slice(0, 12)}\n`, 10_000, 'httpd through the published port');
      ok([...store, 'rm', '-f', 'vfsweb']);
      assert.deepEqual(netnsFiles(), []);
      await noHelpersLeft();
    } finally {
      tspod([...store, 'rm', '-f', '-a']);
      fs.rmSync(path.join(testEnv.home, 'vfs-netns-store'), { recursive: true, force: true });
    }
  });
  test('what a start killed after making its namespace left (the file, a slirp4netns on it) goes with the next start, and with rm', async () => {
    const helper = path.join(testEnv.installDir, 'native', 'build', 'tspod-mount-helper');
    // The state such a start leaves: the namespace file and its helper, unknown to the container's record.
    const leaveHalfStarted = async (name: string): Promise<{ file: string; slirp: number }> => {
      const id = ok(['create', '--name', name, 'busybox', 'sleep', '1000']).trim();
      const file = path.join(testEnv.runtimeDir, 'tspod', 'net', `${id.slice(0, 16)}.netns`);
      ok(['unshare', 'sh', '-c', `mkdir -p ${path.dirname(file)} && ${helper} netns ${file} && { setsid slirp4netns --netns-type=path ${file} tap0 >/dev/null 2>&1 & }`]);
      let slirp = 0;
      await waitFor(() => (slirp = pidNaming(file)) > 0, 5_000, 'the left-over slirp4netns');
      return { file, slirp };
    };
    const started = await leaveHalfStarted('half-started');
    ok(['start', 'half-started']);
    assert.equal(processRuns(started.slirp), false, 'the start ended the left-over slirp4netns');
    assert.equal(ok(['exec', 'half-started', 'cat', '/proc/net/route']).includes('tap0'), true, 'the start has a network of its own');
    ok(['rm', '-f', 'half-started']);
    const removed = await leaveHalfStarted('half-removed');
    ok(['rm', 'half-removed']);
    assert.equal(processRuns(removed.slirp), false, 'rm ended the left-over slirp4netns');
    assert.deepEqual(netnsFiles(), []);
    await noHelpersLeft();
  });
});

describe('network modes and name files', () => {
  let server: ChildProcess;
  let hostPort = 0;
  before(async () => {
    ({ proc: server, port: hostPort } = await hostServer());
  });
  after(() => {
    server.kill();
    tspod(['rm', '-f', '-a']);
  });

  test('--network none has only lo; host shares the host interfaces', () => {
    assert.equal(ok(['run', '--rm', '--network', 'none', 'busybox', 'sh', '-c', 'ip -o link | cut -d: -f2']), ' lo\n');
    const hostLinks = asUser(['sh', '-c', 'ls /sys/class/net | sort']).stdout;
    assert.equal(ok(['run', '--rm', '--network', 'host', 'busybox', 'sh', '-c', 'ls /sys/class/net | sort']), hostLinks);
    const r = tspod(['run', '--rm', '--network', 'host', 'busybox', 'wget', '-q', '-O', '-', `http://127.0.0.1:${hostPort}/`]);
    assert.equal(r.stdout, 'from-host\n', r.stderr);
  });

  test('container:NAME joins the network namespace of another container', async () => {
    const id = ok(['run', '-d', '--name', 'owner', 'busybox', 'httpd', '-f', '-p', '8080', '-h', '/etc']).trim();
    await waitFor(() => tspod(['run', '--rm', '--network', 'container:owner', 'busybox', 'wget', '-q', '-O', '-', 'http://127.0.0.1:8080/hostname']).stdout === `${id.slice(0, 12)}\n`, 10_000, 'the owner\'s httpd on its loopback');
    const stopped = tspod(['run', '--rm', '--network', 'container:nosuch', 'busybox', 'true']);
    assert.equal(stopped.code, 125);
    assert.match(stopped.stderr, /nosuch/);
    ok(['rm', '-f', 'owner']);
  });

  test('host.containers.internal reaches the host loopback with allow_host_loopback=true, not without', () => {
    const url = `http://host.containers.internal:${hostPort}/`;
    const r = tspod(['run', '--rm', '--network', 'slirp4netns:allow_host_loopback=true', 'busybox', 'sh', '-c', `timeout 5 wget -q -O - ${url}`]);
    assert.equal(r.stdout, 'from-host\n', r.stderr);
    const denied = tspod(['run', '--rm', 'busybox', 'sh', '-c', `timeout 5 wget -q -O - ${url}`]);
    assert.notEqual(denied.code, 0);
  });

  test('--mac-address and enable_ipv6: the interface and inspect agree', () => {
    const id = ok(['run', '-d', '--mac-address', '02:11:22:33:44:55', '--network', 'slirp4netns:enable_ipv6=true,mtu=1500', 'busybox', 'sleep', '1000']).trim();
    const link = ok(['exec', id, 'ip', '-o', 'link', 'show', 'tap0']);
    assert.match(link, /mtu 1500 .*link\/ether 02:11:22:33:44:55/);
    const fmt = '{{range .NetworkSettings.Networks}}{{.MacAddress}} {{.GlobalIPv6Address}}{{end}}';
    assert.equal(ok(['inspect', id, '--format', fmt]), '02:11:22:33:44:55 fd00::11:22ff:fe33:4455\n');
    ok(['rm', '-f', id]);
  });

  test('/etc/hosts and resolv.conf follow --hostname, --add-host, --dns, --dns-search and --dns-option', () => {
    const out = ok([
      'run', '--rm', '--name', 'named', '--hostname', 'box', '--add-host', 'db:10.9.8.7', '--add-host', 'gw:host-gateway',
      '--dns', '192.0.2.53', '--dns-search', 'corp.example', '--dns-option', 'ndots:2', 'busybox', 'sh', '-c', 'cat /etc/hosts /etc/resolv.conf; hostname',
    ]);
    assert.match(out, /^10\.9\.8\.7\tdb$/m);
    assert.match(out, /^10\.0\.2\.2\tgw$/m);
    assert.match(out, /^10\.0\.2\.100\tbox named$/m);
    assert.match(out, /^10\.0\.2\.2\thost\.containers\.internal host\.docker\.internal$/m);
    assert.match(out, /^search corp\.example\nnameserver 192\.0\.2\.53\noptions ndots:2\nbox\n$/m);
    const plain = ok(['run', '--rm', 'busybox', 'cat', '/etc/resolv.conf']);
    assert.match(plain, /^nameserver 10\.0\.2\.3$/m);
    assert.doesNotMatch(plain, /nameserver 127\./);
  });
});

describe('published ports as root', () => {
  const ref = image('busybox:latest').ref;
  const root = (args: string[]) => asRoot(['tspod', ...args], { timeoutMs: 120_000 });
  const name = 'net-ports-rootpub';
  before(() => {
    root(['rm', '-f', name]);
    const pulled = root(['pull', '-q', '--tls-verify=false', ref]);
    assert.equal(pulled.code, 0, pulled.stderr);
  });
  after(() => root(['rm', '-f', name]));

  test('-p on the bridge answers curl on the host loopback, and goes with the container', async () => {
    const port = await freePort();
    const r = root(['run', '-d', '--name', name, '-p', `127.0.0.1:${port}:80`, ref, 'sh', '-c', 'echo root-page > /tmp/index.html; exec httpd -f -p 80 -h /tmp']);
    assert.equal(r.code, 0, r.stderr);
    await waitFor(() => curl(`http://127.0.0.1:${port}/index.html`).body === 'root-page\n', 10_000, 'httpd through the port published as root');
    assert.equal(root(['port', name]).stdout, `80/tcp -> 127.0.0.1:${port}\n`);
    assert.equal(root(['rm', '-f', name]).code, 0);
    assert.notEqual(curl(`http://127.0.0.1:${port}/index.html`).code, 0, 'the port is released');
  });
});
