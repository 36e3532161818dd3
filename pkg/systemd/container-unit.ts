// `generate systemd`: the .service unit for one container, in Podman's layout. Either the unit
// starts and stops the existing container (forking, with the monitor's pid file as PIDFile), or
// (--new) it creates the container on start from the container's original command line and
// removes it on stop. A pure function of the container's facts and the options.
import { InvalidArgumentError } from '../errors';
import { execLine, quoteArg, renderSections } from './unit-file';

export interface SystemdOptions {
  new: boolean;
  /** --name: the container's name in the unit instead of its ID */
  useName: boolean;
  restartPolicy?: string;
  restartSec?: number;
  startTimeout?: number;
  stopTimeout?: number;
  containerPrefix: string;
  separator: string;
  after: string[];
  wants: string[];
  requires: string[];
  /** Environment= lines, NAME=value */
  env: string[];
  noHeader: boolean;
}

export interface ContainerUnitInput {
  id: string;
  name: string;
  /** tspod's launcher (ExecStart needs a real path) and global flags the unit must repeat */
  binary: string;
  globalArgs: string[];
  /** RequiresMountsFor=: the run root, as %t/... where it lies under the runtime dir */
  runRoot: string;
  stopTimeout: number;
  /** the container's own --restart policy name ('no' when none) */
  restartPolicy: string;
  createCommand?: { argv: string[]; imageIndex: number };
  /** non --new units: the file the monitor writes its pid to */
  pidFile: string;
  /** true once `run --sdnotify=conmon` relays readiness: --new units are then Type=notify */
  notify: boolean;
  version: string;
  now: Date;
}

export interface GeneratedUnit {
  /** the unit's name without .service (the key of --format json) */
  name: string;
  text: string;
}

const SYSTEMD_RESTART = ['no', 'on-success', 'on-failure', 'on-abnormal', 'on-watchdog', 'on-abort', 'always'];
const CIDFILE = '%t/%n.ctr-id';
const PIDFILE = '%t/%n.pid';

/** time.UnixDate, as Podman stamps its headers: "Sat Nov 28 10:15:53 UTC 2026". */
function unixDate(d: Date): string {
  const [wd, day, mon, year] = d.toUTCString().replace(',', '').split(' ');
  return `${wd} ${mon} ${String(Number(day)).padStart(2, ' ')} ${d.toISOString().slice(11, 19)} UTC ${year}`;
}

function restartPolicy(opts: SystemdOptions, input: ContainerUnitInput): string {
  if (opts.restartPolicy !== undefined) {
    if (!SYSTEMD_RESTART.includes(opts.restartPolicy)) throw new InvalidArgumentError(`invalid systemd restart policy "${opts.restartPolicy}": use one of ${SYSTEMD_RESTART.join(', ')}`);
    return opts.restartPolicy;
  }
  // The container's own policy, in systemd's words (systemd now does the restarting).
  if (input.restartPolicy === 'always' || input.restartPolicy === 'unless-stopped') return 'always';
  return 'on-failure';
}

/** Groups argv as Podman prints it: each flag with the words that follow it on one line. */
export function groupArgs(words: string[]): string[][] {
  const groups: string[][] = [];
  for (const w of words) {
    if (w.startsWith('-') || groups.length === 0) groups.push([w]);
    else groups[groups.length - 1].push(w);
  }
  return groups;
}

const DROPPED_VALUE_FLAGS = ['--cidfile', '--conmon-pidfile', '--cgroups', '--restart', '--pod-id-file'];
const DROPPED_BOOL_FLAGS = ['--rm', '-d', '--detach', '--replace'];

/** The create flags minus those the unit sets itself (and -d inside groups such as -dit). */
export function filterCreateFlags(flags: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < flags.length; i++) {
    const f = flags[i];
    const name = f.split('=')[0];
    if (DROPPED_VALUE_FLAGS.includes(name)) {
      if (!f.includes('=')) i++;
      continue;
    }
    if (DROPPED_BOOL_FLAGS.includes(name)) continue;
    if (/^-[dit]+$/.test(f) && f.includes('d')) {
      const rest = f.replace(/d/g, '');
      if (rest !== '-') out.push(rest);
      continue;
    }
    out.push(f);
  }
  return out;
}

