// Reading a container's journald log for `logs`: its entries (CONTAINER_ID_FULL=ID) through
// `journalctl --output=json`, as LogLines (PRIORITY 3 is stderr, as the monitor writes it), the
// pieces of a partial line joined, times from __REALTIME_TIMESTAMP. Follow mode runs
// `journalctl --follow` from the last entry read and, once the container has stopped, one last
// read after the last cursor (the monitor waits for journald to take every entry before it
// reports the exit, so nothing is missed).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { HostError } from '../errors';
import type { LogLine } from './container-logs';

/** One entry of `journalctl --output=json`; a field with unprintable bytes is an array of them. */
export interface JournalEntry {
  MESSAGE?: string | number[] | null;
  PRIORITY?: string;
  CONTAINER_PARTIAL_MESSAGE?: string;
  __REALTIME_TIMESTAMP?: string;
  __CURSOR?: string;
}

function fieldText(v: string | number[] | null | undefined): string {
  if (v === undefined || v === null) return '';
  return typeof v === 'string' ? v : Buffer.from(v).toString();
}

/** Microseconds since the epoch as the RFC 3339 time the file drivers write (nanoseconds). */
export function journalTime(realtimeUs: string | undefined): string {
  const us = BigInt(realtimeUs ?? '0');
  const iso = new Date(Number(us / 1000n)).toISOString().slice(0, 19);
  return `${iso}.${String(us % 1_000_000n).padStart(6, '0')}000Z`;
}

/**
 * Entries as lines: a partial entry's text waits for the entry that completes its line (same
 * stream) and the line keeps the first piece's time. `pending` holds pieces across calls.
 */
export class JournalLineAssembler {
  private pending = new Map<LogLine['stream'], LogLine>();

  add(entries: JournalEntry[]): LogLine[] {
    const out: LogLine[] = [];
    for (const e of entries) {
      const stream = e.PRIORITY === '3' ? 'stderr' : 'stdout';
      const partial = e.CONTAINER_PARTIAL_MESSAGE === 'true';
      const piece = fieldText(e.MESSAGE);
      const before = this.pending.get(stream);
      const line: LogLine = { time: before?.time ?? journalTime(e.__REALTIME_TIMESTAMP), stream, text: (before?.text ?? '') + piece };
      this.pending.delete(stream);
      if (partial) this.pending.set(stream, line);
      else out.push({ ...line, text: `${line.text}\n` });
    }
    return out;
  }

  /** The pieces of lines never completed (the container's last output without a newline). */
  flush(): LogLine[] {
    const out = [...this.pending.values()].sort((a, b) => a.time.localeCompare(b.time));
    this.pending.clear();
    return out;
  }
}

export function parseJournalJson(text: string): JournalEntry[] {
  const out: JournalEntry[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      out.push(JSON.parse(line) as JournalEntry);
    } catch {
      // not an entry (journalctl's own notices go to stderr; be lenient anyway)
    }
  }
  return out;
}

export interface JournalQuery {
  follow?: boolean;
  afterCursor?: string;
  /** only the last N entries */
  lines?: number;
}

/** Only the fields a line needs: the monitor's entries carry its long command line too, and
 * printing it made journalctl's JSON eight times longer (and slower: 2 s for 20000 entries). */
const FIELDS = '--output-fields=MESSAGE,PRIORITY,CONTAINER_PARTIAL_MESSAGE';

export function journalctlArgs(containerId: string, opts: JournalQuery = {}): string[] {
  const args = ['--output=json', FIELDS, '--no-pager', '--all', '--quiet'];
  if (opts.afterCursor) args.push(`--after-cursor=${opts.afterCursor}`);
  else if (opts.lines !== undefined) args.push(`--lines=${opts.lines}`);
  else if (opts.follow) args.push('--lines=all');
  if (opts.follow) args.push('--follow');
  args.push(`CONTAINER_ID_FULL=${containerId}`);
  return args;
}

/** journalctl's failure as one line a user can act on. */
export function journalReadError(code: number | null, stderr: string, spawnError?: NodeJS.ErrnoException): Error {
  if (spawnError?.code === 'ENOENT') return new HostError('cannot read the journald log: journalctl is not installed (Debian: apt-get install systemd)');
  const why = stderr.trim().split('\n').filter(Boolean).pop() ?? `journalctl exited with ${code}`;
  if (/insufficient permissions|permission denied/i.test(stderr)) {
    return new HostError(`cannot read the journal (${why}): add yourself to the group systemd-journal (or adm), e.g. sudo usermod -aG systemd-journal $USER, and log in again`);
  }
  return new HostError(`cannot read the journal: ${why}`);
}

function runJournalctl(containerId: string, query: JournalQuery, journalctl: string): JournalEntry[] {
  const r = spawnSync(journalctl, journalctlArgs(containerId, query), { encoding: 'utf8', maxBuffer: 1 << 30 });
  if (r.error || r.status !== 0) throw journalReadError(r.status, r.stderr ?? '', r.error as NodeJS.ErrnoException | undefined);
  return parseJournalJson(r.stdout);
}

/**
 * A container's entries in the journal, read once; cursor: the last entry's. With tailLines
 * (--tail without --since/--until) only the last tailLines + 1 entries are read when none of
 * them is a piece of a line: then they hold the last lines whole. Otherwise all are read.
 */
export function readJournal(containerId: string, opts: { afterCursor?: string; tailLines?: number } = {}, journalctl = 'journalctl'): { entries: JournalEntry[]; cursor?: string } {
  let entries: JournalEntry[] | undefined;
  if (opts.tailLines !== undefined && !opts.afterCursor) {
    const last = runJournalctl(containerId, { lines: opts.tailLines + 1 }, journalctl);
    if (!last.some((e) => e.CONTAINER_PARTIAL_MESSAGE === 'true')) entries = last;
  }
  entries ??= runJournalctl(containerId, { afterCursor: opts.afterCursor }, journalctl);
  return { entries, cursor: entries.length ? entries[entries.length - 1].__CURSOR : opts.afterCursor };
}

/** `journalctl --follow` from afterCursor (or the start), entries handed to onEntries as they come. */
export class JournalFollower {
  private child: ChildProcess;
  private partial = '';
  private stderr = '';
  cursor?: string;
  readonly done: Promise<void>;

  constructor(containerId: string, afterCursor: string | undefined, onEntries: (entries: JournalEntry[]) => void, journalctl = 'journalctl') {
    this.cursor = afterCursor;
    this.child = spawn(journalctl, journalctlArgs(containerId, { follow: true, afterCursor }), { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (chunk: string) => {
      const text = this.partial + chunk;
      const end = text.lastIndexOf('\n') + 1;
      this.partial = text.slice(end);
      const entries = parseJournalJson(text.slice(0, end));
      if (entries.length) {
        this.cursor = entries[entries.length - 1].__CURSOR ?? this.cursor;
        onEntries(entries);
      }
    });
    this.child.stderr!.on('data', (chunk: Buffer) => (this.stderr += chunk.toString()));
    this.done = new Promise((resolve, reject) => {
      this.child.on('error', (err) => reject(journalReadError(null, '', err)));
      this.child.on('close', (code, signal) => (signal || code === 0 ? resolve() : reject(journalReadError(code, this.stderr))));
    });
  }

  /** Stops following; what it already printed was handed over. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.done.catch(() => undefined);
  }
}
