// The resolver of each active network (dns-server.ts): started in the bridges' namespace on the
// network's gateway address when the network's first container starts, fed the names of the
// network's running containers through a records file, ended with the network's last one.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { awaitGone, processAlive } from '../host/processes';
import { Records } from './dns-message';
import { BridgeHost } from './bridge-host';
import { packageRoot } from '../package-root';
import { startHelper } from './helper-process';
import { inNetns } from './netns-exec';

const dnsDir = (host: BridgeHost): string => path.join(host.dir, 'dns');
const recordsFile = (host: BridgeHost, network: string): string => path.join(dnsDir(host), `${network}.json`);
const pidFile = (host: BridgeHost, network: string): string => path.join(dnsDir(host), `${network}.pid`);
// From the package root: inside the start-up snapshot __dirname is the build tree's.
const serverScript = (): string => path.join(packageRoot(), 'dist', 'pkg', 'network', 'dns-server.js');

function resolverPid(host: BridgeHost, network: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(pidFile(host, network), 'utf8').trim());
    // Pids get reused: ours runs node with our script and this network's records file.
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return processAlive(pid) && cmdline.includes(recordsFile(host, network)) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Replaces the records atomically (the resolver may read at any moment). */
export function writeRecords(host: BridgeHost, network: string, records: Records): void {
  fs.mkdirSync(dnsDir(host), { recursive: true, mode: 0o700 });
  const file = recordsFile(host, network);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(records));
  fs.renameSync(`${file}.tmp`, file);
}

/** Starts the network's resolver on `listen` unless it runs; waits until it answers. */
export async function ensureResolver(host: BridgeHost, network: string, listen: string, upstream: string | undefined): Promise<void> {
  if (resolverPid(host, network) !== undefined) return;
  const [file, ...args] = inNetns(host.netns, [process.execPath, serverScript(), listen, recordsFile(host, network), ...(upstream ? [upstream] : [])]);
  const started = await startHelper(file, args, `the resolver of network ${network}`);
  fs.writeFileSync(pidFile(host, network), `${started.pid}\n`);
}

export function stopResolver(host: BridgeHost, network: string): void {
  const pid = resolverPid(host, network);
  if (pid !== undefined) {
    try {
      process.kill(pid, 'SIGKILL');
      awaitGone([pid]);
    } catch {
      // gone meanwhile
    }
  }
  fs.rmSync(pidFile(host, network), { force: true });
  fs.rmSync(recordsFile(host, network), { force: true });
}

/** Networks that have resolver files (running or stale). */
export function resolverNetworks(host: BridgeHost): string[] {
  try {
    return fs
      .readdirSync(dnsDir(host))
      .filter((f) => f.endsWith('.pid') || f.endsWith('.json'))
      .map((f) => f.replace(/\.(pid|json)$/, ''))
      .filter((n, i, all) => all.indexOf(n) === i);
  } catch {
    return [];
  }
}
