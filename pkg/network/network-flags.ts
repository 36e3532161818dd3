// --network, --network-alias, --ip, --ip6 and --mac-address of run/create: a network mode (none, host,
// slirp4netns, container:ID, ...) or one or more user-defined networks, each with Podman's
// per-network options (`--network web:ip=10.89.0.5,alias=db`).
import { InvalidArgumentError } from '../errors';
import { NetworkRequest } from './endpoint-lease';

export interface NetworkChoice {
  /** the mode word (ContainerConfig.network): the first user network's name when there are any */
  mode: string | undefined;
  /** user-defined networks and what the container asked for on each */
  networks: Record<string, NetworkRequest>;
}

const MODES = ['none', 'host', 'private', 'slirp4netns', 'pasta', 'bridge', 'podman', 'default'];

export function isNetworkMode(value: string): boolean {
  const word = value.split(':')[0];
  return MODES.includes(word) || word === 'container' || word === 'ns';
}

function perNetworkOptions(name: string, text: string): NetworkRequest {
  const req: NetworkRequest = { aliases: [] };
  for (const opt of text.split(',')) {
    const eq = opt.indexOf('=');
    const key = eq < 0 ? opt : opt.slice(0, eq);
    const value = opt.slice(eq + 1);
    if (eq < 0 || value === '') throw new InvalidArgumentError(`invalid option "${opt}" of network ${name}: use ip=, ip6=, mac=, alias=`);
    if (key === 'alias') req.aliases.push(value);
    else if (key === 'ip') req.ip = value;
    else if (key === 'ip6') req.ip6 = value;
    else if (key === 'mac') req.mac = value;
    else throw new InvalidArgumentError(`invalid option "${opt}" of network ${name}: use ip=, ip6=, mac=, alias=`);
  }
  return req;
}

/** The flags as given: several --network flags, or comma-separated names. */
export function parseNetworkChoice(values: readonly string[], opts: { aliases?: readonly string[]; ip?: string; ip6?: string; mac?: string } = {}): NetworkChoice {
  const modes: string[] = [];
  const networks: Record<string, NetworkRequest> = {};
  for (const value of values) {
    if (isNetworkMode(value)) {
      modes.push(value);
      continue;
    }
    const colon = value.indexOf(':');
    // `a,b` is two networks unless an option list follows a colon
    const items = colon < 0 ? value.split(',') : [value];
    for (const item of items) {
      const c = item.indexOf(':');
      const name = c < 0 ? item : item.slice(0, c);
      if (name === '') throw new InvalidArgumentError(`invalid --network "${value}": name a network`);
      if (networks[name]) throw new InvalidArgumentError(`network ${name} is given more than once`);
      networks[name] = c < 0 ? { aliases: [] } : perNetworkOptions(name, item.slice(c + 1));
    }
  }
  const names = Object.keys(networks);
  if (modes.length > 1 || (modes.length === 1 && names.length > 0)) {
    throw new InvalidArgumentError(`--network ${modes[0]} cannot be combined with other networks`);
  }
  const first = names[0];
  if (opts.aliases?.length || opts.ip !== undefined || opts.ip6 !== undefined) {
    if (first === undefined) {
      const flag = opts.ip !== undefined ? '--ip' : opts.ip6 !== undefined ? '--ip6' : '--network-alias';
      throw new InvalidArgumentError(`${flag} needs a user-defined network: create one with "tspod network create" and pass --network NAME`);
    }
    networks[first].aliases.push(...(opts.aliases ?? []));
    if (opts.ip !== undefined) networks[first].ip ??= opts.ip;
    if (opts.ip6 !== undefined) networks[first].ip6 ??= opts.ip6;
  }
  if (opts.mac !== undefined && first !== undefined) networks[first].mac ??= opts.mac;
  return { mode: modes[0] ?? first, networks };
}
