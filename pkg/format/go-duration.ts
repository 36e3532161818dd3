// Go's time.ParseDuration, which Docker and Podman use for every duration they take (health
// check times, `until=` filters, HEALTHCHECK flags): one parser, each caller keeps its own unit
// and its own error message.

const UNIT_NS: Record<string, number> = { ns: 1, us: 1e3, 'µs': 1e3, 'μs': 1e3, ms: 1e6, s: 1e9, m: 60e9, h: 3600e9 };
const DURATION = /^([-+]?)((?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|μs|ms|s|m|h))+)$/;
const PART = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/g;

/** Nanoseconds in a Go duration (`30s`, `1m30s`, `1.5h`, `-2m`, `0`), or undefined when it is not one. */
export function goDurationNs(text: string): number | undefined {
  if (text === '0') return 0;
  const m = DURATION.exec(text);
  if (!m) return undefined;
  let total = 0;
  for (const part of m[2].matchAll(PART)) total += Number(part[1]) * UNIT_NS[part[2]];
  return Math.round(m[1] === '-' ? -total : total);
}
