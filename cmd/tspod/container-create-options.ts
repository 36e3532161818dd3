// The flags `run` and `create` share (Docker's names), and their translation into a create
// request for the engine. Both commands extend this class, so the two can never drift.
import { Option } from 'clipanion';
import { commandLine, TspodCommand } from './tspod-command';
import { parseCreds, parseTlsVerify } from './registry-flags';
import { transferDisplay } from './transfer-display';
import { InvalidArgumentError } from '../../pkg/errors';
import { parseByteSize } from '../../pkg/format/human-units';
import type { CreateRequest } from '../../pkg/container/container-create';
import type { MountRequest } from '../../pkg/container/container-config';

/**
 * A container created by a systemd unit (whose Environment= sets PODMAN_SYSTEMD_UNIT=%n) is
 * labelled with the unit's name, as Podman does: `auto-update` restarts that unit.
 */
function withSystemdUnit(labels: Record<string, string>): Record<string, string> {
  const unit = process.env.PODMAN_SYSTEMD_UNIT;
  return unit && labels.PODMAN_SYSTEMD_UNIT === undefined ? { ...labels, PODMAN_SYSTEMD_UNIT: unit } : labels;
}

function absolutePath(file: string): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require('node:path') as typeof import('node:path')).resolve(file);
}

export abstract class ContainerCreateCommand extends TspodCommand {
  detach = Option.Boolean('-d,--detach', false, { description: 'Run in the background and print the container ID' });
  interactive = Option.Boolean('-i,--interactive', false, { description: 'Keep stdin open' });
  tty = Option.Boolean('-t,--tty', false, { description: 'Allocate a pseudo-terminal' });
  rm = Option.Boolean('--rm', false, { description: 'Remove the container when it exits' });
  name = Option.String('--name', { description: 'Name of the container' });
  env = Option.Array('-e,--env', [], { description: 'Set an environment variable (NAME=value, or NAME to copy it)' });
  envFile = Option.Array('--env-file', [], { description: 'Read environment variables from a file' });
  envHost = Option.Boolean('--env-host', false, { description: "Use the caller's environment" });
  workdir = Option.String('-w,--workdir', { description: 'Working directory inside the container' });
  user = Option.String('-u,--user', { description: 'User (name or uid, with an optional :group)' });
  hostname = Option.String('-h,--hostname', { description: 'Container host name' });
  entrypoint = Option.String('--entrypoint', { description: "Override the image's entrypoint" });
  volume = Option.Array('-v,--volume', [], { description: 'Bind mount (HOST:CTR[:ro]) or named volume (NAME:CTR)' });
  mount = Option.Array('--mount', [], { description: 'Mount: type=bind|volume|tmpfs,source=,target=,readonly' });
  tmpfs = Option.Array('--tmpfs', [], { description: 'Mount a tmpfs (CTR[:options])' });
  readOnly = Option.Boolean('--read-only', false, { description: 'Mount the root filesystem read-only' });
  capAdd = Option.Array('--cap-add', [], { description: 'Add a capability' });
  capDrop = Option.Array('--cap-drop', [], { description: 'Drop a capability' });
  privileged = Option.Boolean('--privileged', false, { description: 'Give the container all capabilities' });
  securityOpt = Option.Array('--security-opt', [], { description: 'Security options: no-new-privileges, seccomp=unconfined|FILE, label=disable' });
  label = Option.Array('-l,--label', [], { description: 'Set a label (KEY=VALUE)' });
  annotation = Option.Array('--annotation', [], { description: 'Add an annotation to the OCI spec (KEY=VALUE)' });
  labelFile = Option.Array('--label-file', [], { description: 'Read labels from a file' });
  stopSignal = Option.String('--stop-signal', { description: 'Signal to stop the container (default SIGTERM)' });
  stopTimeout = Option.String('--stop-timeout', { description: 'Seconds to wait before killing the container' });
  cidfile = Option.String('--cidfile', { description: 'Write the container ID to a file' });
  cgroups = Option.String('--cgroups', { description: 'cgroup mode: enabled, disabled, no-conmon, split (the monitor stays in the caller\'s cgroup either way)' });
  conmonPidfile = Option.String('--conmon-pidfile', { description: "Write the pid of the container's monitor to a file (a systemd unit's PIDFile)" });
  replace = Option.Boolean('--replace', false, { description: 'Replace a container with the same name' });
  pull = Option.String('--pull', { description: 'Pull policy: always, missing, never, newer' });
  logDriver = Option.String('--log-driver', { description: 'Log driver: k8s-file, json-file, local, journald, none, passthrough' });
  logOpt = Option.Array('--log-opt', [], { description: 'Log driver options: max-size=, max-file=, compress=, tag=, path=' });
  ulimit = Option.Array('--ulimit', [], { description: 'Resource limit (nofile=1024:2048)' });
  shmSize = Option.String('--shm-size', { description: 'Size of /dev/shm' });
  network = Option.Array('--network,--net', [], { description: 'Network: bridge (default), slirp4netns[:OPTIONS], pasta[:ARGS], none, host, container:NAME, ns:PATH' });
  publish = Option.Array('-p,--publish', [], { description: 'Publish a port: [HOSTIP:][HOSTPORT:]PORT[/tcp|udp], ranges as 8000-8010:80-90' });
  publishAll = Option.Boolean('-P,--publish-all', false, { description: 'Publish every exposed port to a random host port' });
  expose = Option.Array('--expose', [], { description: 'Expose a port or range (PORT[-END][/PROTO]) without publishing it' });
  dns = Option.Array('--dns', [], { description: 'Set a DNS server' });
  dnsSearch = Option.Array('--dns-search', [], { description: 'Set a DNS search domain' });
  dnsOption = Option.Array('--dns-option,--dns-opt', [], { description: 'Set a DNS resolver option' });
  addHost = Option.Array('--add-host', [], { description: 'Add a host to /etc/hosts (NAME:IP, IP may be host-gateway)' });
  macAddress = Option.String('--mac-address', { description: "The container's MAC address" });
  networkAlias = Option.Array('--network-alias', [], { description: 'Another name the container has on its user-defined network' });
  ip = Option.String('--ip', { description: 'IPv4 address on the user-defined network' });
  ip6 = Option.String('--ip6', { description: 'IPv6 address on the user-defined network (one created with --ipv6)' });
  pid = Option.String('--pid', { description: 'PID namespace: host or private' });
  ipc = Option.String('--ipc', { description: 'IPC namespace: host or private' });
  uts = Option.String('--uts', { description: 'UTS namespace: host or private' });
  userns = Option.String('--userns', { description: 'User namespace: host, keep-id[:uid=,gid=], auto[:size=], nomap' });
  groupAdd = Option.Array('--group-add', [], { description: 'Add a supplementary group' });
  restart = Option.String('--restart', { description: 'Restart policy: no, on-failure[:N], always, unless-stopped' });
  healthCmd = Option.String('--health-cmd', { description: 'Health check command: a shell command, or a JSON array to run without a shell ("none" disables)' });
  healthInterval = Option.String('--health-interval', { description: 'Time between health checks (default 30s; "disable" for none)' });
  healthRetries = Option.String('--health-retries', { description: 'Consecutive failures that make the container unhealthy (default 3)' });
  healthStartPeriod = Option.String('--health-start-period', { description: 'Start-up time during which failures do not count (default 0s)' });
  healthTimeout = Option.String('--health-timeout', { description: 'Time after which a check is killed and counts as failed (default 30s)' });
  healthOnFailure = Option.String('--health-on-failure', { description: 'Action on an unhealthy container: none, kill, restart, stop' });
  noHealthcheck = Option.Boolean('--no-healthcheck', false, { description: "Disable the image's HEALTHCHECK" });
  sdnotify = Option.String('--sdnotify', { description: 'How systemd learns the container is ready: conmon (default: at start), container (the container says READY=1), ignore' });
  device = Option.Array('--device', [], { description: 'Add a host device' });
  memory = Option.String('-m,--memory', { description: 'Memory limit' });
  memorySwap = Option.String('--memory-swap', { description: 'Memory plus swap limit (-1: unlimited)' });
  cpus = Option.String('--cpus', { description: 'Number of CPUs' });
  cpuShares = Option.String('-c,--cpu-shares', { description: 'CPU shares (relative weight)' });
  init = Option.Boolean('--init', false, { description: 'Run an init inside the container that forwards signals and reaps processes' });
  initPath = Option.String('--init-path', { description: 'Path to the container-init binary' });
  pidsLimit = Option.String('--pids-limit', { description: 'Process limit' });
  tlsVerify = Option.String('--tls-verify', { tolerateBoolean: true, description: 'Verify TLS when pulling' });
  quiet = Option.Boolean('-q,--quiet', false, { description: 'Suppress pull progress' });
  platform = Option.String('--platform', { description: 'Platform of the image to pull' });
  creds = Option.String('--creds', { description: 'Registry credentials USER[:PASSWORD]' });
  image = Option.String();
  args = Option.Proxy();

