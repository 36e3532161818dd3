// Every top-level command word and the modules that implement it. main.ts loads only the
// group the user typed, so start-up never pays for the command modules it does not run.
import type { CommandClass } from 'clipanion';

export interface CommandGroup {
  summary: string;
  /** shown under "Management Commands" in `tspod --help` */
  management?: boolean;
  load: () => Promise<CommandClass[]>;
}

/** The commands on local images (images, inspect, history, tag, untag, rmi, prune, exists, tree). */
async function imageCommands(): Promise<CommandClass[]> {
  const [list, inspect, history, tag, remove, prune, exists, tree] = await Promise.all([
    import('./image-list'),
    import('./image-inspect'),
    import('./image-history'),
    import('./image-tag'),
    import('./image-remove'),
    import('./image-prune'),
    import('./image-exists'),
    import('./image-tree'),
  ]);
  return [
    list.ImagesCommand,
    inspect.ImageInspectCommand,
    history.HistoryCommand,
    tag.TagCommand,
    tag.UntagCommand,
    remove.RmiCommand,
    prune.ImagePruneCommand,
    exists.ImageExistsCommand,
    tree.ImageTreeCommand,
  ];
}

/** Image archives: save, load, import. */
async function archiveCommands(): Promise<CommandClass[]> {
  const [save, load, imp] = await Promise.all([import('./image-save'), import('./image-load'), import('./image-import')]);
  return [save.SaveCommand, load.LoadCommand, imp.ImportCommand];
}

/** The container lifecycle: run, create, start, stop, kill, rm, wait, ps, logs, cleanup. */
async function containerCommands(): Promise<CommandClass[]> {
  const [run, life, ps, logs] = await Promise.all([import('./container-run'), import('./container-lifecycle'), import('./container-ps'), import('./container-logs')]);
  return [
    run.RunCommand,
    run.CreateCommand,
    life.StartCommand,
    life.StopCommand,
    life.KillCommand,
    life.RmCommand,
    life.WaitCommand,
    life.ContainerCleanupCommand,
    ps.PsCommand,
    logs.LogsCommand,
    (await import('./container-inspect')).ContainerInspectCommand,
    ...(await containerMiscCommands()),
    (await import('./container-prune')).ContainerPruneCommand,
    (await import('./container-cp')).CpCommand,
    (await import('./container-export')).ExportCommand,
    (await import('./container-diff')).DiffCommand,
    (await import('./container-commit')).CommitCommand,
    (await import('./container-exec')).ExecCommand,
    (await import('./container-attach')).AttachCommand,
    (await import('./container-stats')).StatsCommand,
    (await import('./healthcheck')).HealthcheckRunCommand,
  ];
}

/** rename, container exists, port, top, pause, unpause, restart. */
async function containerMiscCommands(): Promise<CommandClass[]> {
  const misc = await import('./container-misc');
  return [misc.RenameCommand, misc.ContainerExistsCommand, misc.PortCommand, misc.TopCommand, misc.PauseCommand, misc.UnpauseCommand, misc.RestartCommand];
}

const miscCommand = (name: 'RenameCommand' | 'PortCommand' | 'TopCommand' | 'PauseCommand' | 'UnpauseCommand' | 'RestartCommand') => async (): Promise<CommandClass[]> => [(await import('./container-misc'))[name]];

