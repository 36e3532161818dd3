// User-defined networks as the unprivileged user: network create/ls/inspect/rm/prune/exists and
// their errors; containers on a network reaching each other by name and alias (busybox httpd
// and wget), a container on another network that can neither resolve nor reach them, internal
// networks without outside access, connect/disconnect of a running container, inspect's
// NetworkSettings, and nothing left running once the last container is gone. Traffic goes only
// to the namespaces tspod makes and to a server of this test on the host's own address.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import { AddressInfo } from 'node:net';
import { asRoot, asUser, image, resetUserState, testEnv, tspod, tspodAsync, waitFor } from './harness';

function ok(args: string[]): string {
  const r = tspod(args, { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `tspod ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

function networkNames(...filters: string[]): string[] {
  return ok(['network', 'ls', '--format', '{{.Name}}', ...filters.flatMap((f) => ['--filter', f])]).split('\n').filter(Boolean);
}

// Under sh: busybox's timeout execs the command, which as pid 1 would ignore its SIGTERM.
const wget = (network: string, url: string): string[] => ['run', '--rm', '--network', network, 'busybox', 'sh', '-c', `timeout 5 wget -q -O - ${url}`];

/** `wget` from a new container on `network`: the body, or '' when it failed. */
function fetchFrom(network: string, url: string): { code: number; body: string; stderr: string } {
  const r = tspod(wget(network, url), { timeoutMs: 60_000 });
  return { code: r.code, body: r.stdout, stderr: r.stderr };
}

/** fetchFrom without blocking this process, whose own server may be the one asked. */
async function fetchFromAsync(network: string, url: string): Promise<{ code: number; body: string }> {
  const r = await tspodAsync(wget(network, url), { timeoutMs: 60_000 });
  return { code: r.code, body: r.stdout };
}

/** The user's processes by command name (zombies left out: an unreaped child is not running). */
function userProcesses(): string[] {
  const r = asUser(['ps', '-u', testEnv.user, '-o', 'stat=,args=']);
  return r.stdout.split('\n').filter((l) => l.trim() && !l.trim().startsWith('Z'));
}

function hostAddress(): string {
  for (const addrs of Object.values(os.networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  throw new Error('the host has no non-loopback IPv4 address');
}

describe('network commands', () => {
  before(() => {
    resetUserState();
    ok(['pull', '-q', 'busybox']);
  });

  test('the default network is listed and inspected, and cannot be removed', () => {
    assert.match(ok(['network', 'ls']), /^NETWORK ID\s+NAME\s+DRIVER\n[0-9a-f]{12}\s+bridge\s+bridge\n$/);
    const [doc] = JSON.parse(ok(['network', 'inspect', 'bridge'])) as Record<string, unknown>[];
    assert.equal(doc.Name, 'bridge');
    assert.equal(doc.Driver, 'bridge');
    assert.equal(ok(['network', 'inspect', '--format', '{{.Name}}', 'podman']), 'bridge\n');
    const rm = tspod(['network', 'rm', 'bridge']);
    assert.equal(rm.code, 125);
    assert.match(rm.stderr, /cannot be removed/);
  });

  test('create, ls, inspect, exists, rm and prune', () => {
    assert.equal(ok(['network', 'create', '--label', 'app=web', 'n1']), 'n1\n');
    ok(['network', 'create', '--subnet', '10.123.0.0/24', '--gateway', '10.123.0.254', '--ip-range', '10.123.0.128/25', '--internal', '-o', 'mtu=1400', 'n2']);
    const note = tspod(['network', 'create', '-o', 'com.docker.network.bridge.enable_icc=true', 'n3']);
    assert.equal(note.code, 0);
    assert.equal(note.stderr.trim().split('\n').length, 1);
    assert.match(note.stderr, /com\.docker\.network\.bridge\.enable_icc .*no effect/);
    assert.deepEqual(networkNames(), ['bridge', 'n1', 'n2', 'n3']);
    assert.deepEqual(networkNames('label=app=web'), ['n1']);
    assert.deepEqual(networkNames('name=n2'), ['n2']);
    assert.deepEqual(networkNames('type=builtin'), ['bridge']);
    const [doc] = JSON.parse(ok(['network', 'inspect', 'n2'])) as Record<string, any>[];
    assert.equal(doc.Internal, true);
    assert.deepEqual(doc.IPAM.Config, [{ Subnet: '10.123.0.0/24', Gateway: '10.123.0.254', IPRange: '10.123.0.128/25' }]);
    assert.deepEqual(doc.Options, { mtu: '1400' });
    assert.match(doc.Id, /^[0-9a-f]{64}$/);
    const n1Subnet = ok(['network', 'inspect', '--format', '{{range .IPAM.Config}}{{.Subnet}}{{end}}', 'n1']).trim();
    assert.match(n1Subnet, /^10\.89\.\d+\.0\/24$/);
    const ids = ok(['network', 'ls', '-q']).split('\n').filter(Boolean);
    assert.equal(ids.length, 4);
    assert.ok(ids.every((id) => /^[0-9a-f]{12}$/.test(id)));
    assert.ok(ok(['network', 'ls', '-q', '--no-trunc']).split('\n').filter(Boolean).every((id) => /^[0-9a-f]{64}$/.test(id)));
    assert.equal(ok(['network', 'inspect', '--format', '{{.Name}}', ids[1].slice(0, 6)]).trim().length > 0, true);
    assert.equal(tspod(['network', 'exists', 'n1']).code, 0);
    assert.equal(tspod(['network', 'exists', 'nope']).code, 1);
    assert.equal(ok(['network', 'rm', 'n3']), 'n3\n');
    assert.equal(tspod(['network', 'rm', 'n3']).code, 1);
    assert.equal(ok(['network', 'prune', '-f', '--filter', 'label=app=web']), 'n1\n');
    assert.equal(ok(['network', 'prune', '-f']), 'n2\n');
    assert.deepEqual(networkNames(), ['bridge']);
  });

  test('errors: duplicate name, bad subnet and gateway, unknown driver, unknown network on run', () => {
    ok(['network', 'create', '--subnet', '10.124.0.0/24', 'dup']);
    const cases: [string[], RegExp][] = [
      [['network', 'create', 'dup'], /already exists/],
      [['network', 'create', '--subnet', '10.124.0.0/25', 'x'], /already used by network dup/],
      [['network', 'create', '--subnet', '10.125.0.1/24', 'x'], /invalid subnet/],
      [['network', 'create', '--subnet', 'nonsense', 'x'], /invalid subnet/],
      [['network', 'create', '--subnet', '10.125.0.0/24', '--gateway', '10.126.0.1', 'x'], /not a host address/],
      [['network', 'create', '-d', 'overlay', 'x'], /unsupported network driver/],
      [['network', 'create', '-o', 'bogus=1', 'x'], /unsupported bridge network option/],
      [['run', '--rm', '--network', 'nosuch', 'busybox', 'true'], /nosuch/],
    ];
    for (const [args, message] of cases) {
      const r = tspod(args);
      assert.equal(r.code, 125, `tspod ${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    }
    assert.equal(ok(['ps', '-aq']), '', 'no container is left by the failed run');
    assert.deepEqual(networkNames(), ['bridge', 'dup']);
    ok(['network', 'rm', 'dup']);
  });
});

