// The container's /etc/hosts, /etc/hostname and /etc/resolv.conf, written per container and
// bind-mounted over the image's, as Docker and Podman do.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface EtcFilesInput {
  hostname: string;
  /** the container's name, listed with the hostname */
  name?: string;
  /** the container's address, when it has one */
  ip?: string;
  /** its IPv6 address besides, on a dual-stack network */
  ip6?: string;
  /** what host.containers.internal (and --add-host NAME:host-gateway) points at */
  hostIp?: string;
  /** the network's resolvers, put before the host's (slirp4netns's 10.0.2.3) */
  nameservers?: string[];
  /** --dns: replaces every other nameserver; default: the host's, loopback ones dropped */
  dns?: string[];
  dnsSearch?: string[];
  dnsOptions?: string[];
  /** --add-host NAME:IP (NAME=IP too), listed first so they win */
  extraHosts?: string[];
  /** --network host: the host's own files are used */
  hostNetwork: boolean;
}

/** --add-host NAME:IP or NAME=IP (the name never holds ':', an IPv6 address does). */
export function splitHostEntry(entry: string): { names: string; ip: string } | undefined {
  const i = entry.search(/[:=]/);
  if (i <= 0 || i === entry.length - 1) return undefined;
  return { names: entry.slice(0, i).replace(/;/g, ' '), ip: entry.slice(i + 1).replace(/^\[(.*)\]$/, '$1') };
}

export function hostsFile(input: EtcFilesInput): string {
  const lines = ['127.0.0.1\tlocalhost localhost.localdomain localhost4 localhost4.localdomain4', '::1\tlocalhost localhost.localdomain localhost6 localhost6.localdomain6'];
  for (const entry of input.extraHosts ?? []) {
    const parsed = splitHostEntry(entry);
    if (!parsed) continue;
    const ip = parsed.ip === 'host-gateway' ? input.hostIp : parsed.ip;
    if (ip) lines.push(`${ip}\t${parsed.names}`);
  }
  const own = [...new Set([input.hostname, ...(input.name ? [input.name] : [])])].join(' ');
  lines.push(`${input.ip ?? '127.0.1.1'}\t${own}`);
  if (input.ip6 && input.ip6 !== input.ip) lines.push(`${input.ip6}\t${own}`);
  if (input.hostIp) lines.push(`${input.hostIp}\thost.containers.internal host.docker.internal`);
  return lines.join('\n') + '\n';
}

function readHostResolvConf(): string {
  try {
    return fs.readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    return '';
  }
}

/** The host's resolv.conf with loopback resolvers replaced (they mean nothing inside a netns). */
export function resolvConf(input: EtcFilesInput, hostText = readHostResolvConf()): string {
  const hostServers: string[] = [];
  const hostSearch: string[] = [];
  const hostOptions: string[] = [];
  for (const line of hostText.split('\n')) {
    const [key, ...rest] = line.trim().split(/\s+/);
    if (key === 'nameserver' && rest[0]) hostServers.push(rest[0]);
    else if (key === 'search' || key === 'domain') hostSearch.push(...rest);
    else if (key === 'options') hostOptions.push(...rest);
  }
  let servers = input.dns?.length ? input.dns : hostServers;
  if (!input.hostNetwork) servers = servers.filter((s) => !s.startsWith('127.') && s !== '::1');
  if (!input.hostNetwork && !input.dns?.length) servers = [...new Set([...(input.nameservers ?? []), ...servers])];
  const search = input.dnsSearch?.length ? input.dnsSearch.filter((s) => s !== '.') : hostSearch;
  const options = input.dnsOptions?.length ? input.dnsOptions : hostOptions;
  const lines: string[] = [];
  if (search.length) lines.push(`search ${search.join(' ')}`);
  for (const s of servers) lines.push(`nameserver ${s}`);
  if (options.length) lines.push(`options ${options.join(' ')}`);
  return lines.join('\n') + '\n';
}

export function writeEtcFiles(dir: string, input: EtcFilesInput): { hosts: string; hostname: string; resolvConf: string } {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = { hosts: path.join(dir, 'hosts'), hostname: path.join(dir, 'hostname'), resolvConf: path.join(dir, 'resolv.conf') };
  fs.writeFileSync(files.hosts, hostsFile(input), { mode: 0o644 });
  fs.writeFileSync(files.hostname, `${input.hostname}\n`, { mode: 0o644 });
  fs.writeFileSync(files.resolvConf, resolvConf(input), { mode: 0o644 });
  return files;
}
