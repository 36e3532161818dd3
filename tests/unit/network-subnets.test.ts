import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatSubnet, nextFreeAddress, parseIp, parseSubnet, formatIp } from '../../pkg/network/ipv4';
import { allocateSubnet, parseProcRoutes } from '../../pkg/network/subnet-pool';
import { planNetwork } from '../../pkg/network/network-create';
import { networkRequest } from './network-fixtures';
import { leaseEndpoint, vethName } from '../../pkg/network/endpoint-lease';
import { parseNetworkChoice } from '../../pkg/network/network-flags';
import { bridgeRuleset } from '../../pkg/network/bridge-rules';
import { InvalidArgumentError, ConflictError } from '../../pkg/errors';
import type { NetworkRecord } from '../../pkg/network/network-store';

const request = networkRequest;

test('subnets parse, print and refuse host bits', () => {
  assert.equal(formatSubnet(parseSubnet('10.89.3.0/24')), '10.89.3.0/24');
  assert.throws(() => parseSubnet('10.89.3.1/24'), /did you mean 10.89.3.0\/24/);
  assert.throws(() => parseSubnet('10.89.3.0'), InvalidArgumentError);
  assert.throws(() => parseSubnet('300.1.1.0/24'), InvalidArgumentError);
  assert.throws(() => parseSubnet('10.0.0.0/33'), InvalidArgumentError);
});

test('the kernel route table is read in its little-endian hex', () => {
  const text = 'Iface\tDestination\tGateway\tFlags\tRefCnt\tUse\tMetric\tMask\tMTU\tWindow\tIRTT\n' +
    'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n' +
    'eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n' +
    'br0\t0000590A\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n';
  assert.deepEqual(parseProcRoutes(text).map(formatSubnet), ['192.0.2.0/24', '10.89.0.0/16']);
});

test('allocation takes the first /24 of 10.89.0.0/16 that nothing overlaps', () => {
  assert.equal(formatSubnet(allocateSubnet([])), '10.89.0.0/24');
  assert.equal(formatSubnet(allocateSubnet([parseSubnet('10.89.0.0/24'), parseSubnet('10.89.1.0/25')])), '10.89.2.0/24');
  // a host route covering the start of the pool pushes past it
  assert.equal(formatSubnet(allocateSubnet([parseSubnet('10.89.0.0/22')])), '10.89.4.0/24');
  assert.throws(() => allocateSubnet([parseSubnet('10.89.0.0/16')]), /no free subnet/);
});

test('planNetwork: gateway, range and subnet checks', () => {
  const { network } = planNetwork(request(), []);
  assert.deepEqual(network.subnets, [{ subnet: '10.89.0.0/24', gateway: '10.89.0.1' }]);
  assert.equal(network.interface, 'tspod1');
  assert.equal(network.dnsEnabled, true);
  const custom = planNetwork(request({ subnets: ['10.90.0.0/24'], gateways: ['10.90.0.254'], ipRanges: ['10.90.0.128/25'] }), []).network;
  assert.deepEqual(custom.subnets, [{ subnet: '10.90.0.0/24', gateway: '10.90.0.254', ipRange: '10.90.0.128/25' }]);
  assert.throws(() => planNetwork(request({ subnets: ['10.90.0.0/24'], gateways: ['10.91.0.1'] }), []), /not a host address/);
  assert.throws(() => planNetwork(request({ subnets: ['10.90.0.0/24'], ipRanges: ['10.91.0.0/25'] }), []), /not inside subnet/);
  assert.throws(() => planNetwork(request({ gateways: ['10.90.0.1'] }), []), /needs a --subnet/);
  assert.throws(() => planNetwork(request({ subnets: ['10.90.0.0/24', '10.91.0.0/24'] }), []), /one IPv4 --subnet per network/);
  assert.throws(() => planNetwork(request({ subnets: ['10.0.2.0/24'] }), []), ConflictError);
});

test('planNetwork: names, drivers and options', () => {
  const existing = [planNetwork(request(), []).network];
  assert.throws(() => planNetwork(request(), existing), /already exists/);
  assert.throws(() => planNetwork(request({ name: 'bridge' }), []), /already exists/);
  assert.throws(() => planNetwork(request({ name: 'host' }), []), /reserved/);
  assert.throws(() => planNetwork(request({ name: '-x' }), []), /invalid network name/);
  assert.throws(() => planNetwork(request({ driver: 'overlay' }), []), /unsupported network driver/);
  assert.throws(() => planNetwork(request({ driver: 'macvlan', options: { parent: 'eth0' } }), []), /needs root/);
  assert.throws(() => planNetwork(request({ driver: 'macvlan', rootless: false }), []), /parent=IFACE/);
  const second = planNetwork(request({ name: 'two' }), existing).network;
  assert.equal(second.subnets[0].subnet, '10.89.1.0/24');
  assert.equal(second.interface, 'tspod2');
  const opts = planNetwork(request({ options: { 'com.docker.network.bridge.name': 'br-web', 'com.docker.network.driver.mtu': '1400', 'com.docker.network.bridge.enable_icc': 'true' } }), []);
  assert.equal(opts.network.interface, 'br-web');
  assert.equal(opts.network.mtu, 1400);
  assert.deepEqual(opts.notes, ['network option com.docker.network.bridge.enable_icc is accepted but has no effect in tspod']);
  assert.throws(() => planNetwork(request({ options: { bogus: '1' } }), []), /unsupported bridge network option bogus/);
  assert.throws(() => planNetwork(request({ options: { mtu: 'big' } }), []), /invalid mtu/);
});

