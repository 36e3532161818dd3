// -p / --expose / --network parsing and the texts port, ps and inspect show for ports.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InvalidArgumentError } from '../../pkg/errors';
import { parseNetworkMode, parseSlirpOptions } from '../../pkg/network/network-mode';
import { inspectPortBindings, parseExpose, parsePublish, portLines, portsColumn, publishAllMappings, PublishedPort } from '../../pkg/network/port-mappings';
import { hostsFile, resolvConf } from '../../pkg/container/etc-files';
import { parseNetworkFlags } from '../../pkg/container/network-flags';
import { slaacAddress, slirpAddresses } from '../../pkg/network/slirp-network';

const one = (spec: string) => {
  const all = parsePublish(spec);
  assert.equal(all.length, 1);
  return all[0];
};

function rejects(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: Error) => err instanceof InvalidArgumentError && message.test(err.message) && !err.message.includes('\n'));
}

describe('-p parsing', () => {
  it('takes every Docker form', () => {
    assert.deepEqual(one('80'), { protocol: 'tcp', hostIp: '', hostPort: 0, containerPort: 80, count: 1 });
    assert.deepEqual(one('8080:80'), { protocol: 'tcp', hostIp: '', hostPort: 8080, containerPort: 80, count: 1 });
    assert.deepEqual(one('127.0.0.1:8080:80/udp'), { protocol: 'udp', hostIp: '127.0.0.1', hostPort: 8080, containerPort: 80, count: 1 });
    assert.deepEqual(one('127.0.0.1::80'), { protocol: 'tcp', hostIp: '127.0.0.1', hostPort: 0, containerPort: 80, count: 1 });
    assert.deepEqual(one('[::1]:8080:80'), { protocol: 'tcp', hostIp: '::1', hostPort: 8080, containerPort: 80, count: 1 });
    assert.deepEqual(one('::1:8080:80'), { protocol: 'tcp', hostIp: '::1', hostPort: 8080, containerPort: 80, count: 1 });
    assert.deepEqual(one('0.0.0.0:8080:80'), { protocol: 'tcp', hostIp: '', hostPort: 8080, containerPort: 80, count: 1 });
    assert.deepEqual(one('8000-8010:80-90'), { protocol: 'tcp', hostIp: '', hostPort: 8000, containerPort: 80, count: 11 });
    assert.deepEqual(one('8000-8010:80'), { protocol: 'tcp', hostIp: '', hostPort: 8000, hostPortMax: 8010, containerPort: 80, count: 1 });
    assert.deepEqual(
      parsePublish('53:53/tcp,udp').map((m) => m.protocol),
      ['tcp', 'udp'],
    );
  });

  it('rejects bad specs with one line naming the problem', () => {
    rejects(() => parsePublish('70000:80'), /invalid host port "70000"/);
    rejects(() => parsePublish('8080:0'), /invalid container port "0"/);
    rejects(() => parsePublish('8080:80/icmp'), /invalid protocol "icmp"/);
    rejects(() => parsePublish('8000-8002:80-90'), /same length/);
    rejects(() => parsePublish('90-80'), /end is below the start/);
    rejects(() => parsePublish('300.1.1.1:80:80'), /invalid host IP/);
    rejects(() => parsePublish('8080:'), /invalid port specification/);
    rejects(() => parsePublish('abc'), /invalid container port "abc"/);
  });

  it('expands --expose and -P', () => {
    assert.deepEqual(parseExpose('8000-8002/udp'), ['8000/udp', '8001/udp', '8002/udp']);
    rejects(() => parseExpose('http'), /invalid --expose/);
    const all = publishAllMappings(['80/tcp', '443/tcp', '53/udp'], parsePublish('8080:80'));
    assert.deepEqual(all.map((m) => `${m.containerPort}/${m.protocol}:${m.hostPort}`), ['443/tcp:0', '53/udp:0']);
  });
});

describe('port texts', () => {
  const ports: PublishedPort[] = [
    { protocol: 'tcp', hostIp: '', hostPort: 8081, containerPort: 81 },
    { protocol: 'tcp', hostIp: '', hostPort: 8080, containerPort: 80 },
    { protocol: 'udp', hostIp: '::1', hostPort: 5353, containerPort: 53 },
  ];

  it('prints port lines as Docker does', () => {
    assert.deepEqual(portLines(ports), ['53/udp -> [::1]:5353', '80/tcp -> 0.0.0.0:8080', '81/tcp -> 0.0.0.0:8081']);
    assert.deepEqual(portLines(ports, { port: 80, protocol: 'tcp' }), ['0.0.0.0:8080']);
    assert.deepEqual(portLines(ports, { port: 80, protocol: 'udp' }), []);
  });

  it('folds consecutive ports into ranges in ps', () => {
    assert.equal(portsColumn(ports), '0.0.0.0:8080-8081->80-81/tcp, [::1]:5353->53/udp');
    assert.equal(portsColumn([]), '');
  });

  it('shows what -p asked for in HostConfig.PortBindings', () => {
    assert.deepEqual(inspectPortBindings([...parsePublish('127.0.0.1:9000-9001:90-91'), ...parsePublish('80')]), {
      '90/tcp': [{ HostIp: '127.0.0.1', HostPort: '9000' }],
      '91/tcp': [{ HostIp: '127.0.0.1', HostPort: '9001' }],
      '80/tcp': [{ HostIp: '', HostPort: '' }],
    });
  });
});

