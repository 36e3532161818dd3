// Every top-level command word and the modules that implement it. main.ts loads only the
// group the user typed, so start-up never pays for the command modules it does not run.
import type { CommandClass } from 'clipanion';

export interface CommandGroup {
  summary: string;
  /** shown under "Management Commands" in `tspod --help` */
  management?: boolean;
  load: () => Promise<CommandClass[]>;
}

/** Image archives: save, load, import. */
async function archiveCommands(): Promise<CommandClass[]> {
  const [save, load, imp] = await Promise.all([import('./image-save'), import('./image-load'), import('./image-import')]);
  return [save.SaveCommand, load.LoadCommand, imp.ImportCommand];
}

export const COMMAND_GROUPS: Record<string, CommandGroup> = {
  image: {
    summary: 'Manage images',
    management: true,
    load: async () => [
      (await import('./image-pull')).PullCommand,
      (await import('./image-push')).PushCommand,
      ...(await archiveCommands()),
    ],
  },
  import: { summary: 'Create an image from a root filesystem tarball', load: async () => [(await import('./image-import')).ImportCommand] },
  info: { summary: 'Display system-wide information', load: async () => [(await import('./info')).InfoCommand] },
  load: { summary: 'Load images from an archive', load: async () => [(await import('./image-load')).LoadCommand] },
  login: { summary: 'Log in to a container registry', load: async () => [(await import('./login')).LoginCommand] },
  logout: { summary: 'Log out of a container registry', load: async () => [(await import('./logout')).LogoutCommand] },
  pull: { summary: 'Pull an image from a registry', load: async () => [(await import('./image-pull')).PullCommand] },
  push: { summary: 'Push an image to a registry', load: async () => [(await import('./image-push')).PushCommand] },
  save: { summary: 'Save images to an archive', load: async () => [(await import('./image-save')).SaveCommand] },
  system: {
    summary: 'Manage tspod',
    management: true,
    load: async () => [
      (await import('./info')).InfoCommand,
      (await import('./system-reset')).SystemResetCommand,
      (await import('./system-migrate')).SystemMigrateCommand,
    ],
  },
  unshare: { summary: "Run a command in tspod's user namespace", load: async () => [(await import('./unshare')).UnshareCommand] },
  version: { summary: 'Show the tspod version information', load: async () => [(await import('./version')).VersionCommand] },
};

/** Words that are accepted as another group's name (Docker and Podman spellings). */
export const GROUP_ALIASES: Record<string, string> = {};
