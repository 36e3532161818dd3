import { Command } from 'clipanion';
import { TspodCommand } from './tspod-command';
import { hostIdentity } from '../../pkg/config/host-identity';
import { killPauseProcess } from '../../pkg/rootless/pause-process';

export class SystemMigrateCommand extends TspodCommand {
  static override paths = [['system', 'migrate']];
  static override usage = Command.Usage({
    description: 'Restart the user namespace with the current subordinate id ranges',
    details:
      "Ends tspod's pause process, which holds the user namespace, so that the next tspod command creates a new one with the ranges /etc/subuid and /etc/subgid give now. Run it after adding or changing your ranges (usermod --add-subuids ...). Containers still running keep the old namespace until they stop. Does nothing for root.",
    examples: [
      ['After adding subordinate ids', 'sudo usermod --add-subuids 100000-165535 --add-subgids 100000-165535 $USER && tspod system migrate'],
    ],
  });

  async run(): Promise<void> {
    // This process itself lives in the namespace being retired and cannot leave it (entering
    // the host's user namespace again would need CAP_SYS_ADMIN there), so it cannot create the
    // new one either: the launcher does that on the next command, outside any namespace.
    killPauseProcess(hostIdentity());
  }
}
