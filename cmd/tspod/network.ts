// `network create|ls|inspect|rm|prune|exists`: user-defined networks and the default one.
import { Command, Option } from 'clipanion';
import { TspodCommand } from './tspod-command';
import { keyValues } from './key-value-flags';
import { parseBoolFlag } from './bool-flag';
import { formatRows, plainTable } from './list-output';
import { confirm } from './confirm-prompt';
import { errorsText } from './image-remove';
import { printInspected } from './inspect';
import { InvalidArgumentError } from '../../pkg/errors';
import type { Engine } from '../../pkg/engine/engine';

const HEADERS: Record<string, string> = { ID: 'NETWORK ID', Name: 'NAME', Driver: 'DRIVER', Scope: 'SCOPE', Labels: 'LABELS', IPv6: 'IPV6', Internal: 'INTERNAL', CreatedAt: 'CREATED AT', Subnets: 'SUBNETS', NetworkInterface: 'INTERFACE' };


/** The inspect documents of the networks `names` finds, and a message per missing one. */
export async function inspectNetworks(engine: Engine, names: readonly string[]): Promise<{ found: unknown[]; problems: string[] }> {
  const { networkStore } = await import('../../pkg/network/network-remove');
  const { networkDocument } = await import('../../pkg/network/network-inspect');
  const { refreshAll } = await import('../../pkg/container/container-exit');
  const store = networkStore(engine);
  const running = new Map((await refreshAll(engine)).filter((c) => c.status === 'running' || c.status === 'paused').map((c) => [c.id, c]));
  const found: unknown[] = [];
  const problems: string[] = [];
  for (const name of names) {
    const net = store.get(name);
    if (!net) {
      problems.push(`unable to find network with name or ID ${name}: network not found`);
      continue;
    }
    const attached = store
      .endpoints({ network: net.name })
      .filter((e) => running.has(e.containerId))
      .map((e) => ({ id: e.containerId, name: (running.get(e.containerId) as { name: string }).name, endpoint: e }));
    found.push(networkDocument(net, attached));
  }
  return { found, problems };
}

/** For `tspod inspect`'s list of Inspectors. */
export const networkInspector = {
  type: 'network',
  lookup: async (engine: Engine, name: string): Promise<unknown | undefined> => (await inspectNetworks(engine, [name])).found[0],
};

export class NetworkCreateCommand extends TspodCommand {
  static override paths = [['network', 'create']];
  static override usage = Command.Usage({
    description: 'Create a network',
    details:
      'Creates a network containers join with `--network NAME` and on which they find each other by name and alias. Without --subnet it gets a free /24 from 10.89.0.0/16 that no other network or host route uses. Prints the network name. Drivers: bridge; as root also macvlan and ipvlan (`-o parent=IFACE`). Options: mtu, com.docker.network.driver.mtu, com.docker.network.bridge.name; other com.docker.network.* options are accepted and ignored with a note.',
    examples: [
      ['Create a network', 'tspod network create web'],
      ['With a subnet and gateway', 'tspod network create --subnet 10.90.0.0/24 --gateway 10.90.0.254 web'],
      ['Without outside access', 'tspod network create --internal backend'],
      ['As root, on a host interface', 'tspod network create -d macvlan -o parent=eth0 --subnet 192.168.1.0/24 lan'],
    ],
  });

  driver = Option.String('-d,--driver', 'bridge', { description: 'Driver: bridge, macvlan, ipvlan' });
  subnet = Option.Array('--subnet', [], { description: 'Subnet in CIDR form; one IPv4 and one IPv6 (an IPv6 one alone: an IPv6-only network)' });
  gateway = Option.Array('--gateway', [], { description: 'Gateway of the subnet' });
  ipRange = Option.Array('--ip-range', [], { description: 'Hand out addresses from this part of the subnet' });
  internal = Option.Boolean('--internal', false, { description: 'No access to the outside' });
  // strings tolerating a bare flag, so Docker's `--ipv6=true` and `--ipv4=false` parse
  ipv4 = Option.String('--ipv4', { tolerateBoolean: true, description: 'IPv4 addresses (default true; --ipv4=false with --ipv6: an IPv6-only network)' });
  ipv6 = Option.String('--ipv6', { tolerateBoolean: true, description: 'Dual stack: an IPv6 subnet (the --subnet given, else a free unique local /64) beside the IPv4 one' });
  label = Option.Array('--label', [], { description: 'Set a label (KEY=VALUE)' });
  opt = Option.Array('-o,--opt', [], { description: 'Driver option (KEY=VALUE)' });
  ignore = Option.Boolean('--ignore', false, { description: 'Do not fail when the network exists' });
  attachable = Option.Boolean('--attachable', false, { description: 'Accepted for Docker compatibility (always attachable)' });
  disableDns = Option.Boolean('--disable-dns', false, { description: 'Do not resolve container names on this network' });
  name = Option.String({ required: false });