/** The original create command turned into the unit's `run` (--new). */
function newStartCommand(input: ContainerUnitInput): string[][] {
  const cmd = input.createCommand;
  if (!cmd) {
    throw new InvalidArgumentError(`container ${input.name} was created before tspod recorded create commands: recreate it to generate a --new unit`);
  }
  const at = cmd.argv.findIndex((w, i) => i > 0 && i < cmd.imageIndex && (w === 'run' || w === 'create'));
  if (at < 0) throw new InvalidArgumentError(`cannot find run or create in the create command of container ${input.name}`);
  const globals = cmd.argv.slice(1, at).filter((w, i, all) => !(w === 'container' && i === all.length - 1));
  const flags = filterCreateFlags(cmd.argv.slice(at + 1, cmd.imageIndex));
  const hasName = flags.some((f) => f === '--name' || f.startsWith('--name='));
  const hasNotify = flags.some((f) => f.split('=')[0] === '--sdnotify');
  const q = (words: string[]) => words.map((w) => quoteArg(w));
  const head = [[input.binary, ...q([...input.globalArgs, ...globals]), 'run'], [`--cidfile=${CIDFILE}`], ['--cgroups=no-conmon'], ['--rm']];
  if (!hasNotify) head.push([input.notify ? '--sdnotify=conmon' : `--conmon-pidfile=${PIDFILE}`]);
  if (hasName) head.push(['--replace']);
  head.push(['-d']);
  // The image and its command follow the last flag on its line, as in Podman's units.
  const groups = [...head, ...groupArgs(q(flags))];
  groups[groups.length - 1] = [...groups[groups.length - 1], ...q(cmd.argv.slice(cmd.imageIndex))];
  return groups;
}

/** Environment= takes specifiers (so % is doubled) but no $ expansion. */
function envLine(e: string): string {
  const escaped = e.replace(/%/g, '%%');
  return `Environment=${/[\s"'\\]/.test(escaped) ? quoteArg(escaped, true) : escaped}`;
}

export function containerUnit(input: ContainerUnitInput, opts: SystemdOptions): GeneratedUnit {
  const ident = opts.useName ? input.name : input.id;
  const name = opts.containerPrefix ? `${opts.containerPrefix}${opts.separator}${ident}` : ident;
  const stopTimeout = opts.stopTimeout ?? input.stopTimeout;
  const bin = [input.binary, ...input.globalArgs.map((a) => quoteArg(a))];
  const unit = [
    `Description=tspod ${name}.service`,
    'Wants=network-online.target',
    'After=network-online.target',
    `RequiresMountsFor=${input.runRoot}`,
  ];
  const userDeps = [...opts.wants.map((w) => `Wants=${w}`), ...opts.after.map((a) => `After=${a}`), ...opts.requires.map((r) => `Requires=${r}`)];
  if (userDeps.length) unit.push('', '# User-defined dependencies', ...userDeps);

  const service = ['Environment=PODMAN_SYSTEMD_UNIT=%n', ...opts.env.map(envLine), `Restart=${restartPolicy(opts, input)}`];
  if (opts.restartSec !== undefined) service.push(`RestartSec=${opts.restartSec}`);
  if (opts.startTimeout !== undefined) service.push(`TimeoutStartSec=${opts.startTimeout}`);
  service.push(`TimeoutStopSec=${60 + stopTimeout}`);
  if (opts.new) {
    service.push(
      execLine('ExecStartPre', [['/bin/rm'], ['-f', CIDFILE, ...(input.notify ? [] : [PIDFILE])]]),
      execLine('ExecStart', newStartCommand(input)),
      execLine('ExecStop', [[...bin, 'stop'], ['--ignore', '-t', String(stopTimeout)], [`--cidfile=${CIDFILE}`]]),
      execLine('ExecStopPost', [[...bin, 'rm'], ['-f'], ['--ignore', '-t', String(stopTimeout)], [`--cidfile=${CIDFILE}`]]),
      ...(input.notify ? ['Type=notify', 'NotifyAccess=all'] : [`PIDFile=${PIDFILE}`, 'Type=forking']),
    );
  } else {
    const target = quoteArg(ident);
    service.push(
      execLine('ExecStart', [[...bin, 'start', target]]),
      execLine('ExecStop', [[...bin, 'stop'], ['-t', String(stopTimeout), target]]),
      execLine('ExecStopPost', [[...bin, 'stop'], ['-t', String(stopTimeout), target]]),
      `PIDFile=${input.pidFile}`,
      'Type=forking',
    );
  }
  const header = [`# ${name}.service`, ...(opts.noHeader ? [] : [`# autogenerated by tspod ${input.version}`, `# ${unixDate(input.now)}`])];
  const body = renderSections([
    { name: 'Unit', lines: unit },
    { name: 'Service', lines: service },
    { name: 'Install', lines: ['WantedBy=default.target'] },
  ]);
  return { name, text: `${header.join('\n')}\n\n${body}` };
}