describe('containers on user-defined networks', () => {
  let server: http.Server;
  let hostUrl: string;

  before(async () => {
    resetUserState();
    ok(['pull', '-q', 'busybox']);
    server = http.createServer((_req, res) => res.end('from-the-host\n'));
    await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
    hostUrl = `http://${hostAddress()}:${(server.address() as AddressInfo).port}/`;
    ok(['network', 'create', 'front']);
    ok(['network', 'create', 'back']);
    ok(['network', 'create', '--internal', 'sealed']);
  });

  after(() => {
    server?.close();
    tspod(['rm', '-af'], { timeoutMs: 60_000 });
  });

  test('containers reach each other by name and alias; another network can neither resolve nor reach them', () => {
    ok(['run', '-d', '--name', 'web', '--network', 'front', '--network-alias', 'www', 'busybox', 'sh', '-c', 'echo web-page > /tmp/index.html; exec httpd -f -p 80 -h /tmp']);
    assert.equal(fetchFrom('front', 'http://web/index.html').body, 'web-page\n');
    assert.equal(fetchFrom('front', 'http://www/index.html').body, 'web-page\n');
    const ip = ok(['inspect', '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', 'web']).trim();
    assert.match(ip, /^10\.89\.\d+\.\d+$/);
    assert.equal(fetchFrom('front', `http://${ip}/index.html`).body, 'web-page\n');
    const byName = fetchFrom('back', 'http://web/index.html');
    assert.notEqual(byName.code, 0);
    assert.match(byName.stderr, /bad address/);
    const byIp = fetchFrom('back', `http://${ip}/index.html`);
    assert.notEqual(byIp.code, 0);
    assert.equal(byIp.body, '');
  });

  test('the resolver answers over TCP too (a client asks again over TCP when UDP was truncated)', () => {
    const ip = ok(['inspect', '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', 'web']).trim();
    // An A query for "web", framed with its length as DNS over TCP is, sent with busybox nc.
    const query = String.raw`\000\025\022\064\001\000\000\001\000\000\000\000\000\000\003web\000\000\001\000\001`;
    const script = `ns=$(awk '/^nameserver/ {print $2; exit}' /etc/resolv.conf); printf '${query}' | nc -w 1 "$ns" 53 | od -An -tu1 | tr -s ' \\n' '  '`;
    const bytes = ok(['run', '--rm', '--network', 'front', 'busybox', 'sh', '-c', script]);
    assert.match(bytes, /^ ?0 \d+ 18 52 /, 'a framed answer to query 0x1234');
    assert.ok(` ${bytes} `.includes(` ${ip.split('.').join(' ')} `), `the address ${ip} in the answer: ${bytes}`);
  });

  test('a port published from a user network answers on the host loopback', async () => {
    ok(['run', '-d', '--name', 'published', '--network', 'front', '-p', '127.0.0.1::80', 'busybox', 'sh', '-c', 'echo published > /tmp/index.html; exec httpd -f -p 80 -h /tmp']);
    const port = ok(['port', 'published', '80']).trim().split(':').pop();
    const body = await new Promise<string>((resolve, reject) => {
      http.get(`http://127.0.0.1:${port}/index.html`, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve(text));
      }).on('error', reject);
    });
    assert.equal(body, 'published\n');
    ok(['rm', '-f', 'published']);
  });

  test("inspect shows the container's place on the network", () => {
    const [doc] = JSON.parse(ok(['inspect', 'web'])) as Record<string, any>[];
    const ep = doc.NetworkSettings.Networks.front;
    assert.ok(ep, JSON.stringify(doc.NetworkSettings));
    assert.match(ep.IPAddress, /^10\.89\.\d+\.\d+$/);
    assert.equal(ep.IPPrefixLen, 24);
    assert.match(ep.Gateway, /^10\.89\.\d+\.1$/);
    assert.match(ep.MacAddress, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    assert.ok(ep.Aliases.includes('www'));
    const [net] = JSON.parse(ok(['network', 'inspect', 'front'])) as Record<string, any>[];
    assert.equal(ep.NetworkID, net.Id);
    assert.equal(net.Containers[doc.Id].Name, 'web');
    assert.equal(net.Containers[doc.Id].IPv4Address, `${ep.IPAddress}/24`);
    const rm = tspod(['network', 'rm', 'front']);
    assert.equal(rm.code, 2);
    assert.match(rm.stderr, /web/);
  });

  test('--ip and --mac-address are applied; a taken address is refused', () => {
    ok(['network', 'create', '--subnet', '10.127.0.0/24', 'fixed']);
    const out = ok(['run', '--rm', '--network', 'fixed', '--ip', '10.127.0.50', '--mac-address', '02:00:00:aa:bb:cc', 'busybox', 'ip', 'addr', 'show', 'eth0']);
    assert.match(out, /inet 10\.127\.0\.50\/24/);
    assert.match(out, /link\/ether 02:00:00:aa:bb:cc/);
    ok(['create', '--name', 'holder', '--network', 'fixed', '--ip', '10.127.0.60', 'busybox', 'true']);
    const taken = tspod(['run', '--rm', '--network', 'fixed', '--ip', '10.127.0.60', 'busybox', 'true']);
    assert.equal(taken.code, 125);
    assert.match(taken.stderr, /already in use/);
    ok(['rm', 'holder']);
  });

  test('an internal network has no way out; a normal one reaches the host', async () => {
    assert.equal((await fetchFromAsync('back', hostUrl)).body, 'from-the-host\n');
    const sealed = await fetchFromAsync('sealed', hostUrl);
    assert.notEqual(sealed.code, 0);
    assert.equal(sealed.body, '');
  });

  test('connect and disconnect a running container', async () => {
    ok(['run', '-d', '--name', 'client', '--network', 'back', 'busybox', 'sleep', '600']);
    const fetch = (): { code: number; stdout: string } => tspod(['exec', 'client', 'timeout', '5', 'wget', '-q', '-O', '-', 'http://webalias/index.html']);
    assert.notEqual(fetch().code, 0);
    ok(['network', 'connect', '--alias', 'webalias', 'back', 'web']);
    assert.equal(fetch().stdout, 'web-page\n');
    const dup = tspod(['network', 'connect', 'back', 'web']);
    assert.equal(dup.code, 125);
    assert.match(dup.stderr, /already connected/);
    ok(['network', 'disconnect', 'back', 'web']);
    await waitFor(() => fetch().code !== 0, 15_000, 'webalias to stop resolving');
    assert.doesNotMatch(ok(['exec', 'web', 'ip', 'addr']), /eth1/);
    const again = tspod(['network', 'disconnect', 'back', 'web']);
    assert.equal(again.code, 125);
    assert.match(again.stderr, /not connected/);
  });

  test('containers started at once get distinct addresses and find each other', async () => {
    ok(['network', 'create', 'busy']);
    const names = ['c1', 'c2', 'c3'];
    const started = await Promise.all(names.map((n) => tspodAsync(['run', '-d', '--name', n, '--network', 'busy', 'busybox', 'sleep', '600'])));
    for (const r of started) assert.equal(r.code, 0, r.stderr);
    const ips = names.map((n) => ok(['inspect', '--format', '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}', n]).trim());
    assert.equal(new Set(ips).size, 3, `distinct addresses: ${ips}`);
    const lookup = ok(['exec', 'c1', 'nslookup', 'c3']);
    assert.match(lookup, new RegExp(`Address:\\s*${ips[2].replace(/\./g, '\\.')}`));
    ok(['rm', '-f', ...names]);
  });

  test('a stopped container joins a network at its next start; a dead monitor is cleaned up after', async () => {
    ok(['network', 'create', 'later']);
    ok(['create', '--name', 'sleeper', '--network', 'back', 'busybox', 'sleep', '600']);
    ok(['network', 'connect', '--alias', 'napper', 'later', 'sleeper']);
    ok(['start', 'sleeper']);
    assert.match(ok(['exec', 'sleeper', 'ip', '-4', 'addr']), /eth1[\s\S]*inet 10\.89\./);
    const resolved = tspod(['run', '--rm', '--network', 'later', 'busybox', 'nslookup', 'napper']);
    assert.equal(resolved.code, 0, resolved.stderr);
    // kill -9 of the monitor and the container: the next command notices and frees the network
    const pids = ok(['inspect', '--format', '{{.State.ConmonPid}} {{.State.Pid}}', 'sleeper']).trim().split(' ').map(Number);
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    await waitFor(() => ok(['ps', '-a', '--format', '{{.Names}} {{.Status}}']).includes('sleeper Exited'), 15_000, 'the container to be seen as exited');
    await waitFor(() => !userProcesses().some((l) => l.includes('dns-server') && l.includes('later.json')), 15_000, 'the resolver of network later to end');
    ok(['rm', 'sleeper']);
  });

  test('nothing is left running once the last container is removed', () => {
    ok(['run', '-d', '--name', 'last', '--network', 'front', 'busybox', 'sleep', '600']);
    assert.ok(userProcesses().some((l) => l.includes('slirp4netns') && l.includes('netns-type=path')));
    assert.ok(userProcesses().some((l) => l.includes('dns-server')));
    ok(['rm', '-af']);
    const left = userProcesses().filter((l) => /slirp4netns|dns-server|tspod-monitor/.test(l));
    assert.deepEqual(left, []);
    const dir = `${testEnv.runtimeDir}/tspod/networks`;
    assert.ok(!fs.existsSync(`${dir}/netns`), 'the shared namespace is gone');
    assert.deepEqual(fs.existsSync(`${dir}/dns`) ? fs.readdirSync(`${dir}/dns`) : [], []);
  });
  test('system reset ends the uplink and the resolvers of running networks', async () => {
    ok(['network', 'create', 'doomed']);
    ok(['run', '-d', '--network', 'doomed', 'busybox', 'sleep', '600']);
    assert.ok(userProcesses().some((l) => l.includes('dns-server') && l.includes('doomed.json')));
    ok(['system', 'reset', '-f']);
    await waitFor(() => !userProcesses().some((l) => /slirp4netns|dns-server/.test(l)), 10_000, 'the network helpers to end');
  });
});