  async run(): Promise<number> {
    const labels = keyValues(this.label, '--label');
    const options = keyValues(this.opt, '--opt', { splitCommas: true });
    return this.withEngine(async (engine) => {
      const { networkStore } = await import('../../pkg/network/network-remove');
      const { createNetwork } = await import('../../pkg/network/network-create');
      const { hostIdentity } = await import('../../pkg/config/host-identity');
      const store = networkStore(engine);
      let name = this.name;
      if (name === undefined) {
        const taken = new Set(store.list().map((n) => n.name));
        for (let i = 0; name === undefined || taken.has(name); i++) name = `tspod${i + 1}`;
      }
      const { network, notes } = createNetwork(store, {
        name,
        driver: this.driver,
        subnets: this.subnet,
        gateways: this.gateway,
        ipRanges: this.ipRange,
        internal: this.internal,
        ipv4: parseBoolFlag('--ipv4', this.ipv4, true),
        ipv6: parseBoolFlag('--ipv6', this.ipv6, false),
        labels,
        options,
        rootless: hostIdentity().rootless,
        ignoreExisting: this.ignore,
        disableDns: this.disableDns,
      });
      for (const note of notes) process.stderr.write(`${note}\n`);
      this.out(`${network.name}\n`);
      return 0;
    });
  }
}

export class NetworkLsCommand extends TspodCommand {
  static override paths = [['network', 'ls'], ['network', 'list']];
  static override usage = Command.Usage({
    description: 'List networks',
    details: 'Filters: name=, id=, label=KEY[=VALUE], label!=, driver=, type=custom|builtin, dangling=true|false, until=. Template fields: .ID .Name .Driver .Scope .Labels .IPv6 .Internal .CreatedAt .Subnets .NetworkInterface.',
    examples: [
      ['List networks', 'tspod network ls'],
      ['Only the names', 'tspod network ls -q'],
      ['Bridge networks with their subnets', "tspod network ls --filter driver=bridge --format '{{.Name}} {{.Subnets}}'"],
    ],
  });

  quiet = Option.Boolean('-q,--quiet', false, { description: 'Print only network IDs' });
  filter = Option.Array('-f,--filter', [], { description: 'Filter output (KEY=VALUE)' });
  format = Option.String('--format', { description: 'Format output with a Go template, table or json' });
  noTrunc = Option.Boolean('--no-trunc', false, { description: 'Do not truncate network IDs' });
  noHeading = Option.Boolean('-n,--noheading', false, { description: 'Do not print the header' });

  async run(): Promise<number> {
    const { parseNetworkFilters, matchesNetwork, networkRow } = await import('../../pkg/network/network-inspect');
    const filters = parseNetworkFilters(this.filter);
    const rows = await this.withEngine(async (engine) => {
      const { networkStore, networkUsers } = await import('../../pkg/network/network-remove');
      const inUse = filters.has('dangling') ? new Set(networkUsers(engine).keys()) : new Set<string>();
      return networkStore(engine)
        .list()
        .filter((n) => matchesNetwork(n, filters, inUse))
        .map((n) => ({ ...networkRow(n), ...(this.noTrunc ? { ID: n.id } : {}) }));
    });
    if (this.quiet) {
      this.out(rows.map((r) => `${r.ID}\n`).join(''));
      return 0;
    }
    if (this.format && this.format !== 'table') {
      this.out(await formatRows(this.format, rows, HEADERS, { defaultFormat: 'table {{.ID}}\t{{.Name}}\t{{.Driver}}', noHeading: this.noHeading }));
      return 0;
    }
    this.out(plainTable(['ID', 'Name', 'Driver'], HEADERS, rows, this.noHeading));
    return 0;
  }
}

