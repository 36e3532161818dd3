// Sizes and durations the way Docker and Podman print them (docker/go-units), so columns
// look the same: `5.83MB` / `5.83 MB`, `3 months ago`, `Up 2 minutes`.

const DECIMAL_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB', 'ZB', 'YB'];

/** go-units HumanSizeWithPrecision(size, 3); `sep` is '' for Docker and ' ' for Podman. */
export function humanSize(bytes: number, sep = ' '): string {
  let size = bytes;
  let i = 0;
  while (size >= 1000 && i < DECIMAL_UNITS.length - 1) {
    size /= 1000;
    i++;
  }
  return `${formatG(size, 3)}${sep}${DECIMAL_UNITS[i]}`;
}

const BINARY_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB', 'ZiB', 'YiB'];

/** go-units BytesSize: `1.672MiB` (4 significant digits, powers of 1024), as `docker stats` shows memory. */
export function binarySize(bytes: number): string {
  let size = bytes;
  let i = 0;
  while (size >= 1024 && i < BINARY_UNITS.length - 1) {
    size /= 1024;
    i++;
  }
  return `${formatG(size, 4)}${BINARY_UNITS[i]}`;
}

/** Go's %.*g: `prec` significant digits, trailing zeros dropped. */
function formatG(value: number, prec: number): string {
  if (value === 0) return '0';
  const s = value.toPrecision(prec);
  if (s.includes('e')) return String(Number(s));
  return s.includes('.') ? s.replace(/\.?0+$/, '') : s;
}

/** go-units HumanDuration: "Less than a second", "About a minute", "3 months", ... */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(ms / 60000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3600000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(hours / 24 / 365)} years`;
}

export function timeAgo(epochMs: number, now = Date.now()): string {
  return `${humanDuration(Math.max(0, now - epochMs))} ago`;
}

/** Parses `10m`, `1.5g`, `512k`, `100` (bytes) as Docker's --memory / --log-opt max-size do. */
export function parseByteSize(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?$/i.exec(text.trim());
  if (!m) return undefined;
  const mult: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };
  return Math.round(Number(m[1]) * mult[m[2].toLowerCase()]);
}
