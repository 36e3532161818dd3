import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TcpMessageReader, tcpMessage } from '../../pkg/network/dns-tcp';

test('a message goes out with its length in two big-endian bytes', () => {
  assert.deepEqual(tcpMessage(Buffer.from('abc')), Buffer.from([0, 3, 0x61, 0x62, 0x63]));
  assert.equal(tcpMessage(Buffer.alloc(300)).readUInt16BE(0), 300);
});

test('messages come out whole whatever the chunks: split, joined, or one byte at a time', () => {
  const got: string[] = [];
  const reader = new TcpMessageReader((m) => got.push(m.toString()));
  const stream = Buffer.concat([tcpMessage(Buffer.from('first')), tcpMessage(Buffer.from('second')), tcpMessage(Buffer.alloc(0))]);
  reader.push(stream.subarray(0, 1));
  reader.push(stream.subarray(1, 9));
  for (const byte of stream.subarray(9)) reader.push(Buffer.from([byte]));
  assert.deepEqual(got, ['first', 'second', '']);
});
