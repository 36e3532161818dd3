// Quadlet: a .container, .volume or .network file becomes a .service unit that runs
// `tspod run`, `tspod volume create` or `tspod network create`. [Unit], [Service], [Install]
// and any other section pass through; the tspod section is kept as X-Container (systemd
// ignores X- sections) so the generated file shows where it came from. Unknown keys, bad
// values and flags this tspod lacks are errors naming the file and line, and no unit is made.
import * as path from 'node:path';
import { groupArgs } from './container-unit';
import { CONTAINER_KEYS, KeyRule, NETWORK_KEYS, parseBool, VOLUME_KEYS } from './quadlet-keys';
import { execLine, quoteArg, renderSections, splitWords, UnitEntry, UnitFile, UnitFileError } from './unit-file';
import { TspodError } from '../errors';

export type QuadletKind = 'container' | 'volume' | 'network';
export type QuadletCommand = 'run' | 'volume create' | 'network create';

export interface QuadletSource {
  file: string;
  kind: QuadletKind;
  unit: UnitFile;
}

export interface QuadletContext {
  binary: string;
  /** RequiresMountsFor=, e.g. %t/tspod */
  runRoot: string;
  /** `run --sdnotify=conmon` exists: container units are Type=notify, else forking with a PIDFile */
  notify: boolean;
  /** the flags each command has in this tspod (undefined: no such command) */
  flags: Partial<Record<QuadletCommand, Set<string>>>;
  /** every file found, by its file name (data.volume), for Volume=data.volume and the like */
  sources: Map<string, QuadletSource>;
}

export interface QuadletService {
  /** web.service, data-volume.service */
  name: string;
  source: string;
  text: string;
  /** [Install] WantedBy= / RequiredBy=: the generator links the unit into TARGET.wants/.requires */
  wantedBy: string[];
  requiredBy: string[];
}

/** All the problems of one file, one FILE:LINE: message per line. */
export class QuadletError extends TspodError {
  constructor(readonly problems: UnitFileError[]) {
    super(problems.map((p) => p.message).join('\n'));
  }
}

const SECTIONS: Record<QuadletKind, { section: string; keys: Record<string, KeyRule>; command: QuadletCommand; suffix: string }> = {
  container: { section: 'Container', keys: CONTAINER_KEYS, command: 'run', suffix: '' },
  volume: { section: 'Volume', keys: VOLUME_KEYS, command: 'volume create', suffix: '-volume' },
  network: { section: 'Network', keys: NETWORK_KEYS, command: 'network create', suffix: '-network' },
};
const DEPENDENCY_KEYS = ['Wants', 'Requires', 'Requisite', 'BindsTo', 'PartOf', 'Upholds', 'Conflicts', 'Before', 'After'];
const GENERATED_SERVICE_KEYS = ['ExecStart', 'ExecStop', 'ExecStopPost'];

export function kindOf(file: string): QuadletKind | undefined {
  const ext = path.extname(file).slice(1);
  return ext === 'container' || ext === 'volume' || ext === 'network' ? ext : undefined;
}

/** web.container -> web.service, data.volume -> data-volume.service */
export function serviceNameOf(file: string): string {
  const kind = kindOf(file);
  return `${path.basename(file, path.extname(file))}${kind ? SECTIONS[kind].suffix : ''}.service`;
}

function lastValue(src: QuadletSource, section: string, key: string): string | undefined {
  const entries = src.unit.sections.filter((s) => s.name === section).flatMap((s) => s.entries.filter((e) => e.key === key));
  return entries[entries.length - 1]?.value;
}

/** The name of what the file creates: ContainerName/VolumeName/NetworkName, else systemd-BASE. */
export function resourceNameOf(src: QuadletSource): string {
  const { section } = SECTIONS[src.kind];
  const key = { container: 'ContainerName', volume: 'VolumeName', network: 'NetworkName' }[src.kind];
  return lastValue(src, section, key) ?? `systemd-${src.kind === 'container' ? '%N' : path.basename(src.file, path.extname(src.file))}`;
}

/** Collects one command line and the problems met on the way. */
class Translation {
  readonly args: string[] = [];
  readonly extra: string[] = [];
  readonly globals: string[] = [];
  readonly deps: string[] = [];
  readonly problems: UnitFileError[] = [];

  constructor(
    readonly src: QuadletSource,
    readonly ctx: QuadletContext,
    readonly command: QuadletCommand,
  ) {}

  fail(entry: { line: number; file?: string }, message: string): void {
    this.problems.push(new UnitFileError(entry.file ?? this.src.file, entry.line, message));
  }