export class NetworkInspectCommand extends TspodCommand {
  static override paths = [['network', 'inspect']];
  static override usage = Command.Usage({
    description: 'Display the configuration of networks',
    examples: [
      ['Inspect a network', 'tspod network inspect web'],
      ['Its subnet', "tspod network inspect --format '{{range .IPAM.Config}}{{.Subnet}}{{end}}' web"],
    ],
  });

  format = Option.String('-f,--format', { description: 'Format the output with a Go template, or `json`' });
  names = Option.Rest({ required: 1 });

  async run(): Promise<number> {
    return this.withEngine(async (engine) => {
      const { found, problems } = await inspectNetworks(engine, this.names);
      return printInspected(found, problems, this.format);
    });
  }
}

export class NetworkRmCommand extends TspodCommand {
  static override paths = [['network', 'rm'], ['network', 'remove']];
  static override usage = Command.Usage({
    description: 'Remove networks',
    details: 'A network a container (in any state) is connected to is refused (exit 2) unless -f, which removes those containers first. Missing networks exit 1. The default network cannot be removed.',
    examples: [
      ['Remove a network', 'tspod network rm web'],
      ['Remove it and its containers', 'tspod network rm -f web'],
    ],
  });

  force = Option.Boolean('-f,--force', false, { description: 'Remove the containers using the network first' });
  time = Option.String('-t,--time', { description: 'Seconds to wait for containers to stop (with -f)', hidden: true });
  names = Option.Rest({ required: 1 });

  async run(): Promise<number> {
    return this.withEngine(async (engine) => {
      const { removeNetworks } = await import('../../pkg/network/network-remove');
      const { removeExitCode } = await import('../../pkg/engine/remove-report');
      const report = await removeNetworks(engine, this.names, { force: this.force });
      this.out(report.removed.map((n) => `${n}\n`).join(''));
      process.stderr.write(errorsText(report.failures.map((f) => f.message)));
      return removeExitCode(report);
    });
  }
}

export class NetworkPruneCommand extends TspodCommand {
  static override paths = [['network', 'prune']];
  static override usage = Command.Usage({
    description: 'Remove all unused networks',
    details: 'Removes every network (but the default one) no container uses, and prints their names. Filters: label=, label!=, until=.',
    examples: [
      ['Remove unused networks, asking first', 'tspod network prune'],
      ['Without asking', 'tspod network prune -f'],
    ],
  });

  force = Option.Boolean('-f,--force', false, { description: 'Do not ask for confirmation' });
  filter = Option.Array('--filter', [], { description: 'Only prune networks that match (label=, label!=, until=)' });

  async run(): Promise<number> {
    const { parseNetworkFilters, matchesNetwork, NETWORK_PRUNE_FILTER_KEYS } = await import('../../pkg/network/network-inspect');
    const filters = parseNetworkFilters(this.filter, NETWORK_PRUNE_FILTER_KEYS);
    if (!this.force && !(await confirm('WARNING! This will remove all networks not used by at least one container.\nAre you sure you want to continue? [y/N] '))) return 0;
    return this.withEngine(async (engine) => {
      const { pruneNetworks } = await import('../../pkg/network/network-remove');
      const pruned = pruneNetworks(engine, (n) => !matchesNetwork(n, filters, new Set()));
      this.out(pruned.map((p) => `${p}\n`).join(''));
      return 0;
    });
  }
}

export class NetworkExistsCommand extends TspodCommand {
  static override paths = [['network', 'exists']];
  static override usage = Command.Usage({
    description: 'Check if a network exists',
    details: 'Exits 0 when the network exists, 1 when it does not.',
    examples: [['Check for a network', 'tspod network exists web']],
  });

  name = Option.String();

  async run(): Promise<number> {
    return this.withEngine(async (engine) => {
      const { networkStore } = await import('../../pkg/network/network-remove');
      return networkStore(engine).get(this.name) ? 0 : 1;
    });
  }
}

export const NETWORK_COMMANDS = [NetworkCreateCommand, NetworkLsCommand, NetworkInspectCommand, NetworkRmCommand, NetworkPruneCommand, NetworkExistsCommand];
