// `network create`: checks what was asked (name, driver, subnet, gateway, range, options) and
// turns it into a network record with a subnet and interface of its own. Nothing is set up on
// the host here: bridges appear when the first container joins (network-attach.ts).
import { ConflictError, InvalidArgumentError } from '../errors';
import { formatIp, formatSubnet, isHostAddress, parseIp, parseSubnet, firstHost, overlaps, within, Subnet } from './ipv4';
import { DEFAULT_NETWORK, DEFAULT_NETWORK_ALIASES, NetworkRecord, NetworkStore, newNetworkId } from './network-store';
import { SLIRP_SUBNET, allocateSubnet, hostRoutes } from './subnet-pool';

export interface NetworkCreateRequest {
  name: string;
  driver: string;
  subnets: string[];
  gateways: string[];
  ipRanges: string[];
  internal: boolean;
  ipv6: boolean;
  labels: Record<string, string>;
  options: Record<string, string>;
  rootless: boolean;
  /** --disable-dns: no name resolution on this network */
  disableDns?: boolean;
  /** `--ignore`: an existing network of that name is returned as it is */
  ignoreExisting?: boolean;
}

export interface NetworkCreateResult {
  network: NetworkRecord;
  /** one line each for options accepted but not applied */
  notes: string[];
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** Words --network gives another meaning to. */
const RESERVED = ['host', 'none', 'private', 'slirp4netns', 'pasta', 'container', 'ns', 'default'];
export const DRIVERS = ['bridge', 'macvlan', 'ipvlan'];

/** Options applied; each driver's own list (Podman's names and Docker's com.docker.network.*). */
const APPLIED: Record<string, string[]> = {
  bridge: ['mtu', 'com.docker.network.driver.mtu', 'com.docker.network.bridge.name'],
  macvlan: ['mtu', 'com.docker.network.driver.mtu', 'parent', 'mode', 'macvlan_mode'],
  ipvlan: ['mtu', 'com.docker.network.driver.mtu', 'parent', 'mode', 'ipvlan_mode'],
};
/** Options Docker and Podman know that change nothing here. */
const IGNORED = ['isolate', 'vlan', 'no_default_route', 'metric', 'vrf'];
const MODES: Record<string, string[]> = { macvlan: ['bridge', 'private', 'vepa', 'passthru'], ipvlan: ['l2', 'l3', 'l3s'] };

function checkOptions(driver: string, options: Record<string, string>): { mtu?: number; bridgeName?: string; notes: string[] } {
  const notes: string[] = [];
  for (const key of Object.keys(options)) {
    if (APPLIED[driver].includes(key)) continue;
    if (key.startsWith('com.docker.network.') || IGNORED.includes(key)) {
      notes.push(`network option ${key} is accepted but has no effect in tspod`);
      continue;
    }
    throw new InvalidArgumentError(`unsupported ${driver} network option ${key}: use ${APPLIED[driver].join(', ')}`);
  }
  const mtuText = options.mtu ?? options['com.docker.network.driver.mtu'];
  let mtu: number | undefined;
  if (mtuText !== undefined) {
    mtu = Number(mtuText);
    if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65535) throw new InvalidArgumentError(`invalid mtu "${mtuText}": use a number from 68 to 65535`);
  }
  const mode = options.mode ?? options.macvlan_mode ?? options.ipvlan_mode;
  if (mode !== undefined && MODES[driver] && !MODES[driver].includes(mode)) {
    throw new InvalidArgumentError(`invalid ${driver} mode "${mode}": use ${MODES[driver].join(', ')}`);
  }
  const bridgeName = options['com.docker.network.bridge.name'];
  if (bridgeName !== undefined && !/^[a-zA-Z0-9_.-]{1,15}$/.test(bridgeName)) {
    throw new InvalidArgumentError(`invalid bridge name "${bridgeName}": at most 15 letters, digits, '.', '-' or '_'`);
  }
  return { mtu, bridgeName, notes };
}

/** The lowest tspodN no other network uses (tspod0 is the default network's as root). */
function freeBridgeName(existing: readonly NetworkRecord[]): string {
  const used = new Set(existing.map((n) => n.interface));
  for (let i = 1; ; i++) if (!used.has(`tspod${i}`)) return `tspod${i}`;
}

function subnetsOf(nets: readonly NetworkRecord[]): Subnet[] {
  return nets.flatMap((n) => n.subnets.map((s) => parseSubnet(s.subnet)));
}