  /** Adds FLAG VALUE..., if this tspod has the flag. */
  add(entry: UnitEntry, flag: string, ...values: string[]): void {
    const flags = this.ctx.flags[this.command];
    if (!flags) return this.fail(entry, `${entry.key}= needs \`tspod ${this.command}\`, which this tspod does not have`);
    if (!flags.has(flag)) return this.fail(entry, `${entry.key}= needs \`tspod ${this.command} ${flag}\`, which this tspod does not have`);
    this.args.push(flag, ...values);
  }

  bool(entry: UnitEntry): boolean | undefined {
    const b = parseBool(entry.value);
    if (b === undefined) this.fail(entry, `invalid boolean "${entry.value}" for ${entry.key}=`);
    return b;
  }

  words(entry: UnitEntry): string[] {
    try {
      return splitWords(entry.value);
    } catch (err) {
      this.fail(entry, `${entry.key}=: ${(err as Error).message}`);
      return [];
    }
  }

  /** Paths relative to the unit file's directory (not those starting with a specifier). */
  resolve(value: string): string {
    return value.startsWith('.') ? path.resolve(path.dirname(this.src.file), value) : value;
  }

  /** data.volume -> the volume's name, and a dependency on data-volume.service. */
  linked(entry: UnitEntry, file: string, kind: QuadletKind): string | undefined {
    const other = this.ctx.sources.get(file);
    if (!other || other.kind !== kind) {
      this.fail(entry, `${file} is not in the Quadlet directories`);
      return undefined;
    }
    this.deps.push(serviceNameOf(other.file));
    return resourceNameOf(other);
  }

  /** A key of the common rule kinds; false for special keys (the caller's job). */
  applyRule(entry: UnitEntry, rule: KeyRule): boolean {
    switch (rule.kind) {
      case 'value':
        this.add(entry, rule.flag, rule.path ? this.resolve(entry.value) : entry.value);
        return true;
      case 'prefixed':
        this.add(entry, rule.flag, `${rule.prefix}${entry.value}`);
        return true;
      case 'words':
        for (const w of this.words(entry)) this.add(entry, rule.flag, w);
        return true;
      case 'assignments':
        for (const w of this.words(entry)) {
          if (!w.includes('=')) this.fail(entry, `invalid ${entry.key}= entry "${w}": use KEY=VALUE`);
          else this.add(entry, rule.flag, w);
        }
        return true;
      case 'bool': {
        const b = this.bool(entry);
        if (rule.explicit && b !== undefined) {
          this.add(entry, rule.flag);
          if (this.args[this.args.length - 1] === rule.flag) this.args[this.args.length - 1] = `${rule.flag}=${b}`;
        }
        else if (b) this.add(entry, rule.flag);
        return true;
      }
      case 'fixed':
        if (this.bool(entry)) this.add(entry, rule.flag, rule.value);
        return true;
      default:
        if (entry.key === 'PodmanArgs' || entry.key === 'TspodArgs') this.extra.push(...this.words(entry));
        else if (entry.key === 'GlobalArgs') this.globals.push(...this.words(entry));
        else return false;
        return true;
    }
  }
}

function entriesOf(src: QuadletSource, section: string): UnitEntry[] {
  return src.unit.sections.filter((s) => s.name === section).flatMap((s) => s.entries);
}

/** [Unit] dependencies on other Quadlet files name their services (web.container -> web.service). */
function unitLines(src: QuadletSource): string[] {
  return entriesOf(src, 'Unit').map((e) => {
    if (!DEPENDENCY_KEYS.includes(e.key)) return `${e.key}=${e.value}`;
    return `${e.key}=${e.value.split(/\s+/).map((w) => (kindOf(w) ? serviceNameOf(w) : w)).join(' ')}`;
  });
}

function q(words: string[]): string[] {
  return words.map((w) => quoteArg(w, true));
}

