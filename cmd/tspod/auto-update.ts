// `auto-update`: Podman's flags and report table (UNIT, CONTAINER, IMAGE, POLICY, UPDATED).
import { spawn } from 'node:child_process';
import { Command, Option } from 'clipanion';
import { TspodCommand } from './tspod-command';
import { parseTlsVerify } from './registry-flags';

const COLUMNS = ['Unit', 'Container', 'Image', 'Policy', 'Updated'];
const HEADERS = { Unit: 'UNIT', Container: 'CONTAINER', Image: 'IMAGE', Policy: 'POLICY', Updated: 'UPDATED' };

/** `systemctl [--user] ARGS`: undefined when it worked, else what it said. */
async function runSystemctl(rootless: boolean, runtimeDir: string, args: string[]): Promise<string | undefined> {
  return new Promise((resolve) => {
    const child = spawn('systemctl', [...(rootless ? ['--user'] : []), ...args], {
      env: { ...process.env, ...(rootless ? { XDG_RUNTIME_DIR: runtimeDir } : {}) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (err) => resolve(`cannot run systemctl: ${err.message}`));
    child.on('close', (code) => resolve(code === 0 ? undefined : stderr.trim().split('\n').pop() || `systemctl exited with ${code}`));
  });
}

export class AutoUpdateCommand extends TspodCommand {
  static override paths = [['auto-update']];
  static override usage = Command.Usage({
    description: 'Update containers that run in systemd units to newer images',
    details:
      'Looks at running containers labelled io.containers.autoupdate=registry (a newer digest of the reference the container was created from is on the registry) or =local (the image name now points at another local image). For each systemd unit with an update the image is pulled and the unit restarted with `systemctl --user restart` (`systemctl` as root); the unit, made by `generate systemd --new` or a Quadlet file, recreates the container from the new image. Containers must have been created by their unit (their PODMAN_SYSTEMD_UNIT label).',
    examples: [
      ['See which units have updates', 'tspod auto-update --dry-run'],
      ['Update them', 'tspod auto-update'],
    ],
  });

  dryRun = Option.Boolean('--dry-run', false, { description: 'Check for updates without pulling or restarting' });
  format = Option.String('--format', { description: 'Go template or json for the report' });
  rollback = Option.Boolean('--rollback', true, { description: 'Go back to the previous image when the restart fails (default true)' });
  authfile = Option.String('--authfile', { description: 'Path of the authentication file' });
  tlsVerify = Option.String('--tls-verify', { tolerateBoolean: true, hidden: true });

  async run(): Promise<number> {
    parseTlsVerify(this.tlsVerify);
    const { autoUpdate } = await import('../../pkg/systemd/auto-update');
    const result = await this.withEngine(async (engine) => {
      const { rootless, runtimeDir } = engine.config.host;
      return autoUpdate(engine, {
        dryRun: this.dryRun,
        rollback: this.rollback,
        authStore: { authFile: this.authfile, runtimeDir: engine.config.runtimeDir },
        systemctl: (args) => runSystemctl(rootless, runtimeDir, args),
      });
    });
    const { formatRows, plainTable } = await import('./list-output');
    if (this.format !== undefined) this.out(await formatRows(this.format, result.reports, HEADERS, { defaultFormat: COLUMNS.map((c) => `{{.${c}}}`).join('\t') }));
    else if (result.reports.length) this.out(plainTable(COLUMNS, HEADERS, result.reports));
    for (const e of result.errors) process.stderr.write(`Error: ${e}\n`);
    return result.errors.length ? 125 : 0;
  }
}