describe('networks as root', () => {
  const ref = image('busybox:latest').ref;
  const root = (args: string[]) => asRoot(['tspod', ...args], { timeoutMs: 120_000 });
  const rootOk = (args: string[]): string => {
    const r = root(args);
    assert.equal(r.code, 0, `tspod ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const containers = ['net-bridge-web', 'net-bridge-mv1', 'ipv6-nets-web'];
  const networks = ['net-bridge-user', 'net-bridge-mv', 'net-bridge-iv', 'ipv6-nets-dual'];
  const cleanup = (): void => {
    root(['rm', '-f', ...containers]);
    root(['network', 'rm', '-f', ...networks]);
    asRoot(['ip', 'link', 'del', 'nb-par0']);
  };
  before(() => {
    cleanup();
    rootOk(['pull', '-q', '--tls-verify=false', ref]);
  });
  after(cleanup);

  test('the default network is a bridge on the host; a user network resolves names', () => {
    const out = rootOk(['run', '--rm', ref, 'sh', '-c', 'ip -4 addr show eth0; ip route']);
    assert.match(out, /inet 10\.87\.\d+\.\d+\/16/);
    assert.match(out, /default via 10\.87\.0\.1/);
    rootOk(['network', 'create', 'net-bridge-user']);
    rootOk(['run', '-d', '--name', 'net-bridge-web', '--network', 'net-bridge-user', ref, 'httpd', '-f', '-p', '80', '-h', '/etc']);
    const id = rootOk(['inspect', '--format', '{{.Id}}', 'net-bridge-web']).trim();
    const got = rootOk(['run', '--rm', '--network', 'net-bridge-user', ref, 'sh', '-c', 'timeout 5 wget -q -O - http://net-bridge-web/hostname']);
    assert.equal(got, `${id.slice(0, 12)}\n`);
    const iface = JSON.parse(rootOk(['network', 'inspect', 'net-bridge-user']))[0].NetworkInterface as string;
    assert.match(asRoot(['ip', '-br', 'link', 'show', iface]).stdout, new RegExp(`^${iface}\\s+UP`));
    rootOk(['rm', '-f', 'net-bridge-web']);
    assert.notEqual(asRoot(['ip', 'link', 'show', iface]).code, 0, 'the bridge goes with its last container');
  });

  test('macvlan on a parent interface the test made; ipvlan where the kernel has it', () => {
    const veth = asRoot(['ip', 'link', 'add', 'nb-par0', 'type', 'veth', 'peer', 'name', 'nb-par1']);
    assert.equal(veth.code, 0, veth.stderr);
    asRoot(['ip', 'link', 'set', 'nb-par0', 'up']);
    asRoot(['ip', 'link', 'set', 'nb-par1', 'up']);
    rootOk(['network', 'create', '-d', 'macvlan', '-o', 'parent=nb-par0', '--subnet', '10.132.0.0/24', 'net-bridge-mv']);
    rootOk(['run', '-d', '--name', 'net-bridge-mv1', '--network', 'net-bridge-mv', '--ip', '10.132.0.10', ref, 'httpd', '-f', '-p', '80', '-h', '/etc']);
    const pid = rootOk(['inspect', '--format', '{{.State.Pid}}', 'net-bridge-mv1']).trim();
    assert.match(asRoot(['nsenter', '-t', pid, '-n', 'ip', '-d', 'link', 'show', 'eth0']).stdout, /macvlan mode bridge/);
    const id = rootOk(['inspect', '--format', '{{.Id}}', 'net-bridge-mv1']).trim();
    assert.equal(rootOk(['run', '--rm', '--network', 'net-bridge-mv', ref, 'sh', '-c', 'timeout 5 wget -q -O - http://10.132.0.10/hostname']), `${id.slice(0, 12)}\n`);
    rootOk(['network', 'create', '-d', 'ipvlan', '-o', 'parent=nb-par0', '--subnet', '10.133.0.0/24', 'net-bridge-iv']);
    const ipvlan = root(['run', '--rm', '--network', 'net-bridge-iv', ref, 'ip', 'addr', 'show', 'eth0']);
    const kernelHasIpvlan = asRoot(['sh', '-c', 'ip link add nb-ivtest link nb-par0 type ipvlan && ip link del nb-ivtest']).code === 0;
    if (kernelHasIpvlan) assert.match(ipvlan.stdout, /inet 10\.133\.0\.\d+\/24/);
    else {
      assert.equal(ipvlan.code, 125);
      assert.equal(ipvlan.stderr.trim(), 'Error: the kernel has no ipvlan support: use another network driver');
    }
    const rootless = tspod(['network', 'create', '-d', 'macvlan', '-o', 'parent=eth0', 'x']);
    assert.equal(rootless.code, 125);
    assert.match(rootless.stderr, /needs root/);
  });

  test('a dual-stack network on a host bridge: the gateway on the bridge, containers reach each other over IPv6', () => {
    rootOk(['network', 'create', '--ipv6', 'ipv6-nets-dual']);
    rootOk(['run', '-d', '--name', 'ipv6-nets-web', '--network', 'ipv6-nets-dual', ref, 'httpd', '-f', '-p', '80', '-h', '/etc']);
    const [net] = JSON.parse(rootOk(['network', 'inspect', 'ipv6-nets-dual'])) as Record<string, any>[];
    const gateway6 = net.IPAM.Config[1].Gateway as string;
    assert.match(asRoot(['ip', '-6', 'addr', 'show', 'dev', net.NetworkInterface]).stdout, new RegExp(`inet6 ${gateway6}/64 scope global`));
    const addr = rootOk(['inspect', '--format', '{{.NetworkSettings.GlobalIPv6Address}}', 'ipv6-nets-web']).trim();
    const id = rootOk(['inspect', '--format', '{{.Id}}', 'ipv6-nets-web']).trim();
    const got = rootOk(['run', '--rm', '--network', 'ipv6-nets-dual', ref, 'sh', '-c', `nslookup -type=aaaa ipv6-nets-web; timeout 5 wget -q -O - 'http://[${addr}]/hostname'`]);
    assert.match(got, new RegExp(`Address:\\s*${addr}\\b`));
    assert.match(got, new RegExp(`^${id.slice(0, 12)}$`, 'm'));
    assert.equal(asRoot(['sysctl', '-n', 'net.ipv6.conf.all.forwarding']).stdout.trim(), '1', 'the host routes IPv6 for its bridges');
    rootOk(['rm', '-f', 'ipv6-nets-web']);
    rootOk(['network', 'rm', 'ipv6-nets-dual']);
    assert.notEqual(asRoot(['ip', 'link', 'show', net.NetworkInterface]).code, 0, 'the bridge goes with its last container');
  });
});
