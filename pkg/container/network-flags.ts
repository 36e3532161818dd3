// The network flags of run/create (--network, -p, -P, --expose, --dns*, --add-host,
// --mac-address) checked and turned into the container config's fields. Pure: a bad value
// fails before the container exists.
import * as net from 'node:net';
import { InvalidArgumentError } from '../errors';
import { checkPublishable, parseNetworkMode } from '../network/network-mode';
import { parseExpose, parsePublish } from '../network/port-mappings';
import { parseNetworkChoice } from '../network/network-flags';
import { ContainerConfig } from './container-config';
import { splitHostEntry } from './etc-files';

export interface NetworkFlags {
  network: string[];
  publish: string[];
  publishAll: boolean;
  expose: string[];
  dns: string[];
  dnsSearch: string[];
  dnsOption: string[];
  addHost: string[];
  macAddress?: string;
  networkAlias?: string[];
  ip?: string;
  ip6?: string;
}

type NetworkConfig = Pick<ContainerConfig, 'network' | 'networkOptions' | 'publish' | 'publishAll' | 'exposedPorts' | 'dns' | 'dnsSearch' | 'dnsOptions' | 'addHosts' | 'macAddress'>;

export function parseNetworkFlags(flags: NetworkFlags): NetworkConfig {
  // User networks keep their per-network options (NAME:ip=,ip6=,alias=,mac=) apart from the names.
  const choice = parseNetworkChoice(flags.network, { aliases: flags.networkAlias, ip: flags.ip, ip6: flags.ip6, mac: flags.macAddress });
  const userNetworks = Object.keys(choice.networks);
  const network = userNetworks.length ? userNetworks.join(',') : flags.network.length ? flags.network.join(',') : 'bridge';
  parseNetworkMode(network);
  for (const d of flags.dns) if (!net.isIP(d)) throw new InvalidArgumentError(`invalid --dns "${d}": use an IP address`);
  for (const h of flags.addHost) {
    const entry = splitHostEntry(h);
    if (!entry || (entry.ip !== 'host-gateway' && !net.isIP(entry.ip))) throw new InvalidArgumentError(`invalid --add-host "${h}": use NAME:IP (IP may be host-gateway)`);
  }
  if (flags.macAddress !== undefined && !/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(flags.macAddress)) {
    throw new InvalidArgumentError(`invalid --mac-address "${flags.macAddress}": use six hex pairs such as 92:d0:c6:0a:29:33`);
  }
  const config: NetworkConfig = {
    network,
    ...(userNetworks.length ? { networkOptions: choice.networks } : {}),
    publish: flags.publish.flatMap(parsePublish),
    publishAll: flags.publishAll || undefined,
    exposedPorts: [...new Set(flags.expose.flatMap(parseExpose))],
    dns: flags.dns,
    dnsSearch: flags.dnsSearch,
    dnsOptions: flags.dnsOption,
    addHosts: flags.addHost,
    macAddress: flags.macAddress?.toLowerCase(),
  };
  checkPublishable(config);
  return config;
}
