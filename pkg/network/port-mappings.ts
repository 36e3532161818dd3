// Published ports as data: parsing `-p`/`--expose`, expanding ranges, and the texts `port`,
// `ps` and `inspect` show. Pure functions; binding happens in port-forwarder.ts.
import { InvalidArgumentError } from '../errors';

export type PortProtocol = 'tcp' | 'udp' | 'sctp';

/** One -p as asked: consecutive ports from hostPort/containerPort, `count` of them. */
export interface PortMapping {
  protocol: PortProtocol;
  /** '' means every address of the host (IPv4 and IPv6) */
  hostIp: string;
  /** 0: a random free port at each start */
  hostPort: number;
  /** -p 8000-8010:80: any free port of hostPort..hostPortMax */
  hostPortMax?: number;
  containerPort: number;
  count: number;
}

/** One port as it was bound at start. */
export interface PublishedPort {
  protocol: PortProtocol;
  hostIp: string;
  hostPort: number;
  containerPort: number;
}

function portNumber(text: string, what: string, spec: string, allowZero = false): number {
  const n = Number(text);
  if (!/^\d{1,5}$/.test(text) || n > 65535 || (n === 0 && !allowZero)) throw new InvalidArgumentError(`invalid ${what} "${text}" in -p ${spec}: use a number from 1 to 65535`);
  return n;
}

function portRange(text: string, what: string, spec: string): [number, number] {
  const dash = text.indexOf('-');
  if (dash < 0) {
    const p = portNumber(text, what, spec);
    return [p, p];
  }
  const lo = portNumber(text.slice(0, dash), what, spec);
  const hi = portNumber(text.slice(dash + 1), what, spec);
  if (hi < lo) throw new InvalidArgumentError(`invalid ${what} range "${text}" in -p ${spec}: the end is below the start`);
  return [lo, hi];
}

function protocols(text: string | undefined, spec: string): PortProtocol[] {
  if (text === undefined) return ['tcp'];
  const out: PortProtocol[] = [];
  for (const p of text.split(',')) {
    if (p !== 'tcp' && p !== 'udp' && p !== 'sctp') throw new InvalidArgumentError(`invalid protocol "${p}" in -p ${spec}: use tcp, udp or sctp`);
    out.push(p);
  }
  return out;
}

function checkHostIp(ip: string, spec: string): string {
  const bare = ip.replace(/^\[(.*)\]$/, '$1');
  const v4 = /^\d{1,3}(\.\d{1,3}){3}$/.test(bare) && bare.split('.').every((o) => Number(o) <= 255);
  const v6 = bare.includes(':') && /^[0-9a-fA-F:.]+$/.test(bare);
  if (!v4 && !v6) throw new InvalidArgumentError(`invalid host IP "${ip}" in -p ${spec}: use an IPv4 address or [IPv6]`);
  return bare === '0.0.0.0' || bare === '::' ? (bare === '::' ? '::' : '') : bare;
}

/** -p [hostIP:][hostPort:]containerPort[-end][/tcp|udp|sctp]; one entry per protocol. */
export function parsePublish(spec: string): PortMapping[] {
  const slash = spec.lastIndexOf('/');
  const body = slash < 0 ? spec : spec.slice(0, slash);
  const protos = protocols(slash < 0 ? undefined : spec.slice(slash + 1), spec);
  let hostIp = '';
  let rest = body;
  const bracket = /^\[([^\]]+)\]:(.*)$/.exec(body);
  if (bracket) {
    hostIp = checkHostIp(bracket[1], spec);
    rest = bracket[2];
  } else {
    const parts = body.split(':');
    if (parts.length > 3) {
      // An unbracketed IPv6 address: the last two fields are the ports.
      hostIp = checkHostIp(parts.slice(0, -2).join(':'), spec);
      rest = parts.slice(-2).join(':');
    } else if (parts.length === 3) {
      hostIp = parts[0] === '' ? '' : checkHostIp(parts[0], spec);
      rest = parts.slice(1).join(':');
    }
  }
  const fields = rest.split(':');
  if (fields.length > 2 || fields.some((f, i) => f === '' && i === fields.length - 1)) {
    throw new InvalidArgumentError(`invalid port specification "${spec}": use [hostIP:][hostPort:]containerPort[/protocol]`);
  }
  const [cLo, cHi] = portRange(fields[fields.length - 1], 'container port', spec);
  const count = cHi - cLo + 1;
  let hostPort = 0;
  let hostPortMax: number | undefined;
  if (fields.length === 2 && fields[0] !== '') {
    const [hLo, hHi] = portRange(fields[0], 'host port', spec);
    hostPort = hLo;
    if (hHi - hLo + 1 !== count) {
      if (count !== 1) throw new InvalidArgumentError(`invalid port range in -p ${spec}: the host and container ranges must have the same length`);
      if (hHi !== hLo) hostPortMax = hHi;
    }
  }
  return protos.map((protocol) => ({ protocol, hostIp, hostPort, ...(hostPortMax ? { hostPortMax } : {}), containerPort: cLo, count }));
}

