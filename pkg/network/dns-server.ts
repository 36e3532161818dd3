// The resolver of one network: `node dns-server.js LISTEN_IP RECORDS_FILE [UPSTREAM_IP]`, run
// in the network namespace that holds the network's bridge (network-dns.ts starts it). It
// answers the names of the network's containers from RECORDS_FILE (re-read when it changes)
// and relays other queries to UPSTREAM_IP; without one (internal networks) it refuses them.
// Over UDP and over TCP (port 53 both): a client whose UDP answer came back truncated asks
// again over TCP, and that query goes upstream over TCP too.
// It exits when RECORDS_FILE is removed, so a stale resolver never outlives its network.
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import * as net from 'node:net';
import { RCODE, Records, answerLocally, parseQuery, response } from './dns-message';
import { TcpMessageReader, tcpMessage } from './dns-tcp';

const UPSTREAM_TIMEOUT_MS = 4000;
/** A TCP client that sends nothing for this long is dropped. */
const TCP_IDLE_MS = 10_000;

type Relay = (query: Buffer, upstream: string) => Promise<Buffer>;

function relayUdp(query: Buffer, upstream: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // One socket per relayed query: the upstream's answer goes back to whoever asked.
    const sock = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      sock.close();
      reject(new Error('upstream timed out'));
    }, UPSTREAM_TIMEOUT_MS);
    sock.on('message', (answer) => {
      clearTimeout(timer);
      sock.close();
      resolve(answer);
    });
    sock.on('error', () => undefined);
    sock.send(query, 53, upstream);
  });
}

function relayTcp(query: Buffer, upstream: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(53, upstream);
    const reader = new TcpMessageReader((answer) => {
      sock.destroy();
      resolve(answer);
    });
    sock.setTimeout(UPSTREAM_TIMEOUT_MS, () => sock.destroy(new Error('upstream timed out')));
    sock.on('data', (d: Buffer) => reader.push(d));
    sock.on('error', reject);
    sock.on('close', () => reject(new Error('upstream closed the connection')));
    sock.write(tcpMessage(query));
  });
}

function main(): void {
  const [listen, recordsFile, upstream] = process.argv.slice(2);
  let records: Records = { names: {} };
  let loadedMtime = -1;
  const load = (): boolean => {
    const st = fs.statSync(recordsFile, { throwIfNoEntry: false });
    if (!st) return false;
    if (st.mtimeMs !== loadedMtime) {
      try {
        records = JSON.parse(fs.readFileSync(recordsFile, 'utf8')) as Records;
        loadedMtime = st.mtimeMs;
      } catch {
        // being rewritten: keep the last records
      }
    }
    return true;
  };
  /** The answer to one query (undefined: not a query worth one). */
  const answer = async (msg: Buffer, relay: Relay): Promise<Buffer | undefined> => {
    if (!load()) process.exit(0);
    const q = parseQuery(msg);
    if (!q) return undefined;
    const local = answerLocally(msg, q, records);
    if (local) return local;
    if (!upstream) return response(msg, q, RCODE.REFUSED);
    return relay(msg, upstream).catch(() => response(msg, q, RCODE.SERVFAIL));
  };
  load();

  const udp = dgram.createSocket(listen.includes(':') ? 'udp6' : 'udp4');
  udp.on('message', (msg, peer) => {
    void answer(msg, relayUdp).then((a) => a && udp.send(a, peer.port, peer.address));
  });
  const tcp = net.createServer((conn) => {
    const reader = new TcpMessageReader((msg) => {
      void answer(msg, relayTcp).then((a) => a && !conn.destroyed && conn.write(tcpMessage(a)));
    });
    conn.setTimeout(TCP_IDLE_MS, () => conn.destroy());
    conn.on('data', (d: Buffer) => reader.push(d));
    conn.on('error', () => undefined);
  });
  // Checks now and then that the network still exists, also when nobody asks anything.
  setInterval(() => {
    if (!load()) process.exit(0);
  }, 5000).unref();
  const fatal = (err: Error): void => {
    process.stderr.write(`dns-server: ${err.message}\n`);
    process.exit(1);
  };
  udp.on('error', fatal);
  tcp.on('error', fatal);
  let bound = 0;
  const onBound = (): void => {
    if (++bound < 2) return;
    // Tell the starter (fd 3) that queries are answered from now on.
    try {
      fs.writeSync(3, 'ready\n');
      fs.closeSync(3);
    } catch {
      // started by hand without a ready pipe
    }
  };
  udp.bind(53, listen, onBound);
  tcp.listen(53, listen, onBound);
}

main();
