// IPv6 on user-defined networks: address arithmetic, subnet allocation and checks, leases,
// the ip6 nft table and AAAA / ip6.arpa answers of a network's resolver.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatIp6, formatSubnet6, nextFreeAddress6, overlaps6, parseIp6, parseSubnet6, ulaSubnet, within6 } from '../../pkg/network/ipv6';
import { allocateSubnet6, parseProcRoutes6 } from '../../pkg/network/subnet-pool';
import { planNetwork } from '../../pkg/network/network-create';
import { networkRequest } from './network-fixtures';
import { leaseEndpoint } from '../../pkg/network/endpoint-lease';
import { parseNetworkChoice } from '../../pkg/network/network-flags';
import { bridgeRuleset } from '../../pkg/network/bridge-rules';
import { RCODE, TYPE_A, TYPE_AAAA, TYPE_PTR, answerLocally, buildQuery, parseQuery } from '../../pkg/network/dns-message';
import { hostsFile } from '../../pkg/container/etc-files';
import { ConflictError, InvalidArgumentError } from '../../pkg/errors';
import type { EndpointRow } from '../../pkg/network/network-store';

const request = networkRequest;

test('IPv6 addresses parse from every text form and print as RFC 5952 says', () => {
  assert.equal(parseIp6('::'), 0n);
  assert.equal(parseIp6('::1'), 1n);
  assert.equal(parseIp6('fd00::2'), (0xfd00n << 112n) | 2n);
  assert.equal(parseIp6('::ffff:10.0.0.1'), (0xffffn << 32n) | 0x0a000001n);
  assert.equal(parseIp6('FD00:0:0:0:0:0:0:2'), parseIp6('fd00::2'));
  for (const bad of ['', '1.2.3.4', 'fd00:::1', 'fd00::1::2', 'g::1', 'fe80::1%eth0', '1:2:3:4:5:6:7:8:9']) assert.equal(parseIp6(bad), undefined, bad);
  const cases: [string, string][] = [
    ['0:0:0:0:0:0:0:0', '::'],
    ['fd00:0:0:0:0:0:0:1', 'fd00::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // the first of two equal runs
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group stays
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // the longest run
    ['fd12:3456:789a:0:0:0:0:0', 'fd12:3456:789a::'],
    ['2001:DB8::ABCD', '2001:db8::abcd'],
  ];
  for (const [text, canonical] of cases) assert.equal(formatIp6(parseIp6(text) as bigint), canonical, text);
});

test('IPv6 subnets: host bits refused, overlap and containment', () => {
  assert.equal(formatSubnet6(parseSubnet6('fd00:1:0:0::/64')), 'fd00:1::/64');
  assert.throws(() => parseSubnet6('fd00:1::5/64'), /did you mean fd00:1::\/64/);
  assert.throws(() => parseSubnet6('fd00:1::'), InvalidArgumentError);
  assert.throws(() => parseSubnet6('fd00:1::/129'), InvalidArgumentError);
  assert.throws(() => parseSubnet6('10.0.0.0/8'), /IPv6 CIDR/);
  assert.equal(overlaps6(parseSubnet6('fd00::/48'), parseSubnet6('fd00:0:0:5::/64')), true);
  assert.equal(overlaps6(parseSubnet6('fd00:1::/64'), parseSubnet6('fd00:2::/64')), false);
  assert.equal(within6(parseSubnet6('fd00:1::/80'), parseSubnet6('fd00:1::/64')), true);
  assert.equal(within6(parseSubnet6('fd00:1::/48'), parseSubnet6('fd00:1::/64')), false);
  const subnet = parseSubnet6('fd00:1::/64');
  const used = new Set([parseIp6('fd00:1::1') as bigint, parseIp6('fd00:1::2') as bigint]);
  assert.equal(formatIp6(nextFreeAddress6(subnet, subnet, used) as bigint), 'fd00:1::3', 'never the subnet-router address ::0');
  assert.equal(formatIp6(nextFreeAddress6(subnet, parseSubnet6('fd00:1::100/120'), used) as bigint), 'fd00:1::100');
  const tiny = parseSubnet6('fd00:1::/126');
  assert.equal(nextFreeAddress6(tiny, tiny, new Set([1n, 2n, 3n].map((n) => tiny.base + n))), undefined);
});

test('free ULA /64s are random, and skip what is taken', () => {
  assert.equal(formatSubnet6(ulaSubnet(Buffer.from([0x12, 0x34, 0x56, 0x78, 0x9a]))), 'fd12:3456:789a::/64');
  const draws = [Buffer.from([0, 0, 0, 0, 1]), Buffer.from([0, 0, 0, 0, 2])];
  const picked = allocateSubnet6([parseSubnet6('fd00:0:1::/48')], () => draws.shift() as Buffer);
  assert.equal(formatSubnet6(picked), 'fd00:0:2::/64');
  assert.throws(() => allocateSubnet6([parseSubnet6('fd00::/8')]), /no free IPv6 subnet/);
  const routes = 'fd000000000000000000000000000000 40 00000000000000000000000000000000 00 00000000000000000000000000000000 00000100 00000001 00000000 00000001 eth0\n' +
    '00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000001 00000000 00000003 eth0\n';
  assert.deepEqual(parseProcRoutes6(routes).map(formatSubnet6), ['fd00::/64']);
});

test('network create: --ipv6 is dual stack; an IPv6 --subnet alone is IPv6-only (as Podman 4.3)', () => {
  const dual = planNetwork(request({ ipv6: true }), []).network;
  assert.equal(dual.ipv6, true);
  assert.equal(dual.subnets.length, 2);
  assert.match(dual.subnets[0].subnet, /^10\.89\.0\.0\/24$/);
  assert.match(dual.subnets[1].subnet, /^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::\/64$/);
  assert.equal(dual.subnets[1].gateway, dual.subnets[1].subnet.replace('::/64', '::1'));
  const given = planNetwork(request({ ipv6: true, subnets: ['fd12::/64', '10.90.0.0/24'], gateways: ['fd12::fe', '10.90.0.254'], ipRanges: ['fd12::100/120'] }), []).network;
  assert.deepEqual(given.subnets, [
    { subnet: '10.90.0.0/24', gateway: '10.90.0.254' },
    { subnet: 'fd12::/64', gateway: 'fd12::fe', ipRange: 'fd12::100/120' },
  ]);
  const only6 = planNetwork(request({ subnets: ['fd12::/64'] }), []).network;
  assert.deepEqual(only6.subnets, [{ subnet: 'fd12::/64', gateway: 'fd12::1' }]);
  assert.equal(only6.ipv6, true);
  const docker6 = planNetwork(request({ ipv6: true, ipv4: false }), []).network;
  assert.equal(docker6.subnets.length, 1, "Docker's --ipv4=false --ipv6: IPv6 only");
  assert.match(docker6.subnets[0].subnet, /^fd/);
  assert.throws(() => planNetwork(request({ ipv4: false }), []), /needs IPv4 or IPv6/);
  assert.throws(() => planNetwork(request({ ipv6: true, ipv4: false, subnets: ['10.90.0.0/24'] }), []), /contradicts the IPv4 --subnet 10\.90\.0\.0\/24/);
  const v4 = planNetwork(request(), []).network;
  assert.equal(v4.ipv6, false);
  assert.equal(v4.subnets.length, 1);
});

test('network create: IPv6 subnet, gateway and range are checked', () => {
  const existing = [planNetwork(request({ name: 'a', subnets: ['fd12::/64'] }), []).network];
  assert.throws(() => planNetwork(request({ subnets: ['fd12::/56'] }), existing), /already used by network a/);
  assert.throws(() => planNetwork(request({ subnets: ['fd13::/64', 'fd14::/64'] }), []), /one IPv6 --subnet per network/);
  assert.throws(() => planNetwork(request({ subnets: ['fd13::1/64'] }), []), /bits set outside the prefix/);
  assert.throws(() => planNetwork(request({ subnets: ['fd13::/127'] }), []), /no room for containers/);
  assert.throws(() => planNetwork(request({ subnets: ['fd13::/64'], gateways: ['fd14::1'] }), []), /not a host address/);
  assert.throws(() => planNetwork(request({ subnets: ['fd13::/64'], gateways: ['10.0.0.1'] }), []), /needs a --subnet of its IP family \(IPv4\)/);
  assert.throws(() => planNetwork(request({ subnets: ['fd13::/64'], ipRanges: ['fd14::/80'] }), []), /not inside subnet/);
  assert.throws(() => planNetwork(request({ ipv6: true, gateways: ['fd13::1'] }), []), /needs a --subnet/);
  assert.throws(() => planNetwork(request({ subnets: ['fd00::/64'] }), []), ConflictError, "slirp4netns's own IPv6 subnet");
  assert.doesNotThrow(() => planNetwork(request({ subnets: ['fd00::/64'], rootless: false }), []));
  // an allocated subnet avoids other networks' and the host's routes
  const taken = planNetwork(request({ ipv6: true }), [], { v4: [], v6: [parseSubnet6('fd00::/9')] }).network;
  assert.equal(overlaps6(parseSubnet6(taken.subnets[1].subnet), parseSubnet6('fd00::/9')), false, taken.subnets[1].subnet);
});

test('leases on a dual-stack network: both families, --ip6 checked', () => {
  const net = planNetwork(request({ ipv6: true, subnets: ['10.90.0.0/24', 'fd12::/64'] }), []).network;
  const taken: EndpointRow[] = [];
  const first = leaseEndpoint(net, { aliases: [] }, taken, 'eth0');
  assert.equal(first.ip, '10.90.0.2');
  assert.equal(first.ip6, 'fd12::2');
  taken.push({ ...first, containerId: 'a', network: 'web' });
  const second = leaseEndpoint(net, { aliases: [], ip6: 'FD12::0:50' }, taken, 'eth0');
  assert.equal(second.ip6, 'fd12::50');
  assert.equal(second.ip, '10.90.0.3');
  assert.throws(() => leaseEndpoint(net, { aliases: [], ip6: 'fd12::2' }, taken, 'eth0'), /already in use on network web: choose another --ip6/);
  assert.throws(() => leaseEndpoint(net, { aliases: [], ip6: 'fd12::1' }, taken, 'eth0'), /already in use/);
  assert.throws(() => leaseEndpoint(net, { aliases: [], ip6: 'fd13::5' }, taken, 'eth0'), /not a host address of network web \(fd12::\/64\)/);
  assert.throws(() => leaseEndpoint(net, { aliases: [], ip6: '10.90.0.9' }, taken, 'eth0'), /--ip6 takes an IPv6 address/);
  const only4 = planNetwork(request({ name: 'v4' }), []).network;
  assert.throws(() => leaseEndpoint(only4, { aliases: [], ip6: 'fd12::5' }, [], 'eth0'), /has no IPv6 subnet/);
  const only6 = planNetwork(request({ name: 'v6', subnets: ['fd14::/64'] }), []).network;
  const e6 = leaseEndpoint(only6, { aliases: [] }, [], 'eth0');
  assert.deepEqual([e6.ip, e6.ip6], ['', 'fd14::2']);
  assert.throws(() => leaseEndpoint(only6, { aliases: [], ip: '10.0.0.5' }, [], 'eth0'), /has no IPv4 subnet/);
  assert.deepEqual(parseNetworkChoice(['a:ip6=fd12::9,alias=db']).networks, { a: { aliases: ['db'], ip6: 'fd12::9' } });
  assert.deepEqual(parseNetworkChoice(['a'], { ip6: 'fd12::9' }).networks, { a: { aliases: [], ip6: 'fd12::9' } });
  assert.throws(() => parseNetworkChoice([], { ip6: 'fd12::9' }), /--ip6 needs a user-defined network/);
});

test('nft ruleset: an ip6 table with NAT66 and the same isolation as IPv4', () => {
  const rules = bridgeRuleset([
    { interface: 'tspod1', subnets: [{ subnet: '10.89.0.0/24', gateway: '10.89.0.1' }, { subnet: 'fd12::/64', gateway: 'fd12::1' }], internal: false },
    { interface: 'tspod2', subnets: [{ subnet: '10.89.1.0/24', gateway: '10.89.1.1' }], internal: false },
    { interface: 'tspod3', subnets: [{ subnet: 'fd13::/64', gateway: 'fd13::1' }], internal: true },
  ]);
  const ip6 = rules.slice(rules.indexOf('add table ip6 tspod'));
  const ip4 = rules.slice(0, rules.indexOf('add table ip6 tspod'));
  assert.match(ip6, /ip6 saddr fd12::\/64 ip6 daddr != fd12::\/64 oifname != "tspod1" masquerade/);
  assert.doesNotMatch(ip6, /fd13::\/64 .*masquerade/, 'no way out of an internal network');
  assert.doesNotMatch(ip4, /fd1/, 'IPv6 subnets stay out of the ip table');
  assert.doesNotMatch(ip6, /10\.89/, 'IPv4 subnets stay out of the ip6 table');
  assert.match(ip6, /iifname "tspod2" oifname \{ "tspod1", "tspod3" \} reject with icmpv6 type admin-prohibited/);
  assert.match(ip6, /iifname "tspod2" ip6 daddr \{ fd12::1, fd13::1 \} reject with icmpv6 type admin-prohibited/);
  assert.match(ip6, /iifname "tspod3" ip6 daddr != fd13::1 reject with icmpv6 type admin-prohibited/);
  assert.match(ip6, /oifname "tspod3" reject with icmpv6 type admin-prohibited/);
  assert.equal(bridgeRuleset([]), 'add table ip tspod\ndelete table ip tspod\nadd table ip6 tspod\ndelete table ip6 tspod\n');
});

test("/etc/hosts lists a dual-stack container's name with both addresses", () => {
  const text = hostsFile({ hostname: 'abc', name: 'web', ip: '10.89.0.2', ip6: 'fd12::2', hostNetwork: false });
  assert.match(text, /^10\.89\.0\.2\tabc web$/m);
  assert.match(text, /^fd12::2\tabc web$/m);
  const only6 = hostsFile({ hostname: 'abc', ip: 'fd12::2', ip6: 'fd12::2', hostNetwork: false });
  assert.equal(only6.split('\n').filter((l) => l.startsWith('fd12::2')).length, 1);
});

test('the resolver answers AAAA with IPv6 addresses, and ip6.arpa names', () => {
  const records = { names: { web: '10.89.0.2' }, names6: { web: 'fd12::2', v6only: 'fd12::3' } };
  const ask = (name: string, type: number): Buffer => {
    const q = buildQuery(5, name, type);
    return answerLocally(q, parseQuery(q)!, records) as Buffer;
  };
  const aaaa = ask('web', TYPE_AAAA);
  assert.equal(aaaa.readUInt16BE(6), 1);
  assert.equal(aaaa.readUInt16BE(aaaa.length - 16 - 10), TYPE_AAAA);
  assert.equal(formatIp6(BigInt(`0x${aaaa.subarray(aaaa.length - 16).toString('hex')}`)), 'fd12::2');
  const a = ask('v6only', TYPE_A);
  assert.deepEqual([a.readUInt16BE(2) & 0xf, a.readUInt16BE(6)], [RCODE.NOERROR, 0], 'a known name without IPv4: an empty answer');
  const nibbles = [...'fd120000000000000000000000000003'].reverse().join('.');
  const ptr = ask(`${nibbles}.ip6.arpa`, TYPE_PTR);
  assert.ok(ptr.includes(Buffer.from([6, ...Buffer.from('v6only'), 0])));
  assert.equal(ask('other', TYPE_AAAA), undefined);
});