export function planNetwork(req: NetworkCreateRequest, existing: readonly NetworkRecord[], routes: readonly Subnet[]): NetworkCreateResult {
  if (!NAME.test(req.name)) throw new InvalidArgumentError(`invalid network name "${req.name}": names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*`);
  if (RESERVED.includes(req.name)) throw new InvalidArgumentError(`invalid network name "${req.name}": the name is reserved for a network mode`);
  if (req.name === DEFAULT_NETWORK || DEFAULT_NETWORK_ALIASES.includes(req.name) || existing.some((n) => n.name === req.name)) {
    throw new ConflictError(`network with name ${req.name} already exists: network already exists`);
  }
  if (!DRIVERS.includes(req.driver)) throw new InvalidArgumentError(`unsupported network driver "${req.driver}": use ${DRIVERS.join(', ')}`);
  if (req.driver !== 'bridge' && req.rootless) {
    throw new InvalidArgumentError(`the ${req.driver} driver needs root (it attaches containers to a host interface): use the bridge driver rootless`);
  }
  if (req.subnets.length > 1) throw new InvalidArgumentError('one --subnet per network: containers get their address from a single IPv4 subnet');
  if (req.gateways.length > req.subnets.length) throw new InvalidArgumentError('every --gateway needs a --subnet');
  if (req.ipRanges.length > req.subnets.length) throw new InvalidArgumentError('every --ip-range needs a --subnet');
  const { mtu, bridgeName, notes } = checkOptions(req.driver, req.options);
  const parent = req.options.parent;
  if (req.driver !== 'bridge' && !parent) throw new InvalidArgumentError(`the ${req.driver} driver needs the host interface to attach to: pass -o parent=IFACE`);
  if (req.ipv6) notes.push('--ipv6: IPv6 addresses are not assigned yet; the network gets IPv4 only');

  const taken = subnetsOf(existing);
  const subnets = req.subnets.map((text, i) => {
    if (text.includes(':')) throw new InvalidArgumentError(`invalid subnet "${text}": IPv6 subnets are not supported yet, use an IPv4 CIDR`);
    const subnet = parseSubnet(text);
    if (subnet.prefix > 30) throw new InvalidArgumentError(`invalid subnet "${text}": it has no room for containers, use a prefix of /30 or shorter`);
    const clash = existing.find((n) => n.subnets.some((s) => overlaps(parseSubnet(s.subnet), subnet)));
    if (clash) throw new ConflictError(`subnet ${text} is already used by network ${clash.name}: choose another --subnet`);
    if (req.driver === 'bridge' && overlaps(subnet, SLIRP_SUBNET) && req.rootless) throw new ConflictError(`subnet ${text} overlaps slirp4netns's ${formatSubnet(SLIRP_SUBNET)}: choose another --subnet`);
    const gatewayText = req.gateways[i];
    let gateway = firstHost(subnet);
    if (gatewayText !== undefined) {
      const gw = parseIp(gatewayText);
      if (gw === undefined) throw new InvalidArgumentError(`invalid gateway "${gatewayText}": use an IPv4 address`);
      if (!isHostAddress(subnet, gw)) throw new InvalidArgumentError(`gateway ${gatewayText} is not a host address of subnet ${text}`);
      gateway = gw;
    }
    const rangeText = req.ipRanges[i];
    if (rangeText !== undefined && !within(parseSubnet(rangeText, 'ip-range'), subnet)) {
      throw new InvalidArgumentError(`ip-range ${rangeText} is not inside subnet ${text}`);
    }
    return { subnet: formatSubnet(subnet), gateway: formatIp(gateway), ...(rangeText !== undefined ? { ipRange: rangeText } : {}) };
  });
  if (subnets.length === 0) {
    const subnet = allocateSubnet([...taken, ...routes, SLIRP_SUBNET]);
    subnets.push({ subnet: formatSubnet(subnet), gateway: formatIp(firstHost(subnet)) });
  }
  if (bridgeName && existing.some((n) => n.interface === bridgeName)) throw new ConflictError(`bridge name ${bridgeName} is already used by another network`);
  const network: NetworkRecord = {
    name: req.name,
    id: newNetworkId(),
    driver: req.driver,
    created: Date.now(),
    subnets,
    interface: req.driver === 'bridge' ? bridgeName ?? freeBridgeName(existing) : (parent as string),
    internal: req.internal,
    ipv6: req.ipv6,
    dnsEnabled: req.driver === 'bridge' && !req.disableDns,
    ...(mtu !== undefined ? { mtu } : {}),
    labels: req.labels,
    options: req.options,
  };
  return { network, notes };
}

export function createNetwork(store: NetworkStore, req: NetworkCreateRequest): NetworkCreateResult {
  if (req.ignoreExisting) {
    const existing = store.get(req.name);
    if (existing) return { network: existing, notes: [] };
  }
  const result = planNetwork(req, store.list(), hostRoutes());
  store.insert(result.network);
  return result;
}