/** The .container file's `tspod run` and the extra [Service] lines it needs. */
function containerCommand(t: Translation): { start: string[][]; service: string[]; name: string } {
  const { src, ctx } = t;
  let image: string | undefined;
  let exec: string[] = [];
  let user: UnitEntry | undefined;
  let group: UnitEntry | undefined;
  let notify = ctx.notify ? 'conmon' : undefined;
  let reload: string[][] | undefined;
  const name = resourceNameOf(src);
  const bin = [ctx.binary];
  for (const e of entriesOf(src, 'Container')) {
    const rule = CONTAINER_KEYS[e.key];
    if (!rule) {
      t.fail(e, `unknown key "${e.key}" in [Container]`);
      continue;
    }
    if (t.applyRule(e, rule)) continue;
    switch (e.key) {
      case 'Image':
        image = e.value;
        break;
      case 'Exec':
        exec = t.words(e);
        break;
      case 'User':
        user = e;
        break;
      case 'Group':
        group = e;
        break;
      case 'AutoUpdate':
        if (e.value !== 'registry' && e.value !== 'local') t.fail(e, `invalid AutoUpdate "${e.value}": use registry or local`);
        else t.add(e, '--label', `io.containers.autoupdate=${e.value}`);
        break;
      case 'Notify':
        if (e.value === 'healthy') notify = 'healthy';
        else if (t.bool(e) !== undefined) notify = parseBool(e.value) ? 'container' : notify;
        if (notify && notify !== 'conmon' && !ctx.flags.run?.has('--sdnotify')) t.fail(e, 'Notify= needs `tspod run --sdnotify`, which this tspod does not have');
        break;
      case 'Volume':
      case 'Mount': {
        const value = e.key === 'Volume' ? volumeValue(t, e) : mountValue(t, e);
        if (value !== undefined) t.add(e, e.key === 'Volume' ? '--volume' : '--mount', value);
        break;
      }
      case 'Network': {
        let net: string | undefined = e.value;
        if (e.value.endsWith('.network')) net = t.linked(e, e.value, 'network');
        else if (e.value.endsWith('.container')) net = t.linked(e, e.value, 'container')?.replace('%N', path.basename(e.value, '.container'));
        if (net !== undefined) t.add(e, '--network', e.value.endsWith('.container') ? `container:${net}` : net);
        break;
      }
      case 'ContainerName':
        break;
      case 'ReloadCmd':
        reload = [[...bin, 'exec', quoteArg(name, true), ...q(t.words(e))]];
        break;
      case 'ReloadSignal':
        reload = [[...bin, 'kill', '--signal', quoteArg(e.value, true), quoteArg(name, true)]];
        break;
      default:
        t.fail(e, `${e.key}= is not supported: tspod has no pods`);
    }
  }
  if (group && !user) t.fail(group, 'Group= needs User=');
  else if (user) t.add(user, '--user', group ? `${user.value}:${group.value}` : user.value);
  const rootfs = t.args.includes('--rootfs');
  if (!image && !rootfs) t.fail(src.unit.sections.find((s) => s.name === 'Container') ?? { line: 1 }, 'no Image= key in [Container]');
  const userType = lastValue(src, 'Service', 'Type');
  const oneshot = userType === 'oneshot';
  const start = [
    [...bin, ...q(t.globals), 'run'],
    [quoteArg(`--name=${name}`, true)],
    ['--cidfile=%t/%N.cid'],
    ['--replace'],
    ['--rm'],
    ...(t.args.includes('--cgroups') ? [] : [['--cgroups=split']]),
    ...(oneshot ? [] : [notify ? [`--sdnotify=${notify}`] : ['--conmon-pidfile=%t/%N.pid'], ['-d']]),
  ];
  const groups = [...start, ...groupArgs(q([...t.args, ...t.extra]))];
  groups[groups.length - 1] = [...groups[groups.length - 1], ...q([...(image ? [image] : []), ...exec])];
  const stop = [[...bin, 'rm'], ['-v', '-f', '-i', '--cidfile=%t/%N.cid']];
  // A unit that died without its ExecStopPost leaves the ID file, and `run --cidfile` refuses one that exists.
  const service = ['Environment=PODMAN_SYSTEMD_UNIT=%n', 'KillMode=mixed', execLine('ExecStartPre', [['-/bin/rm'], ['-f', '%t/%N.cid']]), execLine('ExecStop', stop), execLine('ExecStopPost', [[`-${stop[0][0]}`, ...stop[0].slice(1)], stop[1]]), 'Delegate=yes'];
  if (!userType) service.push(...(notify ? ['Type=notify', 'NotifyAccess=all'] : ['Type=forking', 'PIDFile=%t/%N.pid']));
  service.push('SyslogIdentifier=%N');
  if (reload) service.push(execLine('ExecReload', reload));
  return { start: groups, service, name };
}

/** Volume=SOURCE:DEST[:OPTS]: x.volume names the volume that file creates, ./dir is relative to the file. */
function volumeValue(t: Translation, e: UnitEntry): string | undefined {
  const parts = e.value.split(':');
  if (parts.length < 2) return e.value;
  let source: string | undefined = parts[0];
  if (source.endsWith('.volume')) source = t.linked(e, source, 'volume');
  else source = t.resolve(source);
  return source === undefined ? undefined : [source, ...parts.slice(1)].join(':');
}

