// IPv6 on user-defined networks as the unprivileged user (root's dual-stack test is in
// networks.test.ts): a dual-stack network (--ipv6) and an IPv6-only one (an IPv6 --subnet alone,
// as in Podman), containers fetching each other's busybox httpd over IPv6 by address and by
// name, the resolver's AAAA answers, inspect's IPv6 fields, --ip6 on run and network connect,
// isolation from another network, an internal network without a way out, outbound IPv6 through
// the rootless uplink (NAT66 and slirp4netns) to a server of this test on an address it adds to
// the host's lo, an IPv4-only network left as it was, and the errors. Traffic stays between the
// namespaces the test makes and that server.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { asRoot, resetUserState, tspod, tspodAsync } from './harness';

function ok(args: string[]): string {
  const r = tspod(args, { timeoutMs: 120_000 });
  assert.equal(r.code, 0, `tspod ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A shell script in a new busybox container on `network`: its output and exit code. */
function runOn(network: string, script: string): { code: number; stdout: string; stderr: string } {
  return tspod(['run', '--rm', '--network', network, 'busybox', 'sh', '-c', script], { timeoutMs: 60_000 });
}

const httpd = (name: string, network: string, page: string, extra: string[] = []): string[] => [
  'run', '-d', '--name', name, '--network', network, ...extra, 'busybox', 'sh', '-c', `echo ${page} > /tmp/index.html; exec httpd -f -p 80 -h /tmp`,
];

// Under sh: busybox's timeout execs the command, which as pid 1 would ignore its SIGTERM.
const wget = (url: string): string => `timeout 5 wget -q -O - '${url}'`;

/** A test address of the host (on lo) for the outbound check: outside slirp4netns's fd00::/64. */
const HOST6 = 'fd7e:57:ff::1';

describe('IPv6 on user-defined networks', () => {
  let server: http.Server | undefined;

  before(() => {
    resetUserState();
    ok(['pull', '-q', 'busybox']);
    ok(['network', 'create', '--ipv6', 'dual']);
    ok(['network', 'create', '--ipv6', 'elsewhere']);
    ok(['network', 'create', '--subnet', 'fd7e:57:2::/64', 'only6']);
  });

  after(() => {
    server?.close();
    asRoot(['ip', 'addr', 'del', `${HOST6}/128`, 'dev', 'lo']);
    tspod(['rm', '-af'], { timeoutMs: 60_000 });
  });

  test('network create --ipv6: a unique local /64 beside the IPv4 subnet, shown by inspect and ls', () => {
    const [net] = JSON.parse(ok(['network', 'inspect', 'dual'])) as Record<string, any>[];
    assert.equal(net.EnableIPv6, true);
    assert.equal(net.IPAM.Config.length, 2);
    assert.match(net.IPAM.Config[0].Subnet, /^10\.89\.\d+\.0\/24$/);
    assert.match(net.IPAM.Config[1].Subnet, /^fd[0-9a-f]{2}:[0-9a-f:]+::\/64$/);
    assert.equal(net.IPAM.Config[1].Gateway, net.IPAM.Config[1].Subnet.replace('::/64', '::1'));
    const [other] = JSON.parse(ok(['network', 'inspect', 'elsewhere'])) as Record<string, any>[];
    assert.notEqual(other.IPAM.Config[1].Subnet, net.IPAM.Config[1].Subnet, 'each network its own /64');
    assert.equal(net.EnableIPv4, true);
    const [v6] = JSON.parse(ok(['network', 'inspect', 'only6'])) as Record<string, any>[];
    assert.deepEqual([v6.EnableIPv4, v6.EnableIPv6, v6.IPAM.Config], [false, true, [{ Subnet: 'fd7e:57:2::/64', Gateway: 'fd7e:57:2::1' }]]);
    // Docker's spelling of an IPv6-only network
    ok(['network', 'create', '--ipv4=false', '--ipv6=true', 'docker6']);
    const [docker6] = JSON.parse(ok(['network', 'inspect', 'docker6'])) as Record<string, any>[];
    assert.deepEqual([docker6.EnableIPv4, docker6.EnableIPv6, docker6.IPAM.Config.length], [false, true, 1]);
    ok(['network', 'rm', 'docker6']);
    // a removed network's IPv6 subnet is free again
    ok(['network', 'create', '--subnet', 'fd7e:57:5::/64', 'gone6']);
    ok(['network', 'rm', 'gone6']);
    ok(['network', 'create', '--subnet', 'fd7e:57:5::/64', 'gone6']);
    ok(['network', 'rm', 'gone6']);
    const rows = ok(['network', 'ls', '--format', '{{.Name}} {{.IPv6}} {{.Subnets}}']);
    assert.ok(rows.includes(`dual true ${net.IPAM.Config[0].Subnet},${net.IPAM.Config[1].Subnet}\n`), rows);
    assert.ok(rows.includes('only6 true fd7e:57:2::/64\n'), rows);
  });

  test('containers reach each other over IPv6 by address and by name; AAAA answers; another network cannot', () => {
    ok(httpd('web6', 'dual', 'page-six', ['--network-alias', 'www6']));
    const [doc] = JSON.parse(ok(['inspect', 'web6'])) as Record<string, any>[];
    const [net] = JSON.parse(ok(['network', 'inspect', 'dual'])) as Record<string, any>[];
    const subnet6 = net.IPAM.Config[1].Subnet as string;
    const ns = doc.NetworkSettings;
    const ep = ns.Networks.dual;
    assert.equal(ep.GlobalIPv6Address, subnet6.replace('::/64', '::2'));
    assert.equal(ep.GlobalIPv6PrefixLen, 64);
    assert.equal(ep.IPv6Gateway, net.IPAM.Config[1].Gateway);
    assert.match(ep.IPAddress, /^10\.89\.\d+\.2$/, 'IPv4 as before');
    assert.deepEqual([ns.GlobalIPv6Address, ns.GlobalIPv6PrefixLen, ns.IPv6Gateway], [ep.GlobalIPv6Address, 64, ep.IPv6Gateway], 'top level: the first network');
    assert.equal(net.Containers[doc.Id].IPv6Address, `${ep.GlobalIPv6Address}/64`);
    const addr = ep.GlobalIPv6Address as string;

    const same = runOn('dual', `nslookup -type=aaaa www6; ${wget(`http://[${addr}]/`)}; ip -6 route; grep -c "$(hostname)" /etc/hosts`);
    assert.equal(same.code, 0, same.stderr);
    assert.match(same.stdout, new RegExp(`Address:\\s*${addr}\\b`));
    assert.match(same.stdout, /^page-six$/m);
    assert.match(same.stdout, new RegExp(`default via ${net.IPAM.Config[1].Gateway} dev eth0`));
    assert.match(same.stdout, /^2$/m, "the client's own name has both its addresses in /etc/hosts");

    const other = runOn('elsewhere', `nslookup -type=aaaa web6; ${wget(`http://[${addr}]/`)}`);
    assert.notEqual(other.code, 0);
    assert.doesNotMatch(other.stdout, /page-six/);
    assert.doesNotMatch(other.stdout, new RegExp(addr));
  });

  test('an IPv6-only network: by name over IPv6, --ip6 picks the address, a published port, network connect --ip6', async () => {
    ok(httpd('web-only6', 'only6', 'only-six', ['--ip6=fd7e:57:2::80', '-p', '127.0.0.1::80']));
    const port = ok(['port', 'web-only6', '80']).trim().split(':').pop();
    const published = await new Promise<string>((resolve, reject) => {
      http.get(`http://127.0.0.1:${port}/`, (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () => resolve(text));
      }).on('error', reject);
    });
    assert.equal(published, 'only-six\n', "the host's IPv4 loopback reaches the container's IPv6 address");
    const byName = runOn('only6', `ip addr show eth0; ${wget('http://web-only6/')}`);
    assert.equal(byName.code, 0, byName.stderr);
    assert.match(byName.stdout, /^only-six$/m);
    assert.match(byName.stdout, /inet6 fd7e:57:2::2\/64 scope global/);
    assert.doesNotMatch(byName.stdout, /inet \d/, 'no IPv4 address');
    assert.equal(ok(['inspect', '--format', '{{range .NetworkSettings.Networks}}{{.GlobalIPv6Address}} {{.IPAddress}}|{{end}}', 'web-only6']), 'fd7e:57:2::80 |\n');

    ok(['network', 'connect', '--ip6', 'fd7e:57:2::99', 'only6', 'web6']);
    assert.match(ok(['exec', 'web6', 'ip', '-6', 'addr', 'show', 'eth1']), /inet6 fd7e:57:2::99\/64/);
    assert.equal(ok(['inspect', '--format', '{{.NetworkSettings.Networks.only6.GlobalIPv6Address}}', 'web6']), 'fd7e:57:2::99\n');
    assert.match(runOn('only6', wget('http://[fd7e:57:2::99]/')).stdout, /^page-six$/m);
  });

  test('bad IPv6 subnets and addresses: one line, exit 125, nothing created', () => {
    const networks = ok(['network', 'ls', '-q']);
    const containers = ok(['ps', '-aq']);
    const cases: [string[], RegExp][] = [
      [['network', 'create', '--subnet', 'fd7e:57:3::1/64', 'x'], /invalid subnet "fd7e:57:3::1\/64": the address has bits set outside the prefix/],
      [['network', 'create', '--subnet', 'fd7e:57:zz::/64', 'x'], /invalid subnet "fd7e:57:zz::\/64": use an IPv6 CIDR/],
      [['network', 'create', '--subnet', 'fd7e:57:2:0:1::/80', 'x'], /already used by network only6/],
      [['network', 'create', '--subnet', 'fd7e:57:3::/64', '--gateway', 'fd7e:57:4::1', 'x'], /not a host address/],
      [['network', 'create', '--subnet', 'fd7e:57:3::/64', '--subnet', 'fd7e:57:4::/64', 'x'], /one IPv6 --subnet per network/],
      [['run', '--rm', '--network', 'only6', '--ip6', 'fd7e:57:9::5', 'busybox', 'true'], /IP address fd7e:57:9::5 is not a host address of network only6 \(fd7e:57:2::\/64\)/],
      [['run', '--rm', '--network', 'only6', '--ip6', 'fd7e:57:2::80', 'busybox', 'true'], /already in use/],
      [['create', '--network', 'only6', '--ip6', 'nonsense', 'busybox', 'true'], /--ip6 takes an IPv6 address/],
      [['network', 'connect', '--ip6', 'fd7e:57:9::5', 'elsewhere', 'web-only6'], /IP address fd7e:57:9::5 is not a host address of network elsewhere/],
    ];
    ok(['network', 'create', 'plain4']);
    cases.push([['run', '--rm', '--network', 'plain4', '--ip6', 'fd7e:57:2::5', 'busybox', 'true'], /network plain4 has no IPv6 subnet/]);
    for (const [args, message] of cases) {
      const r = tspod(args);
      assert.equal(r.code, 125, `tspod ${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.equal(r.stderr.trim().split('\n').length, 1, `one line: ${r.stderr}`);
    }
    ok(['network', 'rm', 'plain4']);
    assert.equal(ok(['network', 'ls', '-q']), networks);
    assert.equal(ok(['ps', '-aq']), containers);
  });

  test('an IPv4-only network is unchanged: no IPv6 subnet, no global IPv6 address; default routes per family', () => {
    ok(['network', 'create', 'four']);
    const [net] = JSON.parse(ok(['network', 'inspect', 'four'])) as Record<string, any>[];
    assert.deepEqual([net.EnableIPv6, net.IPAM.Config.length], [false, 1]);
    const r = runOn('four', 'ip -6 addr show scope global; ip -4 addr show eth0');
    assert.equal(r.code, 0, r.stderr);
    assert.doesNotMatch(r.stdout, /inet6/);
    assert.match(r.stdout, /inet 10\.89\.\d+\.2\/24/);
    // On an IPv4-only and an IPv6-only network: each family's default route from the network that has it.
    const both = runOn('four,only6', 'ip -4 route | grep default; ip -6 route | grep default');
    assert.equal(both.code, 0, both.stderr);
    assert.match(both.stdout, new RegExp(`^default via ${net.IPAM.Config[0].Gateway.replace(/\./g, '\\.')} dev eth0`, 'm'));
    assert.match(both.stdout, /^default via fd7e:57:2::1 dev eth1/m);
  });

  test('outbound IPv6 leaves through the uplink; an internal IPv6 network has no way out', async () => {
    const add = asRoot(['ip', 'addr', 'add', `${HOST6}/128`, 'dev', 'lo']);
    assert.equal(add.code, 0, add.stderr);
    const srv = http.createServer((_req, res) => res.end('from-the-host6\n'));
    server = srv;
    await new Promise<void>((resolve) => srv.listen(0, HOST6, resolve));
    const url = `http://[${HOST6}]:${(srv.address() as { port: number }).port}/`;
    const script = ['sh', '-c', `ip -6 route | grep default; ${wget(url)}`];
    const out = await tspodAsync(['run', '--rm', '--network', 'dual', 'busybox', ...script], { timeoutMs: 60_000 });
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /from-the-host6/);
    ok(['network', 'create', '--internal', '--ipv6', 'sealed6']);
    const sealed = await tspodAsync(['run', '--rm', '--network', 'sealed6', 'busybox', ...script], { timeoutMs: 60_000 });
    assert.notEqual(sealed.code, 0);
    assert.equal(sealed.stdout, '', 'no default route, nothing fetched');
  });
});
