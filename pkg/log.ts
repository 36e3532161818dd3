// Leveled logging to stderr in Podman's style (`WARN[0000] message`), where the number is
// the seconds since the command started. The level comes from --log-level.

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'panic';

const ORDER: Record<LogLevel, number> = { trace: 0, debug: 1, info: 2, warn: 3, error: 4, fatal: 5, panic: 6 };
export const LOG_LEVELS = Object.keys(ORDER) as LogLevel[];

let threshold: number = ORDER.warn;

export function setLogLevel(level: LogLevel): void {
  threshold = ORDER[level];
}

export function isLogLevel(value: string): value is LogLevel {
  return Object.prototype.hasOwnProperty.call(ORDER, value);
}

export function logEnabled(level: LogLevel): boolean {
  return ORDER[level] >= threshold;
}

function emit(level: LogLevel, message: string): void {
  if (!logEnabled(level)) return;
  // process.uptime, not a time taken at module load: the start-up snapshot loads modules at build time.
  const secs = String(Math.floor(process.uptime())).padStart(4, '0');
  process.stderr.write(`${level.toUpperCase().slice(0, 4)}[${secs}] ${message}\n`);
}

export const log = {
  trace: (m: string) => emit('trace', m),
  debug: (m: string) => emit('debug', m),
  info: (m: string) => emit('info', m),
  warn: (m: string) => emit('warn', m),
  error: (m: string) => emit('error', m),
};
