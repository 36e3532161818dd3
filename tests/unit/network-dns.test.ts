import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RCODE, TYPE_A, TYPE_AAAA, TYPE_PTR, answerLocally, buildQuery, parseQuery, response } from '../../pkg/network/dns-message';
import { hostNameservers } from '../../pkg/network/bridge-host';

const records = { names: { web: '10.89.0.2', db: '10.89.0.3' } };

function answerIp(msg: Buffer): { rcode: number; answers: number; ip?: string; id: number } {
  const rcode = msg.readUInt16BE(2) & 0xf;
  const answers = msg.readUInt16BE(6);
  const ip = answers > 0 && msg.readUInt16BE(msg.length - 14 + 2) === TYPE_A ? [...msg.subarray(msg.length - 4)].join('.') : undefined;
  return { rcode, answers, ip, id: msg.readUInt16BE(0) };
}

test('a query is parsed: id, lower-cased name, type', () => {
  const q = parseQuery(buildQuery(0x1234, 'Web.Example.'));
  assert.equal(q?.id, 0x1234);
  assert.equal(q?.name, 'web.example');
  assert.equal(q?.type, TYPE_A);
  assert.equal(parseQuery(Buffer.alloc(5)), undefined);
  const truncated = buildQuery(1, 'web').subarray(0, 15);
  assert.equal(parseQuery(truncated), undefined);
  const reply = buildQuery(1, 'web');
  reply.writeUInt16BE(0x8100, 2);
  assert.equal(parseQuery(reply), undefined, 'responses are not queries');
});

test('names of the network are answered with their address', () => {
  const query = buildQuery(7, 'DB');
  const out = answerLocally(query, parseQuery(query)!, records)!;
  assert.deepEqual(answerIp(out), { rcode: RCODE.NOERROR, answers: 1, ip: '10.89.0.3', id: 7 });
  assert.equal(out.readUInt16BE(2) & 0x8000, 0x8000, 'QR set');
  assert.equal(out.readUInt16BE(2) & 0x0100, 0x0100, 'RD echoed');
});

test('other types of a known name get an empty answer; unknown names are not answered locally', () => {
  const aaaa = buildQuery(8, 'web', TYPE_AAAA);
  assert.deepEqual(answerIp(answerLocally(aaaa, parseQuery(aaaa)!, records)!), { rcode: RCODE.NOERROR, answers: 0, ip: undefined, id: 8 });
  const other = buildQuery(9, 'example.com');
  assert.equal(answerLocally(other, parseQuery(other)!, records), undefined);
  const refused = response(other, parseQuery(other)!, RCODE.REFUSED);
  assert.equal(answerIp(refused).rcode, RCODE.REFUSED);
});

test('reverse lookups of container addresses give their name', () => {
  const ptr = buildQuery(10, '2.0.89.10.in-addr.arpa', TYPE_PTR);
  const out = answerLocally(ptr, parseQuery(ptr)!, records)!;
  assert.equal(out.readUInt16BE(6), 1);
  assert.ok(out.includes(Buffer.from([3, ...Buffer.from('web'), 0])));
  const unknown = buildQuery(11, '9.9.9.9.in-addr.arpa', TYPE_PTR);
  assert.equal(answerLocally(unknown, parseQuery(unknown)!, records), undefined);
});

test('loopback and IPv6 nameservers of the host are not used as upstreams', () => {
  assert.deepEqual(hostNameservers('nameserver 127.0.0.53\nnameserver 10.255.255.53\nnameserver fd00::1\nsearch x\n'), ['10.255.255.53']);
});
