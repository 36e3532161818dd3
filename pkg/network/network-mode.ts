// What `--network` asks for, as data: Podman's modes (slirp4netns[:opts], pasta[:args], none,
// host, container:ID, ns:PATH, private) and Docker's names for the default (bridge, default,
// podman). Anything else names user-defined networks (`--network a,b` or repeated flags).
// Pure: parsed when the container is created, so a bad option fails before anything exists.
import { InvalidArgumentError } from '../errors';
import { log } from '../log';

export interface SlirpModeOptions {
  allowHostLoopback: boolean;
  mtu?: number;
  /** rootlesskit (default): tspod's own forwarder; slirp4netns: slirp's API socket */
  portHandler: 'rootlesskit' | 'slirp4netns';
  enableIpv6: boolean;
  /** the slirp network, default 10.0.2.0/24 */
  cidr?: string;
  outboundAddr?: string;
  outboundAddr6?: string;
}

export type NetworkMode =
  /** the default network: slirp4netns rootless; root gets the `bridge` network */
  | { kind: 'default' }
  | { kind: 'slirp4netns'; options: SlirpModeOptions }
  | { kind: 'pasta'; args: string[] }
  /** a network namespace with only lo (also `private`) */
  | { kind: 'none' }
  | { kind: 'host' }
  /** join the network namespace of another container */
  | { kind: 'container'; container: string }
  | { kind: 'ns'; path: string }
  /** user-defined networks by name (pkg/network/network-setup.ts, the bridge branch) */
  | { kind: 'networks'; names: string[] };

const DEFAULT_NAMES = new Set(['', 'default', 'bridge', 'podman']);

export const DEFAULT_SLIRP_OPTIONS: SlirpModeOptions = { allowHostLoopback: false, portHandler: 'rootlesskit', enableIpv6: false };

function boolOption(key: string, value: string): boolean {
  if (value === 'true') return true;
  if (value === 'false') return false;
  throw new InvalidArgumentError(`invalid value "${value}" for slirp4netns option ${key}: use true or false`);
}

export function parseSlirpOptions(text: string): SlirpModeOptions {
  const options: SlirpModeOptions = { ...DEFAULT_SLIRP_OPTIONS };
  for (const item of text.split(',').filter(Boolean)) {
    const eq = item.indexOf('=');
    const key = eq < 0 ? item : item.slice(0, eq);
    const value = eq < 0 ? '' : item.slice(eq + 1);
    switch (key) {
      case 'allow_host_loopback':
        options.allowHostLoopback = boolOption(key, value);
        break;
      case 'enable_ipv6':
        options.enableIpv6 = boolOption(key, value);
        break;
      case 'mtu': {
        const mtu = Number(value);
        if (!Number.isInteger(mtu) || mtu < 68 || mtu > 65521) throw new InvalidArgumentError(`invalid slirp4netns mtu "${value}": use a number from 68 to 65521`);
        options.mtu = mtu;
        break;
      }
      case 'port_handler':
        if (value !== 'rootlesskit' && value !== 'slirp4netns') throw new InvalidArgumentError(`invalid slirp4netns port_handler "${value}": use rootlesskit or slirp4netns`);
        options.portHandler = value;
        break;
      case 'cidr':
        if (!/^\d{1,3}(\.\d{1,3}){3}\/\d{1,2}$/.test(value)) throw new InvalidArgumentError(`invalid slirp4netns cidr "${value}": use an IPv4 network such as 10.0.3.0/24`);
        options.cidr = value;
        break;
      case 'outbound_addr':
        options.outboundAddr = value;
        break;
      case 'outbound_addr6':
        options.outboundAddr6 = value;
        break;
      default:
        throw new InvalidArgumentError(
          `unknown slirp4netns option "${key}": use allow_host_loopback, cidr, enable_ipv6, mtu, outbound_addr, outbound_addr6 or port_handler`,
        );
    }
  }
  return options;
}

/** One --network value (several flags are joined with commas by the caller). */
export function parseNetworkMode(value: string | undefined): NetworkMode {
  const v = (value ?? '').trim();
  if (DEFAULT_NAMES.has(v)) return { kind: 'default' };
  if (v === 'none' || v === 'private') return { kind: 'none' };
  if (v === 'host') return { kind: 'host' };
  if (v === 'slirp4netns' || v.startsWith('slirp4netns:')) return { kind: 'slirp4netns', options: parseSlirpOptions(v.slice('slirp4netns:'.length)) };
  if (v === 'pasta' || v.startsWith('pasta:')) return { kind: 'pasta', args: v.length > 6 ? v.slice(6).split(',') : [] };
  if (v.startsWith('container:')) {
    const container = v.slice('container:'.length);
    if (!container) throw new InvalidArgumentError('--network container: needs a container name or ID (container:NAME)');
    return { kind: 'container', container };
  }
  if (v.startsWith('ns:')) {
    const path = v.slice(3);
    if (!path.startsWith('/')) throw new InvalidArgumentError(`--network ${v}: the namespace path must be absolute (ns:/run/netns/NAME)`);
    return { kind: 'ns', path };
  }
  const names = v.split(',').map((n) => n.trim().split(':')[0]);
  for (const n of names) {
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(n)) throw new InvalidArgumentError(`invalid network "${n}": use bridge, none, host, slirp4netns, pasta, container:NAME, ns:PATH or a network name`);
    if (DEFAULT_NAMES.has(n) || ['none', 'host', 'slirp4netns', 'pasta', 'private'].includes(n)) {
      throw new InvalidArgumentError(`--network ${n} cannot be combined with other networks`);
    }
  }
  return { kind: 'networks', names };
}

/** Modes whose network namespace is the container's own (so ports can be published into it). */
export function ownsNetworkNamespace(mode: NetworkMode): boolean {
  return mode.kind === 'default' || mode.kind === 'slirp4netns' || mode.kind === 'pasta' || mode.kind === 'none' || mode.kind === 'networks';
}

/** Modes in which -p means something. */
export function canPublish(mode: NetworkMode): boolean {
  return mode.kind === 'default' || mode.kind === 'slirp4netns' || mode.kind === 'pasta' || mode.kind === 'networks';
}

/** -p and -P are meaningless without a namespace of the container's own: checked at create. */
export function checkPublishable(config: { network: string; publish?: unknown[]; publishAll?: boolean }): void {
  const mode = parseNetworkMode(config.network);
  if (!(config.publish?.length || config.publishAll) || canPublish(mode)) return;
  if (mode.kind === 'host') {
    log.warn('Published ports are discarded when using host network mode');
    return;
  }
  throw new InvalidArgumentError(`conflicting options: port publishing and the ${mode.kind} network mode: drop -p/-P or use another --network`);
}
