// --log-driver and --log-opt: which drivers exist, which options each takes, Docker's defaults,
// and what the monitor is told. Checked at create, so a bad option never makes a container.
//   k8s-file     Podman's format (the default); rotation with max-size / max-file
//   json-file    Docker's JSON lines; rotation; compress=true gzips the rotated files
//   local        Docker's binary records; rotated and compressed by default (20m, 5 files)
//   journald     one journal entry per line through journald's socket (the monitor writes them,
//                `logs` reads them with journalctl): refused at create where there is no socket
//   none         nothing is kept; `logs` says so
//   passthrough  the container's stdio is the CLI's own (run in the foreground only)
import * as fs from 'node:fs';
import * as path from 'node:path';
import { InvalidArgumentError, HostError } from '../errors';
import { parseByteSize } from '../format/human-units';
import { parseTemplate } from '../format/go-template';

export const LOG_DRIVERS = ['k8s-file', 'json-file', 'local', 'journald', 'none', 'passthrough'];
export type FileLogFormat = 'k8s-file' | 'json-file' | 'local';

const FILE_OPTS = ['max-size', 'max-file', 'compress', 'tag', 'path'];
const OPTS_BY_DRIVER: Record<string, string[]> = {
  'k8s-file': FILE_OPTS,
  'json-file': FILE_OPTS,
  local: FILE_OPTS,
  journald: ['tag'],
  none: ['tag'],
  passthrough: ['tag'],
};

/** Docker's defaults where the user gave none: local rotates and compresses on its own. */
const DEFAULTS: Record<string, { maxSize: number; maxFiles: number; compress: boolean }> = {
  local: { maxSize: 20 * 1024 * 1024, maxFiles: 5, compress: true },
};

export const JOURNAL_SOCKET = '/run/systemd/journal/socket';

/** journald's native socket: $TSPOD_JOURNAL_SOCKET overrides it (tests point it elsewhere). */
export function journalSocket(env: NodeJS.ProcessEnv = process.env): string {
  return env.TSPOD_JOURNAL_SOCKET || JOURNAL_SOCKET;
}

export function isFileDriver(driver: string): driver is FileLogFormat {
  return driver === 'k8s-file' || driver === 'json-file' || driver === 'local';
}

/** The --log-opt list as KEY → VALUE, each checked against what the driver takes. */
export function parseLogOpts(opts: string[], driver = 'k8s-file', cwd = process.cwd()): Record<string, string> {
  const known = OPTS_BY_DRIVER[driver] ?? FILE_OPTS;
  const out: Record<string, string> = {};
  for (const o of opts) {
    const eq = o.indexOf('=');
    if (eq <= 0) throw new InvalidArgumentError(`invalid --log-opt "${o}": use KEY=VALUE`);
    const key = o.slice(0, eq);
    const value = o.slice(eq + 1);
    if (!known.includes(key)) throw new InvalidArgumentError(`unknown log opt "${key}" for the ${driver} log driver: use ${known.join(', ')}`);
    out[key] = value;
    if (key === 'max-size') {
      const bytes = value === '-1' ? -1 : parseByteSize(value);
      if (bytes === undefined) throw new InvalidArgumentError(`invalid --log-opt max-size "${value}": use a size such as 10m`);
      out['max-size-bytes'] = String(bytes);
    } else if (key === 'max-file') {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1 || n > 1000) throw new InvalidArgumentError(`invalid --log-opt max-file "${value}": use a whole number from 1 to 1000`);
    } else if (key === 'compress') {
      if (value !== 'true' && value !== 'false') throw new InvalidArgumentError(`invalid --log-opt compress "${value}": use true or false`);
    } else if (key === 'tag' && value.includes('{{')) {
      try {
        parseTemplate(value);
      } catch (err) {
        throw new InvalidArgumentError(`invalid --log-opt tag "${value}": ${(err as Error).message}`);
      }
    } else if (key === 'path') {
      if (!value) throw new InvalidArgumentError('invalid --log-opt path: it is empty');
      out.path = path.resolve(cwd, value);
    }
  }
  return out;
}

/** journald needs the journal's socket; here is where a user learns it is missing. */
export function checkLogDriverUsable(driver: string, socket = journalSocket()): void {
  if (!LOG_DRIVERS.includes(driver)) throw new InvalidArgumentError(`unknown log driver "${driver}": use ${LOG_DRIVERS.join(', ')}`);
  if (driver === 'journald' && !fs.existsSync(socket)) {
    throw new HostError(`the journald log driver needs the systemd journal, and ${socket} does not exist here: start systemd-journald or use --log-driver k8s-file (or json-file, local)`);
  }
}

export interface MonitorLogSettings {
  driver: 'k8s-file' | 'json-file' | 'local' | 'journald' | 'none' | 'passthrough';
  path: string;
  /** journald: CONTAINER_TAG and SYSLOG_IDENTIFIER (--log-opt tag=; none: conmon writes neither) */
  tag?: string;
  /** journald: the socket the monitor writes to */
  journalSocket?: string;
  /** bytes; -1: never rotate */
  maxSize: number;
  maxFiles: number;
  compress: boolean;
}

/** Where the log of a container lives: --log-opt path=, else the container's own directory. */
export function logPathOf(logOpts: Record<string, string>, defaultPath: string): string {
  return logOpts.path ?? defaultPath;
}

/** inspect's LogPath: none for journald, whose log is no file (Podman 4.3 shows it empty too). */
export function inspectLogPath(driver: string, logOpts: Record<string, string>, defaultPath: string): string {
  return driver === 'journald' ? '' : logPathOf(logOpts, defaultPath);
}

/** What a tag template ({{.Name}}, as Podman: the keys of inspect) sees of the container. */
export interface LogTagData {
  ID: string;
  Name: string;
  ImageName: string;
  Image: string;
}

/** --log-opt tag= as the journal gets it: a template is rendered with the container's data. */
export function logTagOf(tag: string | undefined, data: LogTagData): string | undefined {
  if (tag === undefined || !tag.includes('{{')) return tag;
  return parseTemplate(tag).execute(data);
}

/** What the monitor is told for a container's driver and options. */
export function monitorLogSettings(driver: string, logOpts: Record<string, string>, defaultPath: string, env: NodeJS.ProcessEnv = process.env): MonitorLogSettings {
  const d = DEFAULTS[driver] ?? { maxSize: -1, maxFiles: 1, compress: false };
  const maxSize = logOpts['max-size-bytes'] !== undefined ? Number(logOpts['max-size-bytes']) : d.maxSize;
  return {
    driver: driver === 'none' || driver === 'passthrough' || driver === 'journald' || isFileDriver(driver) ? (driver as MonitorLogSettings['driver']) : 'k8s-file',
    path: logPathOf(logOpts, defaultPath),
    maxSize,
    maxFiles: logOpts['max-file'] !== undefined ? Number(logOpts['max-file']) : d.maxFiles,
    compress: logOpts.compress !== undefined ? logOpts.compress === 'true' : d.compress,
    ...(driver === 'journald' ? { tag: logOpts.tag, journalSocket: journalSocket(env) } : {}),
  };
}