/** --expose PORT[-END][/proto] and the image's ExposedPorts keys, as `PORT/proto` each. */
export function parseExpose(spec: string): string[] {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?(?:\/(tcp|udp|sctp))?$/.exec(spec.trim());
  if (!m) throw new InvalidArgumentError(`invalid --expose "${spec}": use PORT[-END][/tcp|udp|sctp]`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (lo < 1 || hi > 65535 || hi < lo) throw new InvalidArgumentError(`invalid --expose "${spec}": ports go from 1 to 65535`);
  const out: string[] = [];
  for (let p = lo; p <= hi; p++) out.push(`${p}/${m[3] ?? 'tcp'}`);
  return out;
}

/** -P: every exposed port not already published gets a random host port. */
export function publishAllMappings(exposed: string[], published: PortMapping[]): PortMapping[] {
  const taken = new Set<string>();
  for (const m of published) for (let i = 0; i < m.count; i++) taken.add(`${m.containerPort + i}/${m.protocol}`);
  const out: PortMapping[] = [];
  for (const key of exposed) {
    if (taken.has(key)) continue;
    taken.add(key);
    const [port, protocol] = key.split('/');
    out.push({ protocol: (protocol ?? 'tcp') as PortProtocol, hostIp: '', hostPort: 0, containerPort: Number(port), count: 1 });
  }
  return out;
}

/** The host address as Docker prints it: 0.0.0.0 for "all", [v6] bracketed. */
export function hostAddressText(ip: string): string {
  if (ip === '') return '0.0.0.0';
  return ip.includes(':') ? `[${ip}]` : ip;
}

/** `tspod port`: `80/tcp -> 0.0.0.0:8080` lines, or `0.0.0.0:8080` for one asked port. */
export function portLines(ports: PublishedPort[], only?: { port: number; protocol: string }): string[] {
  const sorted = [...ports].sort((a, b) => a.containerPort - b.containerPort || a.protocol.localeCompare(b.protocol));
  if (only) return sorted.filter((p) => p.containerPort === only.port && p.protocol === only.protocol).map((p) => `${hostAddressText(p.hostIp)}:${p.hostPort}`);
  return sorted.map((p) => `${p.containerPort}/${p.protocol} -> ${hostAddressText(p.hostIp)}:${p.hostPort}`);
}

/** ps's PORTS column: `0.0.0.0:8080->80/tcp`, consecutive ports folded into ranges. */
export function portsColumn(ports: PublishedPort[]): string {
  const sorted = [...ports].sort((a, b) => a.hostIp.localeCompare(b.hostIp) || a.protocol.localeCompare(b.protocol) || a.containerPort - b.containerPort);
  const groups: { first: PublishedPort; n: number }[] = [];
  for (const p of sorted) {
    const g = groups[groups.length - 1];
    if (g && g.first.hostIp === p.hostIp && g.first.protocol === p.protocol && p.containerPort === g.first.containerPort + g.n && p.hostPort === g.first.hostPort + g.n) g.n++;
    else groups.push({ first: p, n: 1 });
  }
  return groups
    .map(({ first: p, n }) => {
      const range = (start: number): string => (n === 1 ? `${start}` : `${start}-${start + n - 1}`);
      return `${hostAddressText(p.hostIp)}:${range(p.hostPort)}->${range(p.containerPort)}/${p.protocol}`;
    })
    .join(', ');
}

type Bindings = Record<string, { HostIp: string; HostPort: string }[] | null>;

/** inspect's NetworkSettings.Ports: bound ports, and exposed ones with null. */
export function inspectPorts(ports: PublishedPort[], exposed: string[]): Bindings {
  const out: Bindings = {};
  for (const key of exposed) out[key] = null;
  for (const p of ports) {
    const key = `${p.containerPort}/${p.protocol}`;
    out[key] = [...(out[key] ?? []), { HostIp: p.hostIp === '' ? '0.0.0.0' : p.hostIp, HostPort: String(p.hostPort) }];
  }
  return out;
}

/** inspect's HostConfig.PortBindings: what -p asked for (HostPort "" when random). */
export function inspectPortBindings(mappings: PortMapping[]): Bindings {
  const out: Bindings = {};
  for (const m of mappings) {
    for (let i = 0; i < m.count; i++) {
      const key = `${m.containerPort + i}/${m.protocol}`;
      const hostPort = m.hostPort === 0 ? '' : m.hostPortMax ? `${m.hostPort}-${m.hostPortMax}` : String(m.hostPort + i);
      out[key] = [...(out[key] ?? []), { HostIp: m.hostIp, HostPort: hostPort }];
    }
  }
  return out;
}