describe('--network parsing', () => {
  it('knows the modes and the default names', () => {
    for (const v of [undefined, '', 'bridge', 'default', 'podman']) assert.deepEqual(parseNetworkMode(v), { kind: 'default' });
    assert.deepEqual(parseNetworkMode('none'), { kind: 'none' });
    assert.deepEqual(parseNetworkMode('host'), { kind: 'host' });
    assert.deepEqual(parseNetworkMode('container:web'), { kind: 'container', container: 'web' });
    assert.deepEqual(parseNetworkMode('ns:/run/netns/x'), { kind: 'ns', path: '/run/netns/x' });
    assert.deepEqual(parseNetworkMode('pasta:-T,5000'), { kind: 'pasta', args: ['-T', '5000'] });
    assert.deepEqual(parseNetworkMode('front,back'), { kind: 'networks', names: ['front', 'back'] });
    const slirp = parseNetworkMode('slirp4netns:allow_host_loopback=true,mtu=1500,port_handler=slirp4netns,enable_ipv6=true,cidr=10.0.3.0/24');
    assert.deepEqual(slirp, {
      kind: 'slirp4netns',
      options: { allowHostLoopback: true, mtu: 1500, portHandler: 'slirp4netns', enableIpv6: true, cidr: '10.0.3.0/24' },
    });
  });

  it('rejects unknown options and bad values', () => {
    rejects(() => parseSlirpOptions('allow_host_loopbak=true'), /unknown slirp4netns option "allow_host_loopbak"/);
    rejects(() => parseSlirpOptions('allow_host_loopback=yes'), /use true or false/);
    rejects(() => parseSlirpOptions('mtu=10'), /invalid slirp4netns mtu/);
    rejects(() => parseSlirpOptions('port_handler=nat'), /rootlesskit or slirp4netns/);
    rejects(() => parseNetworkMode('container:'), /container name/);
    rejects(() => parseNetworkMode('ns:relative'), /must be absolute/);
    rejects(() => parseNetworkMode('bad name!'), /invalid network/);
    rejects(() => parseNetworkMode('front,host'), /cannot be combined/);
  });

  it('checks the network flags together', () => {
    const flags = { network: [], publish: [], publishAll: false, expose: [], dns: [], dnsSearch: [], dnsOption: [], addHost: [] };
    assert.equal(parseNetworkFlags(flags).network, 'bridge');
    rejects(() => parseNetworkFlags({ ...flags, network: ['none'], publish: ['80'] }), /conflicting options: port publishing and the none network mode/);
    rejects(() => parseNetworkFlags({ ...flags, dns: ['dns.example'] }), /invalid --dns/);
    rejects(() => parseNetworkFlags({ ...flags, addHost: ['nohost'] }), /invalid --add-host/);
    rejects(() => parseNetworkFlags({ ...flags, macAddress: 'zz' }), /invalid --mac-address/);
    assert.deepEqual(parseNetworkFlags({ ...flags, addHost: ['gw:host-gateway', 'v6:::1'] }).addHosts, ['gw:host-gateway', 'v6:::1']);
  });
});

describe('slirp4netns addresses', () => {
  it('follows cidr= and derives the IPv6 address from the MAC as SLAAC does', () => {
    assert.deepEqual(slirpAddresses({ cidr: '10.0.3.0/24', enableIpv6: false }), { guest: '10.0.3.100', gateway: '10.0.3.2', dns: '10.0.3.3', prefixLen: 24 });
    assert.equal(slaacAddress('fd00::', '02:11:22:33:44:55'), 'fd00::11:22ff:fe33:4455');
    assert.equal(slirpAddresses({ enableIpv6: true }, 'ee:93:2a:39:1d:cf').guest6, 'fd00::ec93:2aff:fe39:1dcf');
  });
});

describe('/etc files', () => {
  it('lists --add-host first, then the container and the host', () => {
    const text = hostsFile({ hostname: 'abc', name: 'web', ip: '10.0.2.100', hostIp: '10.0.2.2', hostNetwork: false, extraHosts: ['db:10.1.1.1', 'gw:host-gateway', 'v6:::1'] });
    assert.deepEqual(text.split('\n').slice(2), ['10.1.1.1\tdb', '10.0.2.2\tgw', '::1\tv6', '10.0.2.100\tabc web', '10.0.2.2\thost.containers.internal host.docker.internal', '']);
  });

  it('puts the network resolver before the host servers and drops loopback ones; --dns replaces them', () => {
    const host = 'nameserver 127.0.0.53\nnameserver 192.0.2.53\nsearch example.com\n';
    assert.equal(resolvConf({ hostname: 'a', nameservers: ['10.0.2.3'], hostNetwork: false }, host), 'search example.com\nnameserver 10.0.2.3\nnameserver 192.0.2.53\n');
    assert.equal(resolvConf({ hostname: 'a', nameservers: ['10.0.2.3'], hostNetwork: false, dns: ['1.1.1.1'], dnsSearch: ['corp'], dnsOptions: ['ndots:2'] }, host), 'search corp\nnameserver 1.1.1.1\noptions ndots:2\n');
  });
});
