// DNS messages (RFC 1035) as far as a network's resolver needs them: read the question of a
// query, and build the answer for names of containers (A, AAAA, and PTR for their addresses), an
// empty answer for other types of a known name, or an error code. Pure, so unit-tested.
import { formatIp6, parseIp6 } from './ipv6';

export const TYPE_A = 1;
export const TYPE_PTR = 12;
export const TYPE_AAAA = 28;
export const CLASS_IN = 1;

export const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3, REFUSED: 5 } as const;

export interface Question {
  id: number;
  /** lower case, without the trailing dot */
  name: string;
  type: number;
  class: number;
  /** the query's flags word (its RD bit is echoed) */
  flags: number;
  /** where the question section ends (the answer starts there) */
  questionEnd: number;
}

/** The first question of a query, or undefined for anything that is not a well-formed query. */
export function parseQuery(msg: Buffer): Question | undefined {
  if (msg.length < 12) return undefined;
  const flags = msg.readUInt16BE(2);
  if (flags & 0x8000) return undefined; // a response, not a query
  if (msg.readUInt16BE(4) < 1) return undefined;
  const labels: string[] = [];
  let off = 12;
  for (;;) {
    if (off >= msg.length) return undefined;
    const len = msg[off];
    if (len === 0) {
      off += 1;
      break;
    }
    if (len > 63 || off + 1 + len > msg.length) return undefined; // no compression in a question
    labels.push(msg.toString('latin1', off + 1, off + 1 + len));
    off += 1 + len;
  }
  if (off + 4 > msg.length) return undefined;
  return { id: msg.readUInt16BE(0), name: labels.join('.').toLowerCase(), type: msg.readUInt16BE(off), class: msg.readUInt16BE(off + 2), flags, questionEnd: off + 4 };
}

function header(q: Question, rcode: number, answers: number): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(q.id, 0);
  // QR=1, opcode 0, AA=1, RD copied, RA=1.
  h.writeUInt16BE(0x8000 | 0x0400 | (q.flags & 0x0100) | 0x0080 | rcode, 2);
  h.writeUInt16BE(1, 4);
  h.writeUInt16BE(answers, 6);
  return h;
}

function encodeName(name: string): Buffer {
  const parts = name.split('.').filter(Boolean).map((l) => {
    const b = Buffer.from(l, 'latin1');
    return Buffer.concat([Buffer.from([b.length]), b]);
  });
  return Buffer.concat([...parts, Buffer.from([0])]);
}

function record(type: number, ttl: number, rdata: Buffer): Buffer {
  const r = Buffer.alloc(12);
  r.writeUInt16BE(0xc00c, 0); // the name: a pointer to the question's
  r.writeUInt16BE(type, 2);
  r.writeUInt16BE(CLASS_IN, 4);
  r.writeUInt32BE(ttl, 6);
  r.writeUInt16BE(rdata.length, 10);
  return Buffer.concat([r, rdata]);
}

/** A response carrying the query's question and these answers (possibly none). */
export function response(query: Buffer, q: Question, rcode: number, answers: Buffer[] = []): Buffer {
  return Buffer.concat([header(q, rcode, answers.length), query.subarray(12, q.questionEnd), ...answers]);
}

export function aRecord(ip: string, ttl = 60): Buffer {
  return record(TYPE_A, ttl, Buffer.from(ip.split('.').map(Number)));
}

/** AAAA: the 16 bytes of an IPv6 address. */
export function aaaaRecord(ip: string, ttl = 60): Buffer {
  const n = parseIp6(ip) ?? 0n;
  const b = Buffer.alloc(16);
  for (let i = 0; i < 16; i++) b[i] = Number((n >> BigInt(120 - 8 * i)) & 0xffn);
  return record(TYPE_AAAA, ttl, b);
}

export function ptrRecord(name: string, ttl = 60): Buffer {
  return record(TYPE_PTR, ttl, encodeName(name));
}

/** "4.3.2.1.in-addr.arpa" -> "1.2.3.4"; the 32 nibbles of an ip6.arpa name -> the IPv6 address */
export function reverseAddress(name: string): string | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\.in-addr\.arpa$/.exec(name);
  if (m) return `${m[4]}.${m[3]}.${m[2]}.${m[1]}`;
  const m6 = /^((?:[0-9a-f]\.){32})ip6\.arpa$/.exec(name);
  return m6 ? formatIp6(BigInt(`0x${m6[1].split('.').reverse().join('')}`)) : undefined;
}

/** What a network's resolver knows: names (lower case) to IPv4 and IPv6 addresses. */
export interface Records {
  names: Record<string, string>;
  names6?: Record<string, string>;
}

/**
 * The local answer to a query, or undefined when the name is not the network's (the caller
 * forwards it, or refuses it on an internal network).
 */
export function answerLocally(query: Buffer, q: Question, records: Records): Buffer | undefined {
  if (q.class !== CLASS_IN) return undefined;
  const names6 = records.names6 ?? {};
  if (q.type === TYPE_PTR) {
    const ip = reverseAddress(q.name);
    const table = ip?.includes(':') ? names6 : records.names;
    const name = ip && Object.keys(table).find((n) => table[n] === ip);
    return name ? response(query, q, RCODE.NOERROR, [ptrRecord(name)]) : undefined;
  }
  const ip = records.names[q.name];
  const ip6 = names6[q.name];
  if (ip === undefined && ip6 === undefined) return undefined;
  // A known name without an address of the asked type: an empty answer, not NXDOMAIN.
  const answers = q.type === TYPE_A && ip ? [aRecord(ip)] : q.type === TYPE_AAAA && ip6 ? [aaaaRecord(ip6)] : [];
  return response(query, q, RCODE.NOERROR, answers);
}

/** A query for `name` (tests, and the resolver's own health check). */
export function buildQuery(id: number, name: string, type = TYPE_A): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(0x0100, 2);
  h.writeUInt16BE(1, 4);
  const tail = Buffer.alloc(4);
  tail.writeUInt16BE(type, 0);
  tail.writeUInt16BE(CLASS_IN, 2);
  return Buffer.concat([h, encodeName(name), tail]);
}