  /** Public for the start-up snapshot's training (snapshot-start-training.ts). */
  async createRequest(): Promise<CreateRequest> {
    const flags = await import('../../pkg/container/create-flags');
    const { parsePullPolicy } = await import('../../pkg/container/container-create');
    const env: string[] = [];
    if (this.envHost) for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('_TSPOD')) env.push(`${k}=${v}`);
    for (const f of this.envFile) env.push(...flags.readEnvFile(f));
    for (const e of this.env) {
      const parsed = flags.parseEnvFlag(e);
      if (parsed) env.push(parsed);
    }
    const mounts: MountRequest[] = [
      ...this.volume.map((v) => flags.parseVolumeFlag(v)),
      ...this.mount.map((m) => flags.parseMountFlag(m)),
      ...this.tmpfs.map((t) => flags.parseTmpfsFlag(t)),
    ];
    if (this.cgroups !== undefined && !['enabled', 'disabled', 'no-conmon', 'split'].includes(this.cgroups)) {
      throw new InvalidArgumentError(`invalid --cgroups "${this.cgroups}": use enabled, disabled, no-conmon or split`);
    }
    (await import('../../pkg/container/userns-mode')).parseUsernsFlag(this.userns);
    // A device that is not there fails now, not at every start.
    const { describeDevice } = await import('../../pkg/runtime/host-facts');
    for (const d of this.device) describeDevice(d);
    const logConfig = await import('../../pkg/container/log-config');
    const logDriver = this.logDriver ?? this.config().containers.logDriver;
    logConfig.checkLogDriverUsable(logDriver);
    const logOpts = logConfig.parseLogOpts(this.logOpt, logDriver);
    // A pty would let the container push input into the caller's terminal (TIOCSTI): Podman refuses it too.
    if (logDriver === 'passthrough' && this.tty) throw new InvalidArgumentError('the passthrough log driver cannot be used with a terminal (-t)');
    const stopTimeout = this.stopTimeout === undefined ? 10 : Number(this.stopTimeout);
    if (!Number.isInteger(stopTimeout)) throw new InvalidArgumentError(`invalid --stop-timeout "${this.stopTimeout}": use a number of seconds`);
    const shmSize = this.shmSize === undefined ? undefined : parseByteSize(this.shmSize);
    if (this.shmSize !== undefined && shmSize === undefined) throw new InvalidArgumentError(`invalid --shm-size "${this.shmSize}"`);
    const net = (await import('../../pkg/container/network-flags')).parseNetworkFlags(this);
    const resources: Record<string, number | string> = {};
    const bytes = (flag: string, value: string): number => {
      if (value === '-1') return -1;
      const n = parseByteSize(value);
      if (n === undefined) throw new InvalidArgumentError(`invalid ${flag} "${value}": use a size such as 512m or 1g`);
      return n;
    };
    const number = (flag: string, value: string, integer: boolean): number => {
      const n = Number(value);
      if (value.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n))) throw new InvalidArgumentError(`invalid ${flag} "${value}": use a number`);
      return n;
    };
    if (this.memory !== undefined) resources.memory = bytes('--memory', this.memory);
    if (this.memorySwap !== undefined) resources.memorySwap = bytes('--memory-swap', this.memorySwap);
    if (this.cpus !== undefined) resources.cpus = number('--cpus', this.cpus, false);
    if (this.cpuShares !== undefined) resources.cpuShares = number('--cpu-shares', this.cpuShares, true);
    if (this.pidsLimit !== undefined) resources.pidsLimit = number('--pids-limit', this.pidsLimit, true);
    if (resources.memorySwap !== undefined && resources.memorySwap !== -1) {
      if (resources.memory === undefined) throw new InvalidArgumentError('you must provide --memory when using --memory-swap');
      if ((resources.memorySwap as number) < (resources.memory as number)) throw new InvalidArgumentError('minimum memoryswap limit should be larger than memory limit, see usage');
    }
    const { parseHealthOnFailure } = await import('../../pkg/container/healthcheck-config');
    return {
      image: this.image,
      name: this.name,
      health: {
        cmd: this.healthCmd,
        interval: this.healthInterval,
        retries: this.healthRetries,
        startPeriod: this.healthStartPeriod,
        timeout: this.healthTimeout,
        noHealthcheck: this.noHealthcheck,
      },
      entrypoint: this.entrypoint,
      args: this.args,
      pull: parsePullPolicy(this.pull),
      pullOptions: {
        tlsVerify: parseTlsVerify(this.tlsVerify),
        credentials: parseCreds(this.creds),
        platform: this.platform,
        listener: transferDisplay(this.quiet),
      },
      config: {
        env,
        workdir: this.workdir,
        user: this.user,
        groupAdd: this.groupAdd,
        hostname: this.hostname,
        tty: this.tty,
        stdin: this.interactive,
        labels: withSystemdUnit(flags.parseLabels(this.label, this.labelFile)),
        annotations: flags.parseAnnotations(this.annotation),
        mounts,
        readOnly: this.readOnly,
        capAdd: this.capAdd,
        capDrop: this.capDrop,
        privileged: this.privileged,
        securityOpt: this.securityOpt,
        ulimits: this.ulimit,
        shmSize,
        ...net,
        pid: this.pid,
        ipc: this.ipc,
        uts: this.uts,
        userns: this.userns,
        stopSignal: this.stopSignal ?? 'SIGTERM',
        stopTimeout,
        logDriver,
        logOpts,
        restartPolicy: flags.parseRestartPolicy(this.restart),
        healthOnFailure: parseHealthOnFailure(this.healthOnFailure),
        sdNotify: (await import('../../pkg/container/sdnotify')).parseSdNotify(this.sdnotify),
        autoRemove: this.rm,
        devices: this.device,
        resources,
        init: this.init || undefined,
        initPath: this.initPath,
        createCommand: this.createCommand(),
        conmonPidfile: this.conmonPidfile === undefined ? undefined : absolutePath(this.conmonPidfile),
      },
    };
  }

  /** The command line as typed (Podman's CreateCommand), for `generate systemd --new`. */
  private createCommand(): { argv: string[]; imageIndex: number } | undefined {
    const argv = ['tspod', ...commandLine()];
    const imageIndex = argv.length - 1 - this.args.length;
    return argv[imageIndex] === this.image ? { argv, imageIndex } : undefined;
  }

  /** --replace: a container holding the name goes first, whatever its state. */
  protected async replaceExisting(engine: import('../../pkg/engine/engine').Engine): Promise<void> {
    if (!this.replace || !this.name) return;
    const { ContainerStore } = await import('../../pkg/container/container-store');
    const { removeContainer } = await import('../../pkg/container/container-remove');
    const existing = new ContainerStore(engine.db).find<never, never>(this.name);
    if (existing) await removeContainer(engine, existing as never, { force: true });
  }

  /**
   * --replace, create, --cidfile: what run and create both do before they differ. `run` checks
   * that the host ports it publishes are free before it creates anything (Docker's create does not).
   */
  protected async createFromFlags(engine: import('../../pkg/engine/engine').Engine, opts: { checkPorts?: boolean } = {}): Promise<string> {
    const request = await this.createRequest();
    await this.replaceExisting(engine);
    // After --replace, whose container may hold the ports; awaited by createContainer before it
    // records anything, so the binds run while the image is looked up.
    const portsFree = opts.checkPorts && request.config.publish?.length ? (await import('../../pkg/network/port-forwarder')).checkPortsAvailable(request.config.publish) : undefined;
    portsFree?.catch(() => undefined);
    if (portsFree) await (await import('../../pkg/storage/helper-server')).helperServerConnected();
    const { createContainer } = await import('../../pkg/container/container-create');
    const created = await createContainer(engine, request, { precondition: portsFree });
    this.writeCidfile(created.id);
    return created.id;
  }

  protected writeCidfile(id: string): void {
    if (!this.cidfile) return;
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const fs = require('node:fs') as typeof import('node:fs');
    try {
      fs.writeFileSync(this.cidfile, id, { flag: 'wx' });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new InvalidArgumentError(code === 'EEXIST' ? `container id file ${this.cidfile} exists: remove it or use another path` : `writing ${this.cidfile}: ${(err as Error).message}`);
    }
  }
}
