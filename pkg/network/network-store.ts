// Networks in the database (the networks table, settings in its config JSON) and the
// endpoints containers have on them (container_networks: address, MAC, aliases). The default
// network `bridge` is not a row until something needs one: it is described by defaultNetwork.
import * as crypto from 'node:crypto';
import { ConflictError, NotFoundError } from '../errors';
import { Db, writeTransaction } from '../state/database';

export interface NetworkSubnet {
  subnet: string;
  gateway: string;
  /** --ip-range: the part of the subnet addresses are handed out from */
  ipRange?: string;
}

export const isIpv6Subnet = (s: NetworkSubnet): boolean => s.subnet.includes(':');

/** Networks hold at most one subnet of each family (IPv6-only ones no IPv4 subnet). */
export function ipv4Subnet(net: Pick<NetworkConfig, 'subnets'>): NetworkSubnet | undefined {
  return net.subnets.find((s) => !isIpv6Subnet(s));
}

export function ipv6Subnet(net: Pick<NetworkConfig, 'subnets'>): NetworkSubnet | undefined {
  return net.subnets.find(isIpv6Subnet);
}

export interface NetworkConfig {
  subnets: NetworkSubnet[];
  /** the Linux interface: the bridge (bridge driver) or the parent (macvlan, ipvlan) */
  interface: string;
  internal: boolean;
  ipv6: boolean;
  dnsEnabled: boolean;
  mtu?: number;
  labels: Record<string, string>;
  /** the -o options as given (Docker's com.docker.network.* included) */
  options: Record<string, string>;
}

export interface NetworkRecord extends NetworkConfig {
  name: string;
  id: string;
  driver: string;
  created: number;
}

export interface Endpoint {
  /** IPv4 address; '' on an IPv6-only network */
  ip: string;
  /** IPv6 address, on networks with IPv6 */
  ip6?: string;
  mac: string;
  aliases: string[];
  /** the interface name inside the container (eth0, eth1, ...) */
  interfaceName: string;
}

export interface EndpointRow extends Endpoint {
  containerId: string;
  network: string;
}

export const DEFAULT_NETWORK = 'bridge';
/** Podman's name for its default network, accepted wherever a network is named. */
export const DEFAULT_NETWORK_ALIASES = ['podman'];

interface NetworkRow {
  name: string;
  id: string;
  driver: string;
  config: string;
  created: number;
}

const toRecord = (r: NetworkRow): NetworkRecord => ({ ...(JSON.parse(r.config) as NetworkConfig), name: r.name, id: r.id, driver: r.driver, created: r.created });

export function newNetworkId(): string {
  return crypto.randomBytes(32).toString('hex');
}

export class NetworkStore {
  constructor(
    private readonly db: Db,
    /** the default network's description (differs between root and rootless) */
    private readonly defaultNetwork: () => NetworkRecord,
  ) {}

  private row(name: string): NetworkRecord | undefined {
    const row = this.db.prepare('SELECT * FROM networks WHERE name = ?').get(name) as NetworkRow | undefined;
    return row && toRecord(row);
  }

  /** By name, full ID or unique ID prefix; `podman` is the default network. */
  get(nameOrId: string): NetworkRecord | undefined {
    const name = DEFAULT_NETWORK_ALIASES.includes(nameOrId) ? DEFAULT_NETWORK : nameOrId;
    const byName = this.row(name);
    if (byName) return byName;
    if (name === DEFAULT_NETWORK) return this.defaultNetwork();
    if (!/^[0-9a-f]{3,64}$/.test(nameOrId)) return undefined;
    const matches = this.list().filter((n) => n.id.startsWith(nameOrId));
    if (matches.length > 1) throw new ConflictError(`more than one network matches "${nameOrId}": use more of the ID or the name`);
    return matches[0];
  }

  require(nameOrId: string): NetworkRecord {
    const net = this.get(nameOrId);
    if (!net) throw new NotFoundError(`unable to find network with name or ID ${nameOrId}: network not found`);
    return net;
  }

  /** Every network, the default one first, then by name. */
  list(): NetworkRecord[] {
    const rows = (this.db.prepare('SELECT * FROM networks ORDER BY name').all() as NetworkRow[]).map(toRecord);
    const def = rows.find((n) => n.name === DEFAULT_NETWORK) ?? this.defaultNetwork();
    return [def, ...rows.filter((n) => n.name !== DEFAULT_NETWORK)];
  }

  insert(net: NetworkRecord): void {
    const { name, id, driver, created, ...config } = net;
    writeTransaction(this.db, () => {
      if (this.row(name)) throw new ConflictError(`network name ${name} already used: network already exists`);
      this.db.prepare('INSERT INTO networks (name, id, driver, config, created) VALUES (?, ?, ?, ?, ?)').run(name, id, driver, JSON.stringify(config), created);
    });
  }

  /** The default network as a row, so endpoints can reference it. */
  materialize(net: NetworkRecord): void {
    if (this.row(net.name)) return;
    const { name, id, driver, created, ...config } = net;
    writeTransaction(this.db, () =>
      this.db.prepare('INSERT OR IGNORE INTO networks (name, id, driver, config, created) VALUES (?, ?, ?, ?, ?)').run(name, id, driver, JSON.stringify(config), created),
    );
  }

  remove(name: string): void {
    writeTransaction(this.db, () => {
      this.db.prepare('DELETE FROM container_networks WHERE network = ?').run(name);
      this.db.prepare('DELETE FROM networks WHERE name = ?').run(name);
    });
  }

  endpoints(filter: { network?: string; containerId?: string } = {}): EndpointRow[] {
    const rows = this.db
      .prepare('SELECT * FROM container_networks WHERE (? IS NULL OR network = ?) AND (? IS NULL OR container_id = ?) ORDER BY rowid')
      .all(filter.network ?? null, filter.network ?? null, filter.containerId ?? null, filter.containerId ?? null) as { container_id: string; network: string; config: string }[];
    return rows.map((r) => ({ ...(JSON.parse(r.config) as Endpoint), containerId: r.container_id, network: r.network }));
  }

  /**
   * Adds an endpoint, choosing its address with `pick` inside the same write transaction, so
   * two containers joining at once never get the same address.
   */
  addEndpoint(containerId: string, network: string, pick: (taken: EndpointRow[]) => Endpoint): Endpoint {
    return writeTransaction(this.db, () => {
      if (this.db.prepare('SELECT 1 FROM container_networks WHERE container_id = ? AND network = ?').get(containerId, network)) {
        throw new ConflictError(`container ${containerId.slice(0, 12)} is already connected to network ${network}`);
      }
      const endpoint = pick(this.endpoints({ network }));
      this.db.prepare('INSERT INTO container_networks (container_id, network, config) VALUES (?, ?, ?)').run(containerId, network, JSON.stringify(endpoint));
      return endpoint;
    });
  }

  removeEndpoint(containerId: string, network: string): void {
    writeTransaction(this.db, () => this.db.prepare('DELETE FROM container_networks WHERE container_id = ? AND network = ?').run(containerId, network));
  }
}
