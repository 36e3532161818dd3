// The resolver of one network: `node dns-server.js LISTEN_IP RECORDS_FILE [UPSTREAM_IP]`, run
// in the network namespace that holds the network's bridge (network-dns.ts starts it). It
// answers the names of the network's containers from RECORDS_FILE (re-read when it changes)
// and relays other queries to UPSTREAM_IP; without one (internal networks) it refuses them.
// It exits when RECORDS_FILE is removed, so a stale resolver never outlives its network.
import * as dgram from 'node:dgram';
import * as fs from 'node:fs';
import { RCODE, Records, answerLocally, parseQuery, response } from './dns-message';

const UPSTREAM_TIMEOUT_MS = 4000;

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
  load();
  const server = dgram.createSocket('udp4');
  server.on('message', (msg, peer) => {
    if (!load()) process.exit(0);
    const q = parseQuery(msg);
    if (!q) return;
    const local = answerLocally(msg, q, records);
    if (local) {
      server.send(local, peer.port, peer.address);
      return;
    }
    if (!upstream) {
      server.send(response(msg, q, RCODE.REFUSED), peer.port, peer.address);
      return;
    }
    // One socket per relayed query: the upstream's answer goes back to whoever asked.
    const relay = dgram.createSocket('udp4');
    const timer = setTimeout(() => {
      relay.close();
      server.send(response(msg, q, RCODE.SERVFAIL), peer.port, peer.address);
    }, UPSTREAM_TIMEOUT_MS);
    relay.on('message', (answer) => {
      clearTimeout(timer);
      relay.close();
      server.send(answer, peer.port, peer.address);
    });
    relay.on('error', () => undefined);
    relay.send(msg, 53, upstream);
  });
  // Checks now and then that the network still exists, also when nobody asks anything.
  setInterval(() => {
    if (!load()) process.exit(0);
  }, 5000).unref();
  server.on('error', (err) => {
    process.stderr.write(`dns-server: ${err.message}\n`);
    process.exit(1);
  });
  server.bind(53, listen, () => {
    // Tell the starter (fd 3) that queries are answered from now on.
    try {
      fs.writeSync(3, 'ready\n');
      fs.closeSync(3);
    } catch {
      // started by hand without a ready pipe
    }
  });
}

main();