test('leases: lowest free address, never the gateway; --ip checked', () => {
  const net = { ...planNetwork(request({ subnets: ['10.90.0.0/29'] }), []).network } as NetworkRecord;
  const taken: { ip: string; mac: string; aliases: string[]; interfaceName: string; containerId: string; network: string }[] = [];
  const first = leaseEndpoint(net, { aliases: ['db', 'db'] }, taken, 'eth0');
  assert.equal(first.ip, '10.90.0.2');
  assert.deepEqual(first.aliases, ['db']);
  assert.match(first.mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
  assert.equal(parseInt(first.mac.slice(0, 2), 16) & 3, 2, 'unicast, locally administered');
  taken.push({ ...first, containerId: 'a', network: 'web' });
  assert.equal(leaseEndpoint(net, { aliases: [] }, taken, 'eth0').ip, '10.90.0.3');
  assert.throws(() => leaseEndpoint(net, { aliases: [], ip: '10.90.0.2' }, taken, 'eth0'), /already in use/);
  assert.throws(() => leaseEndpoint(net, { aliases: [], ip: '10.90.0.1' }, taken, 'eth0'), /already in use/);
  assert.throws(() => leaseEndpoint(net, { aliases: [], ip: '10.90.0.7' }, taken, 'eth0'), /not a host address/);
  assert.throws(() => leaseEndpoint(net, { aliases: [], mac: '01:00:00:00:00:01' }, taken, 'eth0'), /multicast/);
  assert.equal(leaseEndpoint(net, { aliases: [], ip: '10.90.0.6', mac: '02:AA:bb:cc:dd:ee' }, taken, 'eth1').mac, '02:aa:bb:cc:dd:ee');
  for (const ip of ['10.90.0.3', '10.90.0.4', '10.90.0.5', '10.90.0.6']) taken.push({ ...first, ip, mac: ip, containerId: ip, network: 'web' });
  assert.throws(() => leaseEndpoint(net, { aliases: [] }, taken, 'eth0'), /no free addresses/);
  assert.equal(vethName('a'.repeat(64), 'web').length <= 15, true);
  assert.equal(formatIp(nextFreeAddress(parseSubnet('10.0.0.0/24'), parseSubnet('10.0.0.128/25'), new Set([parseIp('10.0.0.128') as number])) as number), '10.0.0.129');
});

test('--network values: modes, several networks, per-network options', () => {
  assert.deepEqual(parseNetworkChoice([]), { mode: undefined, networks: {} });
  assert.deepEqual(parseNetworkChoice(['host']), { mode: 'host', networks: {} });
  assert.deepEqual(parseNetworkChoice(['a', 'b'], { aliases: ['x'], ip: '10.89.0.9' }), { mode: 'a', networks: { a: { aliases: ['x'], ip: '10.89.0.9' }, b: { aliases: [] } } });
  assert.deepEqual(parseNetworkChoice(['a,b']).networks, { a: { aliases: [] }, b: { aliases: [] } });
  assert.deepEqual(parseNetworkChoice(['a:ip=10.89.0.5,alias=db,mac=02:00:00:00:00:01']).networks, { a: { aliases: ['db'], ip: '10.89.0.5', mac: '02:00:00:00:00:01' } });
  assert.throws(() => parseNetworkChoice(['host', 'a']), /cannot be combined/);
  assert.throws(() => parseNetworkChoice([], { ip: '10.0.0.2' }), /--ip needs a user-defined network/);
  assert.throws(() => parseNetworkChoice(['a:bogus=1']), /invalid option/);
});

test('nft ruleset: NAT out, isolation between networks, internal networks closed', () => {
  assert.equal(bridgeRuleset([]).split('\n').slice(0, 2).join('\n'), 'add table ip tspod\ndelete table ip tspod');
  const rules = bridgeRuleset([
    { interface: 'tspod1', subnets: [{ subnet: '10.89.0.0/24', gateway: '10.89.0.1' }], internal: false },
    { interface: 'tspod2', subnets: [{ subnet: '10.89.1.0/24', gateway: '10.89.1.1' }], internal: true },
  ]);
  assert.match(rules, /ip saddr 10\.89\.0\.0\/24 ip daddr != 10\.89\.0\.0\/24 oifname != "tspod1" masquerade/);
  assert.doesNotMatch(rules, /10\.89\.1\.0\/24 .*masquerade/);
  assert.match(rules, /iifname "tspod1" oifname "tspod2" reject with icmp type admin-prohibited/);
  assert.match(rules, /iifname "tspod1" ip daddr 10\.89\.1\.1 reject with icmp type admin-prohibited/);
  assert.match(rules, /iifname "tspod2" reject with icmp type admin-prohibited/);
  assert.match(rules, /oifname "tspod2" reject with icmp type admin-prohibited/);
  assert.match(rules, /iifname "tspod2" ip daddr != 10\.89\.1\.1 reject with icmp type admin-prohibited/);
});