export const COMMAND_GROUPS: Record<string, CommandGroup> = {
  container: { summary: 'Manage containers', management: true, load: containerCommands },
  'auto-update': { summary: 'Update containers in systemd units to newer images', load: async () => [(await import('./auto-update')).AutoUpdateCommand] },
  attach: { summary: 'Attach to a running container', load: async () => [(await import('./container-attach')).AttachCommand] },
  commit: { summary: "Create an image from a container's changes", load: async () => [(await import('./container-commit')).CommitCommand] },
  cp: { summary: 'Copy files between a container and the local filesystem', load: async () => [(await import('./container-cp')).CpCommand] },
  create: { summary: 'Create a container without starting it', load: async () => [(await import('./container-run')).CreateCommand] },
  exec: { summary: 'Run a process in a running container', load: async () => [(await import('./container-exec')).ExecCommand] },
  diff: { summary: "Show the changes to a container's filesystem", load: async () => [(await import('./container-diff')).DiffCommand] },
  export: { summary: "Export a container's filesystem as a tar archive", load: async () => [(await import('./container-export')).ExportCommand] },
  kill: { summary: 'Send a signal to running containers', load: async () => [(await import('./container-lifecycle')).KillCommand] },
  logs: { summary: "Show a container's output", load: async () => [(await import('./container-logs')).LogsCommand] },
  pause: { summary: 'Pause all the processes in one or more containers', load: miscCommand('PauseCommand') },
  port: { summary: "List a container's published ports", load: miscCommand('PortCommand') },
  ps: { summary: 'List containers', load: async () => [(await import('./container-ps')).PsCommand] },
  rename: { summary: 'Rename a container', load: miscCommand('RenameCommand') },
  restart: { summary: 'Restart one or more containers', load: miscCommand('RestartCommand') },
  rm: { summary: 'Remove containers', load: async () => [(await import('./container-lifecycle')).RmCommand] },
  run: { summary: 'Run a command in a new container', load: async () => [(await import('./container-run')).RunCommand] },
  start: { summary: 'Start containers', load: async () => [(await import('./container-lifecycle')).StartCommand] },
  stats: { summary: 'Display a live stream of resource usage statistics of containers', load: async () => [(await import('./container-stats')).StatsCommand] },
  stop: { summary: 'Stop running containers', load: async () => [(await import('./container-lifecycle')).StopCommand] },
  wait: { summary: 'Wait for containers to stop and print their exit codes', load: async () => [(await import('./container-lifecycle')).WaitCommand] },
  image: {
    summary: 'Manage images',
    management: true,
    load: async () => [
      (await import('./image-pull')).PullCommand,
      ...(await imageCommands()),
      (await import('./image-push')).PushCommand,
      ...(await archiveCommands()),
      (await import('./image-build')).BuildCommand,
    ],
  },
  manifest: { summary: 'Manipulate manifest lists', management: true, load: async () => (await import('./manifest')).MANIFEST_COMMANDS },
  generate: { summary: 'Generate structured data (systemd units)', management: true, load: async () => [(await import('./generate-systemd')).GenerateSystemdCommand] },
  build: { summary: 'Build an image from a Dockerfile', load: async () => [(await import('./image-build')).BuildCommand] },
  buildx: { summary: 'Build images (Docker buildx compatibility)', management: true, load: async () => [(await import('./image-build')).BuildCommand] },
  healthcheck: { summary: 'Run the health checks of containers', management: true, load: async () => [(await import('./healthcheck')).HealthcheckRunCommand] },
  history: { summary: 'Show the history of an image', load: async () => [(await import('./image-history')).HistoryCommand] },
  images: { summary: 'List images in local storage', load: async () => [(await import('./image-list')).ImagesCommand] },
  import: { summary: 'Create an image from a root filesystem tarball', load: async () => [(await import('./image-import')).ImportCommand] },
  info: { summary: 'Display system-wide information', load: async () => [(await import('./info')).InfoCommand] },
  inspect: { summary: 'Display the configuration of objects', load: async () => [(await import('./inspect')).InspectCommand] },
  load: { summary: 'Load images from an archive', load: async () => [(await import('./image-load')).LoadCommand] },
  login: { summary: 'Log in to a container registry', load: async () => [(await import('./login')).LoginCommand] },
  logout: { summary: 'Log out of a container registry', load: async () => [(await import('./logout')).LogoutCommand] },
  pull: { summary: 'Pull an image from a registry', load: async () => [(await import('./image-pull')).PullCommand] },
  push: { summary: 'Push an image to a registry', load: async () => [(await import('./image-push')).PushCommand] },
  rmi: { summary: 'Remove one or more images', load: async () => [(await import('./image-remove')).RmiCommand] },
  save: { summary: 'Save images to an archive', load: async () => [(await import('./image-save')).SaveCommand] },
  system: {
    summary: 'Manage tspod',
    management: true,
    load: async () => [
      (await import('./info')).InfoCommand,
      (await import('./system-reset')).SystemResetCommand,
      (await import('./system-migrate')).SystemMigrateCommand,
      (await import('./system-df')).SystemDfCommand,
      (await import('./system-prune')).SystemPruneCommand,
    ],
  },
  systemd: { summary: 'Generate systemd units from Quadlet files', management: true, load: async () => [(await import('./systemd-units')).SystemdGenerateUnitsCommand] },
  top: { summary: 'Display the running processes of a container', load: miscCommand('TopCommand') },
  unpause: { summary: 'Unpause the processes in one or more containers', load: miscCommand('UnpauseCommand') },
  tag: { summary: 'Add names to a local image', load: async () => [(await import('./image-tag')).TagCommand] },
  unshare: { summary: "Run a command in tspod's user namespace", load: async () => [(await import('./unshare')).UnshareCommand] },
  untag: { summary: 'Remove names from a local image', load: async () => [(await import('./image-tag')).UntagCommand] },
  network: { summary: 'Manage networks', management: true, load: async () => [...(await import('./network')).NETWORK_COMMANDS, ...(await import('./network-connect')).NETWORK_CONNECT_COMMANDS] },
  volume: { summary: 'Manage volumes', management: true, load: async () => (await import('./volume')).VOLUME_COMMANDS },
  version: { summary: 'Show the tspod version information', load: async () => [(await import('./version')).VersionCommand] },
};

/** Words that are accepted as another group's name (Docker and Podman spellings). */
export const GROUP_ALIASES: Record<string, string> = {};
