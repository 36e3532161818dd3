import { Command, Option } from 'clipanion';
import { InvalidArgumentError, NotFoundError } from '../../pkg/errors';
import { TspodCommand } from './tspod-command';
import { defaultRegistry, registryKey } from './login';

export class LogoutCommand extends TspodCommand {
  static override paths = [['logout']];
  static override usage = Command.Usage({
    description: 'Log out of a container registry',
    details:
      'Removes the credentials `tspod login` stored for REGISTRY (by default the first of unqualified-search-registries), or all of them with --all. Credentials that `docker login` keeps in ~/.docker/config.json are not touched.',
    examples: [
      ['Log out of a registry', 'tspod logout quay.io'],
      ['Log out of every registry', 'tspod logout --all'],
    ],
  });

  all = Option.Boolean('-a,--all', false, { description: 'Remove the credentials for all registries' });
  authfile = Option.String('--authfile', { description: 'Path of the authentication file' });
  registry = Option.String({ name: 'REGISTRY', required: false });

  async run(): Promise<number> {
    const { removeCredentials } = await import('../../pkg/image/auth-store');
    const authStore = { authFile: this.authfile, runtimeDir: this.config().runtimeDir };
    if (this.all) {
      if (this.registry !== undefined) throw new InvalidArgumentError('--all takes no registry');
      await removeCredentials(undefined, authStore);
      this.out('Removed login credentials for all registries\n');
      return 0;
    }
    const key = registryKey(this.registry ?? defaultRegistry(this.config().registries.unqualifiedSearch));
    const result = await removeCredentials(key, authStore);
    if (!result.removed) {
      if (result.elsewhere) {
        throw new NotFoundError(`not logged into ${key} (the credentials for it in ${result.elsewhere} were stored by another tool, e.g. docker login: remove them with that tool)`);
      }
      throw new NotFoundError(`not logged into ${key}`);
    }
    this.out(`Removed login credentials for ${key}\n`);
    return 0;
  }
}
