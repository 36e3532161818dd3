// Publishing ports into a network namespace with tspod-portfwd (native/port-forwarder.c): it
// binds the host ports, joins the namespace and relays each connection to TARGET:port there.
// Reusable by every mode whose namespace has an address to connect to: slirp4netns (the
// container's own namespace) and user-defined networks (the shared namespace, targetIp the
// container's address on the bridge). The client's source address is not kept: inside, the
// connection comes from the forwarder (see README, "Published ports").
import * as net from 'node:net';
import * as dgram from 'node:dgram';
import { ConflictError, HostError, InvalidArgumentError } from '../errors';
import { nativeBinary } from '../package-root';
import { HelperProcess, startHelper } from './helper-process';
import { PortMapping, PublishedPort, hostAddressText } from './port-mappings';
import { runOnHelperServer } from '../storage/helper-server';

/** A port the host already uses: `run` removes the container it created when it sees this. */
export class PortInUseError extends ConflictError {}

export function forwarderBinary(): string {
  return nativeBinary('tspod-portfwd');
}

export interface ForwardRequest {
  /** the namespace to relay into; omitted: the forwarder's own (tests) */
  netnsPath?: string;
  /** the forwarder exits when this process ends (the container's init); 'later': its pid is
   * handed over with watch() once it exists */
  watchPid?: number | 'later';
  /** where connections go inside the namespace */
  targetIp: string;
  mappings: PortMapping[];
}

/** One forwarder entry per port: PROTO,HOSTIP,HOSTPORT,HOSTPORTMAX,TARGETIP,TARGETPORT. */
function expand(mappings: PortMapping[]): (PublishedPort & { max?: number })[] {
  const out: (PublishedPort & { max?: number })[] = [];
  for (const m of mappings) {
    if (m.protocol === 'sctp') throw new InvalidArgumentError(`cannot publish ${m.containerPort}/sctp: tspod publishes tcp and udp ports`);
    for (let i = 0; i < m.count; i++) {
      out.push({ protocol: m.protocol, hostIp: m.hostIp, hostPort: m.hostPort === 0 ? 0 : m.hostPort + i, containerPort: m.containerPort + i, max: m.count === 1 ? m.hostPortMax : undefined });
    }
  }
  return out;
}

function bindErrorText(line: string): Error {
  const text = line.replace(/^error /, '').trim();
  if (/Address already in use/.test(text)) return new PortInUseError(`${text.replace(/: Address already in use$/, '').replace(/^cannot bind/, 'cannot publish')}: the port is already in use: publish another host port (-p HOSTPORT:PORT)`);
  if (/Permission denied/.test(text)) {
    return new HostError(`${text}: rootless tspod can publish ports from 1024 up (or lower sysctl net.ipv4.ip_unprivileged_port_start)`);
  }
  return new HostError(`publishing ports: ${text}`);
}

export interface StartedForwarder {
  helper: HelperProcess;
  ports: PublishedPort[];
  /** with watchPid 'later': hands the pid over; without one the forwarder exits (the start
   * failed). Must be called once either way, else the pipe keeps this process alive. */
  watch?: (pid?: number) => void;
}

export async function startPortForwarder(req: ForwardRequest): Promise<StartedForwarder> {
  const ports = expand(req.mappings);
  const args = ['--ready-fd', '3'];
  if (req.netnsPath) args.push('--netns', req.netnsPath);
  if (req.watchPid) args.push('--watch-pid', req.watchPid === 'later' ? '-' : String(req.watchPid));
  for (const p of ports) args.push([p.protocol, p.hostIp, p.hostPort, p.max ?? 0, req.targetIp, p.containerPort].join(','));
  let started;
  try {
    started = await startHelper(forwarderBinary(), args, 'the port forwarder', { keepStdin: req.watchPid === 'later' });
  } catch (err) {
    throw err instanceof HostError && /before it was ready/.test(err.message) ? new HostError(`publishing ports: ${err.message}`) : err;
  }
  const endStdin = started.endStdin;
  if (!started.ready.startsWith('ok')) {
    endStdin?.();
    throw bindErrorText(started.ready);
  }
  const bound = started.ready.trim().split(/\s+/).slice(1).map(Number);
  return {
    helper: { pid: started.pid, comm: started.comm },
    ports: ports.map((p, i) => ({ protocol: p.protocol, hostIp: p.hostIp, hostPort: bound[i], containerPort: p.containerPort })),
    watch: endStdin ? (pid?: number) => endStdin(pid ? `${pid}\n` : undefined) : undefined,
  };
}

const takenText = (p: PublishedPort): string => `${hostAddressText(p.hostIp)}:${p.hostPort}/${p.protocol}`;

/** The taken ones, as the launcher's helper server finds them (its `port-check` binds in C: no
 * Node listen machinery to load); undefined without a server. */
async function takenByHelperServer(ports: PublishedPort[]): Promise<string[] | undefined> {
  const served = await runOnHelperServer(['port-check', ...ports.flatMap((p) => [p.protocol, p.hostIp, String(p.hostPort)])]).catch(() => undefined);
  if (!served || served.code !== 0) return undefined;
  return served.stdout.split('\n').filter((line) => line !== '').map((i) => takenText(ports[Number(i)]));
}

function tryBind(p: PublishedPort): Promise<string | undefined> {
  const host = p.hostIp === '' ? '::' : p.hostIp;
  return new Promise((resolve) => {
    const fail = (err: NodeJS.ErrnoException) => resolve(err.code === 'EADDRINUSE' ? takenText(p) : undefined);
    if (p.protocol === 'udp') {
      const sock = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', ipv6Only: false });
      sock.once('error', fail);
      sock.bind(p.hostPort, host, () => sock.close(() => resolve(undefined)));
      return;
    }
    const server = net.createServer();
    server.once('error', fail);
    server.listen({ port: p.hostPort, host, ipv6Only: false, exclusive: true }, () => server.close(() => resolve(undefined)));
  });
}

/**
 * Fails when a fixed host port is taken, before anything is created (`run`). The forwarder
 * checks again when it binds: a port taken in between fails the start, which `run` rolls back.
 */
export async function checkPortsAvailable(mappings: PortMapping[]): Promise<void> {
  const fixed = expand(mappings).filter((p) => p.hostPort !== 0 && !p.max && p.protocol !== 'sctp');
  if (fixed.length === 0) return;
  const taken = (await takenByHelperServer(fixed)) ?? (await Promise.all(fixed.map(tryBind))).filter((t): t is string => t !== undefined);
  if (taken.length) throw new PortInUseError(`cannot publish ${taken[0]}: the port is already in use: publish another host port (-p HOSTPORT:PORT)`);
}
