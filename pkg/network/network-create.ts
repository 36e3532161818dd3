// `network create`: checks what was asked (name, driver, subnet, gateway, range, options) and
// turns it into a network record with a subnet and interface of its own. Nothing is set up on
// the host here: bridges appear when the first container joins (network-attach.ts).
import { ConflictError, InvalidArgumentError } from '../errors';
import { IPV4, IPV6, IpFamily } from './ip-family';
import { DEFAULT_NETWORK, DEFAULT_NETWORK_ALIASES, NetworkRecord, NetworkStore, NetworkSubnet, newNetworkId } from './network-store';
import { HostRoutes, allocateSubnet, allocateSubnet6, hostRoutes } from './subnet-pool';

export interface NetworkCreateRequest {
  name: string;
  driver: string;
  subnets: string[];
  gateways: string[];
  ipRanges: string[];
  internal: boolean;
  ipv6: boolean;
  /** Docker's --ipv4 (default true): false with --ipv6 makes an IPv6-only network */
  ipv4?: boolean;
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

const byFamily = (list: readonly string[]): { v4: string[]; v6: string[] } => ({ v4: list.filter((t) => !t.includes(':')), v6: list.filter((t) => t.includes(':')) });

/**
 * The network's subnet of one family: the one given, checked (room for containers, no overlap
 * with another network or with slirp4netns's rootless uplink, gateway and range inside), else
 * `allocate`'s pick among what is free.
 */
function planSubnet<S extends { prefix: number }, A>(
  family: IpFamily<S, A>,
  req: NetworkCreateRequest,
  existing: readonly NetworkRecord[],
  allocate: (taken: S[]) => S,
  given: { subnet?: string; gateway?: string; ipRange?: string },
): NetworkSubnet {
  const text = given.subnet;
  if (text === undefined) {
    const subnet = allocate([...existing.flatMap((n) => family.subnetOf(n) ?? []).map((s) => family.parseSubnet(s.subnet)), family.slirp]);
    return { subnet: family.formatSubnet(subnet), gateway: family.formatIp(family.firstHost(subnet)) };
  }
  const subnet = family.parseSubnet(text);
  if (subnet.prefix > family.maxPrefix) {
    throw new InvalidArgumentError(`invalid subnet "${text}": it has no room for containers, use a prefix of /${family.maxPrefix} or shorter`);
  }
  const clash = existing.find((n) => {
    const other = family.subnetOf(n);
    return other !== undefined && family.overlaps(family.parseSubnet(other.subnet), subnet);
  });
  if (clash) throw new ConflictError(`subnet ${text} is already used by network ${clash.name}: choose another --subnet`);
  if (req.driver === 'bridge' && req.rootless && family.overlaps(subnet, family.slirp)) {
    throw new ConflictError(`subnet ${text} overlaps slirp4netns's ${family.formatSubnet(family.slirp)}: choose another --subnet`);
  }
  let gateway = family.firstHost(subnet);
  if (given.gateway !== undefined) {
    const gw = family.parseIp(given.gateway);
    if (gw === undefined) throw new InvalidArgumentError(`invalid gateway "${given.gateway}": use an ${family.name} address`);
    if (!family.isHostAddress(subnet, gw)) throw new InvalidArgumentError(`gateway ${given.gateway} is not a host address of subnet ${text}`);
    gateway = gw;
  }
  const range = given.ipRange === undefined ? undefined : family.parseSubnet(given.ipRange, 'ip-range');
  if (range !== undefined && !family.within(range, subnet)) throw new InvalidArgumentError(`ip-range ${given.ipRange} is not inside subnet ${text}`);
  return { subnet: family.formatSubnet(subnet), gateway: family.formatIp(gateway), ...(range !== undefined ? { ipRange: family.formatSubnet(range) } : {}) };
}

export function planNetwork(req: NetworkCreateRequest, existing: readonly NetworkRecord[], routes: HostRoutes = { v4: [], v6: [] }): NetworkCreateResult {
  if (!NAME.test(req.name)) throw new InvalidArgumentError(`invalid network name "${req.name}": names must match [a-zA-Z0-9][a-zA-Z0-9_.-]*`);
  if (RESERVED.includes(req.name)) throw new InvalidArgumentError(`invalid network name "${req.name}": the name is reserved for a network mode`);
  if (req.name === DEFAULT_NETWORK || DEFAULT_NETWORK_ALIASES.includes(req.name) || existing.some((n) => n.name === req.name)) {
    throw new ConflictError(`network with name ${req.name} already exists: network already exists`);
  }
  if (!DRIVERS.includes(req.driver)) throw new InvalidArgumentError(`unsupported network driver "${req.driver}": use ${DRIVERS.join(', ')}`);
  if (req.driver !== 'bridge' && req.rootless) {
    throw new InvalidArgumentError(`the ${req.driver} driver needs root (it attaches containers to a host interface): use the bridge driver rootless`);
  }
  const given = { subnets: byFamily(req.subnets), gateways: byFamily(req.gateways), ipRanges: byFamily(req.ipRanges) };
  for (const family of ['v4', 'v6'] as const) {
    const name = family === 'v4' ? 'IPv4' : 'IPv6';
    if (given.subnets[family].length > 1) throw new InvalidArgumentError(`one ${name} --subnet per network: containers get their ${name} address from a single subnet`);
    if (given.gateways[family].length > given.subnets[family].length) throw new InvalidArgumentError(`every --gateway needs a --subnet of its IP family (${name})`);
    if (given.ipRanges[family].length > given.subnets[family].length) throw new InvalidArgumentError(`every --ip-range needs a --subnet of its IP family (${name})`);
  }
  const { mtu, bridgeName, notes } = checkOptions(req.driver, req.options);
  const parent = req.options.parent;
  if (req.driver !== 'bridge' && !parent) throw new InvalidArgumentError(`the ${req.driver} driver needs the host interface to attach to: pass -o parent=IFACE`);

  // As Podman: an IPv6 --subnet alone makes an IPv6-only network; --ipv6 adds IPv4 beside it.
  // Docker's --ipv4=false asks for IPv6 only.
  const ipv6 = req.ipv6 || given.subnets.v6.length > 0;
  const ipv4 = req.ipv4 !== false && (given.subnets.v4.length > 0 || given.subnets.v6.length === 0 || req.ipv6);
  if (req.ipv4 === false && given.subnets.v4.length > 0) throw new InvalidArgumentError(`--ipv4=false contradicts the IPv4 --subnet ${given.subnets.v4[0]}: drop one of them`);
  if (!ipv4 && !ipv6) throw new InvalidArgumentError('a network needs IPv4 or IPv6: drop --ipv4=false or add --ipv6');
  const of = (family: 'v4' | 'v6') => ({ subnet: given.subnets[family][0], gateway: given.gateways[family][0], ipRange: given.ipRanges[family][0] });
  const subnets: NetworkSubnet[] = [];
  if (ipv4) subnets.push(planSubnet(IPV4, req, existing, (taken) => allocateSubnet([...taken, ...routes.v4]), of('v4')));
  if (ipv6) subnets.push(planSubnet(IPV6, req, existing, (taken) => allocateSubnet6([...taken, ...routes.v6]), of('v6')));
  if (bridgeName && existing.some((n) => n.interface === bridgeName)) throw new ConflictError(`bridge name ${bridgeName} is already used by another network`);
  const network: NetworkRecord = {
    name: req.name,
    id: newNetworkId(),
    driver: req.driver,
    created: Date.now(),
    subnets,
    interface: req.driver === 'bridge' ? bridgeName ?? freeBridgeName(existing) : (parent as string),
    internal: req.internal,
    ipv6,
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