function mountValue(t: Translation, e: UnitEntry): string | undefined {
  let ok = true;
  const fields = e.value.split(',').map((f) => {
    const [k, val] = [f.slice(0, f.indexOf('=')), f.slice(f.indexOf('=') + 1)];
    if (!['source', 'src'].includes(k)) return f;
    const linked = val.endsWith('.volume') ? t.linked(e, val, 'volume') : t.resolve(val);
    if (linked === undefined) ok = false;
    return `${k}=${linked}`;
  });
  return ok ? fields.join(',') : undefined;
}

/** A .volume or .network file's oneshot `tspod volume|network create --ignore NAME`. */
function resourceCommand(t: Translation): { start: string[][]; service: string[]; name: string } {
  const { src, ctx } = t;
  const { section, keys } = SECTIONS[src.kind];
  const name = resourceNameOf(src);
  const service: string[] = [];
  for (const e of entriesOf(src, section)) {
    const rule = keys[e.key];
    if (!rule) {
      t.fail(e, `unknown key "${e.key}" in [${section}]`);
      continue;
    }
    if (t.applyRule(e, rule)) continue;
    if (e.key === 'Copy') {
      if (t.bool(e) === false) t.fail(e, 'Copy=false is not supported by tspod volume create');
    } else if (e.key === 'NetworkDeleteOnStop') {
      if (t.bool(e)) service.push(execLine('ExecStopPost', [[ctx.binary, ...q(t.globals), 'network', 'rm', quoteArg(name, true)]]));
    }
  }
  const create = t.command.split(' ');
  const head = [ctx.binary, ...q(t.globals), ...create];
  if (ctx.flags[t.command] && !ctx.flags[t.command]?.has('--ignore')) t.fail({ line: 1 }, `tspod ${t.command} has no --ignore, which a ${src.kind} unit needs`);
  const groups = [[...head, '--ignore'], ...groupArgs(q([...t.args, ...t.extra]))];
  groups[groups.length - 1] = [...groups[groups.length - 1], quoteArg(name, true)];
  return { start: groups, service: [...service, 'Type=oneshot', 'RemainAfterExit=yes', 'SyslogIdentifier=%N'], name };
}

/** [Quadlet] DefaultDependencies=false: no network-online.target dependencies (Podman's switch). */
function quadletOption(t: Translation, key: 'DefaultDependencies'): boolean | undefined {
  let value: boolean | undefined;
  for (const e of entriesOf(t.src, 'Quadlet')) {
    if (e.key !== key) t.fail(e, `unknown key "${e.key}" in [Quadlet]`);
    else value = t.bool(e);
  }
  return value;
}

/** The .service for one Quadlet file; throws QuadletError listing every problem in it. */
export function quadletService(src: QuadletSource, ctx: QuadletContext): QuadletService {
  const { section, command } = SECTIONS[src.kind];
  const t = new Translation(src, ctx, command);
  if (!src.unit.sections.some((s) => s.name === section)) t.fail({ line: 1 }, `no [${section}] section`);
  const generated = src.kind === 'container' ? containerCommand(t) : resourceCommand(t);
  for (const e of entriesOf(src, 'Service')) {
    if (GENERATED_SERVICE_KEYS.includes(e.key)) t.fail(e, `${e.key}= is generated from [${section}]: leave it out of [Service]`);
  }
  const defaultDependencies = quadletOption(t, 'DefaultDependencies') !== false;
  if (t.problems.length) throw new QuadletError(t.problems);

  const unit = [...unitLines(src), `SourcePath=${src.file}`, `RequiresMountsFor=${ctx.runRoot}`];
  if (src.kind === 'container' && defaultDependencies) unit.push('Wants=network-online.target', 'After=network-online.target');
  for (const dep of [...new Set(t.deps)]) unit.push(`Requires=${dep}`, `After=${dep}`);
  const userService = entriesOf(src, 'Service').map((e) => `${e.key}=${e.value}`);
  const service = [...generated.service, execLine('ExecStart', generated.start), ...userService];
  const others = src.unit.sections.filter((s) => !['Unit', 'Service', 'Quadlet', section].includes(s.name));
  const body = renderSections([
    { name: `X-${section}`, lines: entriesOf(src, section).map((e) => `${e.key}=${e.value}`) },
    { name: 'Unit', lines: unit },
    { name: 'Service', lines: service },
    ...others.map((s) => ({ name: s.name, lines: s.entries.map((e) => `${e.key}=${e.value}`) })),
  ]);
  const install = entriesOf(src, 'Install');
  const targets = (key: string) => install.filter((e) => e.key === key).flatMap((e) => e.value.split(/\s+/).filter(Boolean));
  return {
    name: serviceNameOf(src.file),
    source: src.file,
    text: `# Automatically generated by tspod systemd generate-units from ${src.file}\n#\n${body}`,
    wantedBy: targets('WantedBy'),
    requiredBy: targets('RequiredBy'),
  };
}
