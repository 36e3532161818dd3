// --network pasta: passt's pasta connects the container's namespace to the host with a copy of
// the host's addresses and routes, and publishes ports itself (-t/-u), keeping the client's
// source address visible inside (slirp4netns cannot). It daemonizes once set up; its pid file
// tells cleanup what to end.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { HostError } from '../errors';
import { findExecutable } from '../host/executables';
import { HelperProcess } from './helper-process';
import { PortMapping, PublishedPort } from './port-mappings';
import { PortInUseError } from './port-forwarder';
import { freePort } from './free-port';

export interface HostRoute {
  iface: string;
  gateway: string;
  address: string;
  prefixLen: number;
}

/** The host's default route (/proc/net/route): what pasta copies into the namespace. */
export function defaultRoute(routeText = readOr('/proc/net/route')): HostRoute | undefined {
  for (const line of routeText.split('\n').slice(1)) {
    const [iface, dest, gw] = line.trim().split(/\s+/);
    if (dest !== '00000000' || !gw) continue;
    const n = parseInt(gw, 16);
    const gateway = [n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, (n >>> 24) & 0xff].join('.');
    const addr = (os.networkInterfaces()[iface] ?? []).find((a) => a.family === 'IPv4');
    const prefixLen = addr?.cidr ? Number(addr.cidr.split('/')[1]) : 0;
    return { iface, gateway, address: addr?.address ?? '', prefixLen };
  }
  return undefined;
}

function readOr(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** -t/-u SPEC for one port: [ADDR/]HOSTPORT:CONTAINERPORT. */
async function portArgs(mappings: PortMapping[]): Promise<{ args: string[]; ports: PublishedPort[] }> {
  const args: string[] = [];
  const ports: PublishedPort[] = [];
  for (const m of mappings) {
    if (m.protocol === 'sctp') throw new HostError(`cannot publish ${m.containerPort}/sctp with pasta`);
    for (let i = 0; i < m.count; i++) {
      const hostPort = m.hostPort === 0 ? await freePort(m.protocol, m.hostIp) : m.hostPort + i;
      args.push(m.protocol === 'udp' ? '-u' : '-t', `${m.hostIp ? `${m.hostIp}/` : ''}${hostPort}:${m.containerPort + i}`);
      ports.push({ protocol: m.protocol, hostIp: m.hostIp, hostPort, containerPort: m.containerPort + i });
    }
  }
  return { args, ports };
}

/**
 * pasta joins the namespace through a file (`netnsFile`, a bind mount of it): it cannot open
 * /proc/PID/ns/net of a container that runc has not started yet (the process is not dumpable and
 * pasta drops CAP_SYS_PTRACE). Podman does the same; teardown unmounts it. Its pid file sits
 * beside that file, one per container.
 */
export async function startPasta(netnsFile: string, userArgs: string[], mappings: PortMapping[]): Promise<{ helper: HelperProcess; ports: PublishedPort[] }> {
  const bin = findExecutable('pasta');
  if (!bin) throw new HostError('pasta is not installed: install it (apt install passt) or use --network slirp4netns');
  const { args: portSpec, ports } = await portArgs(mappings);
  const pidFile = `${netnsFile}.pasta.pid`;
  fs.rmSync(pidFile, { force: true });
  const tcp = portSpec.length ? [] : ['-t', 'none'];
  const udp = portSpec.includes('-u') ? [] : ['-u', 'none'];
  const args = ['--config-net', '--quiet', ...tcp, ...udp, '-T', 'none', '-U', 'none', ...portSpec, ...userArgs, '--pid', pidFile, '--netns', netnsFile];
  await new Promise<void>((resolve, reject) => {
    execFile(bin, args, { timeout: 10_000 }, (err, _stdout, stderr) => {
      if (!err) return resolve();
      const msg = stderr.split('\n').filter((l) => l && !/Failed to send/.test(l)).pop() ?? err.message;
      if (/in use/i.test(msg)) reject(new PortInUseError(`cannot publish ports with pasta: ${msg}`));
      else reject(new HostError(`pasta failed: ${msg}`));
    });
  });
  const helperPid = Number(readOr(pidFile).trim());
  fs.rmSync(pidFile, { force: true });
  if (!helperPid) throw new HostError(`pasta did not write its pid to ${pidFile}`);
  // pasta may re-exec itself as passt.avx2: the name to check at teardown is what runs now.
  const comm = readOr(`/proc/${helperPid}/comm`).trim() || 'pasta';
  return { helper: { pid: helperPid, comm }, ports };
}
