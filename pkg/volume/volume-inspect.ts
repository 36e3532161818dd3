// What `volume inspect` and `volume ls` show: Podman's volume document and list row, and the
// ls filters (name=, label=, dangling=, driver=).
import { InvalidArgumentError } from '../errors';
import { VolumeRecord } from './volume-store';

export interface VolumeDocument {
  Name: string;
  Driver: string;
  Mountpoint: string;
  CreatedAt: string;
  Labels: Record<string, string>;
  Scope: 'local';
  Options: Record<string, string>;
  Anonymous: boolean;
  MountCount: number;
  NeedsCopyUp: boolean;
}

/** Go's RFC 3339 with the local offset, as Podman prints CreatedAt. */
export function localRfc3339(ms: number): string {
  const d = new Date(ms);
  const off = -d.getTimezoneOffset();
  const pad = (n: number, w = 2): string => String(Math.abs(n)).padStart(w, '0');
  const zone = off === 0 ? 'Z' : `${off > 0 ? '+' : '-'}${pad(Math.trunc(off / 60))}:${pad(off % 60)}`;
  const frac = d.getMilliseconds() ? `.${pad(d.getMilliseconds(), 3).replace(/0+$/, '')}` : '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}${frac}${zone}`;
}

export function volumeDocument(v: VolumeRecord, mountCount: number, needsCopyUp: boolean): VolumeDocument {
  const doc: VolumeDocument = {
    Name: v.name,
    Driver: v.driver,
    Mountpoint: v.mountpoint,
    CreatedAt: localRfc3339(v.created),
    Labels: v.labels,
    Scope: 'local',
    Options: v.options,
    Anonymous: v.anonymous,
    MountCount: mountCount,
    NeedsCopyUp: needsCopyUp,
  };
  return doc;
}

export const VOLUME_FILTER_KEYS = ['name', 'label', 'label!', 'dangling', 'driver', 'opt', 'until', 'anonymous'];

export type VolumeFilters = Map<string, string[]>;

export function parseVolumeFilters(filters: readonly string[], keys = VOLUME_FILTER_KEYS): VolumeFilters {
  const out: VolumeFilters = new Map();
  for (const f of filters) {
    const eq = f.indexOf('=');
    const key = eq < 0 ? f : f.slice(0, eq);
    if (eq < 0 || !keys.includes(key)) throw new InvalidArgumentError(`invalid filter "${f}": use one of ${keys.join(', ')} as KEY=VALUE`);
    out.set(key, [...(out.get(key) ?? []), f.slice(eq + 1)]);
  }
  return out;
}

export function labelMatches(labels: Record<string, string>, want: string): boolean {
  const eq = want.indexOf('=');
  if (eq < 0) return want in labels;
  return labels[want.slice(0, eq)] === want.slice(eq + 1);
}

export function untilMs(value: string, now: number): number {
  const dur = /^(\d+(?:\.\d+)?)(s|m|h)$/.exec(value);
  if (dur) return now - Number(dur[1]) * { s: 1000, m: 60000, h: 3600000 }[dur[2] as 's' | 'm' | 'h'];
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const t = Date.parse(value);
  if (Number.isNaN(t)) throw new InvalidArgumentError(`invalid until filter "${value}"`);
  return t;
}

/** Values of one key are ORed, keys are ANDed (label: every one must match, as Docker). */
export function matchesVolume(v: VolumeRecord, filters: VolumeFilters, inUse: Set<string>, now = Date.now()): boolean {
  for (const [key, values] of filters) {
    const ok = (() => {
      switch (key) {
        case 'name':
          return values.some((n) => v.name.includes(n) || (() => { try { return new RegExp(n).test(v.name); } catch { return false; } })());
        case 'label':
          return values.every((l) => labelMatches(v.labels, l));
        case 'label!':
          return values.every((l) => !labelMatches(v.labels, l));
        case 'dangling':
          return values.some((d) => (d === 'true' || d === '1') === !inUse.has(v.name));
        case 'driver':
          return values.includes(v.driver);
        case 'opt':
          return values.some((o) => {
            const eq = o.indexOf('=');
            return eq < 0 ? o in v.options : v.options[o.slice(0, eq)] === o.slice(eq + 1);
          });
        case 'until':
          return values.every((u) => v.created < untilMs(u, now));
        case 'anonymous':
          return values.some((a) => (a === 'true' || a === '1') === v.anonymous);
        default:
          return true;
      }
    })();
    if (!ok) return false;
  }
  return true;
}
