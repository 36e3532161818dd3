// Reading a container's log (the monitor writes k8s-file or json-file lines) for `logs`:
// --tail, --since/--until, -t, and -f following until the container exits.
import * as fs from 'node:fs';

export interface LogLine {
  time: string;
  stream: 'stdout' | 'stderr';
  /** the text, with its newline unless the line was partial */
  text: string;
}

/** `2024-01-02T03:04:05.123456789Z stdout F text` (P: partial, no newline follows). */
export function parseK8sLine(line: string): LogLine | undefined {
  const m = /^(\S+) (stdout|stderr) ([FP]) ?(.*)$/.exec(line);
  if (!m) return undefined;
  return { time: m[1], stream: m[2] as LogLine['stream'], text: m[3] === 'P' ? m[4] : `${m[4]}\n` };
}

export function parseJsonLine(line: string): LogLine | undefined {
  try {
    const o = JSON.parse(line) as { log: string; stream: LogLine['stream']; time: string };
    return { time: o.time, stream: o.stream, text: o.log };
  } catch {
    return undefined;
  }
}

export interface LogFilter {
  tail?: number;
  since?: number;
  until?: number;
}

export function parseLog(text: string, format: 'k8s-file' | 'json-file'): LogLine[] {
  const parse = format === 'json-file' ? parseJsonLine : parseK8sLine;
  const out: LogLine[] = [];
  for (const line of text.split('\n')) {
    if (!line) continue;
    const l = parse(line);
    if (l) out.push(l);
  }
  return out;
}

/** Nanosecond timestamps compare as Date only to the millisecond: enough for --since/--until. */
export function filterLog(lines: LogLine[], f: LogFilter): LogLine[] {
  let out = lines.filter((l) => {
    const t = Date.parse(l.time);
    return (f.since === undefined || t >= f.since) && (f.until === undefined || t <= f.until);
  });
  if (f.tail !== undefined && f.tail >= 0) {
    // --tail counts whole lines: a partial line belongs to the line it completes.
    let complete = 0;
    let i = out.length;
    while (i > 0) {
      const ends = out[i - 1].text.endsWith('\n');
      if (ends) {
        if (complete === f.tail) break;
        complete++;
      }
      i--;
    }
    out = out.slice(i);
  }
  return out;
}

/** The rotated files first (oldest, highest number), then the live one. */
export function readLogFiles(logPath: string): string {
  const parts: string[] = [];
  for (let n = 9; n >= 1; n--) {
    try {
      parts.push(fs.readFileSync(`${logPath}.${n}`, 'utf8'));
    } catch {
      /* no such rotation */
    }
  }
  try {
    parts.push(fs.readFileSync(logPath, 'utf8'));
  } catch {
    /* nothing logged yet */
  }
  return parts.join('');
}

/** Docker's --since/--until values: RFC 3339 times, Unix seconds, or durations like 10m. */
export function parseLogTime(value: string, now = Date.now()): number | undefined {
  const dur = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value);
  if (dur) {
    const mult: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
    return now - Number(dur[1]) * mult[dur[2]];
  }
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : t;
}
