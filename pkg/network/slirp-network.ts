// Rootless outbound networking for one container: slirp4netns attached to the container's
// network namespace (by its init pid), answering as .2 (the host) and .3 (DNS) of its network
// (10.0.2.0/24 unless cidr= says otherwise); the container is .100. It must outlive this CLI
// process, so it runs detached; cleanup ends it by pid. With port_handler=slirp4netns ports
// are published through its API socket (add_hostfwd); otherwise tspod-portfwd does it.
import * as fs from 'node:fs';
import * as net from 'node:net';
import { HostError } from '../errors';
import { findExecutable } from '../host/executables';
import { HelperProcess, startHelper } from './helper-process';
import { SlirpModeOptions } from './network-mode';
import { PortMapping, PublishedPort } from './port-mappings';
import { PortInUseError } from './port-forwarder';
import { freePort } from './free-port';

export interface SlirpAddresses {
  guest: string;
  gateway: string;
  dns: string;
  prefixLen: number;
  /** with enable_ipv6: the guest configures itself from slirp's router advertisement */
  guest6?: string;
  gateway6?: string;
}

/** The address SLAAC derives from a MAC in a /64 (EUI-64: ff:fe in the middle, U/L bit flipped). */
export function slaacAddress(prefix: string, mac: string): string {
  const b = mac.split(':').map((h) => parseInt(h, 16));
  const words = [((b[0] ^ 0x02) << 8) | b[1], (b[2] << 8) | 0xff, (0xfe << 8) | b[3], (b[4] << 8) | b[5]];
  return `${prefix}${words.map((w) => w.toString(16)).join(':')}`;
}

/**
 * The addresses slirp4netns gives a network: .100 for the guest, .2 the host, .3 DNS; with
 * IPv6 the guest's address comes from its MAC in fd00::/64 and the host is fd00::2.
 */
export function slirpAddresses(opts: Pick<SlirpModeOptions, 'cidr' | 'enableIpv6'>, mac?: string): SlirpAddresses {
  const [base, bits] = (opts.cidr ?? '10.0.2.0/24').split('/');
  const octets = base.split('.').map(Number);
  const at = (n: number): string => [...octets.slice(0, 3), (octets[3] & 0xff) + n].join('.');
  return {
    guest: at(100),
    gateway: at(2),
    dns: at(3),
    prefixLen: Number(bits),
    ...(opts.enableIpv6 && mac ? { guest6: slaacAddress('fd00::', mac), gateway6: 'fd00::2' } : {}),
  };
}

export interface StartedSlirp {
  helper: HelperProcess;
  apiSocket?: string;
}

/**
 * Starts slirp4netns for the namespace of `target` (a pid, or a namespace file such as the
 * shared namespace of user-defined networks) and waits until it has configured tap0.
 */
export async function startSlirp(target: number | { netnsPath: string }, opts: SlirpModeOptions, extra: { apiSocket?: string; macAddress?: string } = {}): Promise<StartedSlirp> {
  const bin = findExecutable('slirp4netns');
  if (!bin) throw new HostError('slirp4netns is not installed: install it (apt install slirp4netns) or run with --network none');
  const args = ['--configure', `--mtu=${opts.mtu ?? 65520}`, '--ready-fd=3', '--enable-sandbox', '--enable-seccomp'];
  if (!opts.allowHostLoopback) args.push('--disable-host-loopback');
  if (opts.enableIpv6) args.push('--enable-ipv6');
  if (opts.cidr) args.push(`--cidr=${opts.cidr}`);
  if (opts.outboundAddr) args.push(`--outbound-addr=${opts.outboundAddr}`);
  if (opts.outboundAddr6) args.push(`--outbound-addr6=${opts.outboundAddr6}`);
  if (extra.macAddress) args.push(`--macaddress=${extra.macAddress}`);
  if (extra.apiSocket) {
    fs.rmSync(extra.apiSocket, { force: true });
    args.push(`--api-socket=${extra.apiSocket}`);
  }
  if (typeof target === 'number') args.push(String(target), 'tap0');
  else args.push('--netns-type=path', target.netnsPath, 'tap0');
  const started = await startHelper(bin, args, 'slirp4netns');
  return { helper: { pid: started.pid, comm: started.comm }, apiSocket: extra.apiSocket };
}

function apiRequest(socket: string, request: object): Promise<{ return?: { id?: number }; error?: { desc?: string } }> {
  return new Promise((resolve, reject) => {
    const conn = net.connect(socket);
    let data = '';
    conn.on('connect', () => conn.end(JSON.stringify(request)));
    conn.on('data', (d) => (data += d.toString()));
    conn.on('error', (err) => reject(new HostError(`slirp4netns API ${socket}: ${err.message}`)));
    conn.on('close', () => {
      try {
        resolve(JSON.parse(data));
      } catch {
        reject(new HostError(`slirp4netns API ${socket}: unexpected answer "${data.trim()}"`));
      }
    });
  });
}

/** port_handler=slirp4netns: one add_hostfwd per port (slirp binds IPv4 only). */
export async function slirpPublish(apiSocket: string, guest: string, mappings: PortMapping[]): Promise<PublishedPort[]> {
  const out: PublishedPort[] = [];
  for (const m of mappings) {
    if (m.protocol === 'sctp') throw new HostError(`cannot publish ${m.containerPort}/sctp with slirp4netns`);
    for (let i = 0; i < m.count; i++) {
      const hostIp = m.hostIp === '' || m.hostIp === '::' ? '' : m.hostIp;
      const hostPort = m.hostPort === 0 ? await freePort(m.protocol, hostIp) : m.hostPort + i;
      const answer = await apiRequest(apiSocket, {
        execute: 'add_hostfwd',
        arguments: { proto: m.protocol, host_addr: hostIp || '0.0.0.0', host_port: hostPort, guest_addr: guest, guest_port: m.containerPort + i },
      });
      if (answer.error) {
        const desc = answer.error.desc ?? 'failed';
        const where = `${hostIp || '0.0.0.0'}:${hostPort}/${m.protocol}`;
        if (/in use|bind/i.test(desc)) throw new PortInUseError(`cannot publish ${where}: the port is already in use: publish another host port (-p HOSTPORT:PORT)`);
        throw new HostError(`cannot publish ${where} through slirp4netns: ${desc}`);
      }
      out.push({ protocol: m.protocol, hostIp, hostPort, containerPort: m.containerPort + i });
    }
  }
  return out;
}
