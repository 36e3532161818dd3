// `network connect` / `network disconnect`: a container joins or leaves a user-defined network,
// at once when it runs (a veth appears or goes), else from its next start.
import { Command, Option } from 'clipanion';
import { TspodCommand } from './tspod-command';

export class NetworkConnectCommand extends TspodCommand {
  static override paths = [['network', 'connect']];
  static override usage = Command.Usage({
    description: 'Connect a container to a network',
    details: 'The container gets an address on the network (--ip, and --ip6 on an IPv6 network, else free ones), is found there by its name and by each --alias, and, when it runs, a new interface at once.',
    examples: [
      ['Connect a container', 'tspod network connect web app'],
      ['With an alias and an address', 'tspod network connect --alias db --ip 10.89.0.20 web postgres'],
    ],
  });

  alias = Option.Array('--alias', [], { description: 'Another name the container has on this network' });
  ip = Option.String('--ip', { description: 'IPv4 address on the network' });
  ip6 = Option.String('--ip6', { description: 'IPv6 address on the network' });
  mac = Option.String('--mac-address', { description: 'MAC address of the new interface' });
  network = Option.String();
  container = Option.String();

  async run(): Promise<number> {
    return this.withEngine(async (engine) => {
      const { connectContainer } = await import('../../pkg/network/network-connect');
      await connectContainer(engine, this.container, this.network, { aliases: this.alias, ip: this.ip, ip6: this.ip6, mac: this.mac });
      return 0;
    });
  }
}

export class NetworkDisconnectCommand extends TspodCommand {
  static override paths = [['network', 'disconnect']];
  static override usage = Command.Usage({
    description: 'Disconnect a container from a network',
    details: 'A running container loses its interface on the network at once; its name no longer resolves there.',
    examples: [['Disconnect a container', 'tspod network disconnect web app']],
  });

  force = Option.Boolean('-f,--force', false, { description: 'Accepted for Docker compatibility' });
  network = Option.String();
  container = Option.String();

  async run(): Promise<number> {
    return this.withEngine(async (engine) => {
      const { disconnectFromNetwork } = await import('../../pkg/network/network-connect');
      await disconnectFromNetwork(engine, this.container, this.network);
      return 0;
    });
  }
}

export const NETWORK_CONNECT_COMMANDS = [NetworkConnectCommand, NetworkDisconnectCommand];
