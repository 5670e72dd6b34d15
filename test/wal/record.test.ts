// Unit tests of record framing against etcd's own test vectors (record_test.go: a metadata record
// of data 08 ef fd 02 whose CRC-32C is 0x3a191a99), of the walpb messages, and of the decoder's
// three outcomes: end, torn (last segment only), corruption.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DecodeStatus, RecordDecoder, nonZeroEnd } from '../../src/wal/decoder.js';
import { RecordEncoder } from '../../src/wal/encoder.js';
import { WalCorruptionError } from '../../src/wal/errors.js';
import { CrcType, MetadataType, decodeWalSnapshot, encodeWalSnapshot } from '../../src/wal/walpb.js';

const infoData = Buffer.from([0x08, 0xef, 0xfd, 0x02]);
// etcd's record body for {type: 1, crc: crc32c(infoData), data: infoData}.
const infoBody = Buffer.concat([Buffer.from([0x08, 0x01, 0x10, 0x99, 0xb5, 0xe4, 0xd0, 0x03, 0x1a, 0x04]), infoData]);

function encoded(): Buffer {
  const enc = new RecordEncoder(0, 16);
  enc.encode(MetadataType, infoData);
  return Buffer.from(enc.buf.subarray(0, enc.len));
}

test('a record is etcd bytes: length word (14, padding 2 marked 0x82), body, zero padding', () => {
  const b = encoded();
  assert.deepEqual(b.subarray(0, 8), Buffer.from([14, 0, 0, 0, 0, 0, 0, 0x82]));
  assert.deepEqual(b.subarray(8, 22), infoBody);
  assert.deepEqual(b.subarray(22), Buffer.alloc(2));
  assert.equal(b.length, 24);
});

test('a crc record carries the chain value and no data', () => {
  const enc = new RecordEncoder(0xabcdef01, 16);
  enc.encode(CrcType, null);
  const b = enc.buf.subarray(0, enc.len);
  // 08 04 10 <5-byte varint of 0xabcdef01>, no data field.
  assert.deepEqual(b.subarray(8, 10), Buffer.from([0x08, 0x04]));
  assert.equal(b[10], 0x10);
  assert.equal(b.readUInt32LE(0), 8);
  assert.equal(b.readUInt32LE(4), 0, 'exactly 8 bytes: no padding');
  assert.equal(enc.crc, 0xabcdef01, 'a crc record does not advance the chain');
  const dec = new RecordDecoder();
  dec.beginSegment(b, 'seg', true);
  assert.equal(dec.next(), DecodeStatus.Record);
  assert.equal(dec.rec.type, CrcType);
  assert.equal(dec.rec.crc, 0xabcdef01);
});

test('walpb.Snapshot round-trips; the initial marker has no conf state', () => {
  assert.deepEqual(encodeWalSnapshot({ index: 0, term: 0 }), Buffer.from([0x08, 0x00, 0x10, 0x00]));
  const cs = { voters: [1n, 0xffffffffffffffffn], learners: [4n], votersOutgoing: [], learnersNext: [], autoLeave: true };
  const s = decodeWalSnapshot(encodeWalSnapshot({ index: 2 ** 40, term: 7, confState: cs }));
  assert.deepEqual(s, { index: 2 ** 40, term: 7, confState: cs });
});

function decodeAll(buf: Uint8Array, isLast: boolean): { status: DecodeStatus; records: number; dec: RecordDecoder } {
  const dec = new RecordDecoder();
  dec.beginSegment(buf, '/x/seg.wal', isLast);
  let records = 0;
  let status: DecodeStatus;
  while ((status = dec.next()) === DecodeStatus.Record) records++;
  return { status, records, dec };
}

test('decoder: end of file and zero length words end a segment', () => {
  const one = encoded();
  assert.deepEqual(decodeAll(Buffer.alloc(0), true).status, DecodeStatus.End);
  const r1 = decodeAll(one, false);
  assert.equal(r1.status, DecodeStatus.End);
  assert.equal(r1.records, 1);
  const r2 = decodeAll(Buffer.concat([one, Buffer.alloc(100)]), false);
  assert.equal(r2.records, 1);
  assert.equal(r2.dec.lastValidOff, 24);
});

test('decoder: records cut short are torn in the last segment and corruption elsewhere (etcd cases)', () => {
  const one = encoded();
  // etcd's truncations: within the body, without the data, without the last 8 bytes.
  for (const cut of [14, 24 - 2 - 4, 24 - 8, 4]) {
    const part = one.subarray(0, cut);
    const last = decodeAll(part, true);
    assert.equal(last.status, DecodeStatus.Torn, `cut at ${cut}`);
    assert.equal(last.dec.lastValidOff, 0);
    assert.throws(() => decodeAll(part, false), (e) => e instanceof WalCorruptionError && e.offset === 0);
  }
});

test('decoder: a bad CRC is corruption, unless a whole sector of the last record is zero (torn)', () => {
  const bad = encoded();
  bad[21] = 'a'.charCodeAt(0); // etcd's badInfoRecord: last data byte changed
  assert.throws(() => decodeAll(bad, true), (e) => e instanceof WalCorruptionError && e.code === 'ErrCRCMismatch');
  // A 1 KiB record with its second sector zeroed.
  const enc = new RecordEncoder(0, 16);
  enc.encode(MetadataType, Buffer.alloc(1200, 7));
  const big = Buffer.from(enc.buf.subarray(0, enc.len));
  big.fill(0, 512, 1024);
  const r = decodeAll(big, true);
  assert.equal(r.status, DecodeStatus.Torn);
  assert.match(r.dec.tornReason, /crc mismatch/);
  assert.throws(() => decodeAll(big, false), WalCorruptionError);
});

test('decoder: a length word our writer never produces is corruption even at the tail', () => {
  const b = encoded();
  b[7] = 0x83; // wrong padding count
  assert.throws(() => decodeAll(b, true), /invalid length word/);
  const c = encoded();
  c[0] = 0;
  c[7] = 0; // zero length with nonzero body: not a zero length word
  const r = decodeAll(c, true);
  assert.equal(r.status, DecodeStatus.End, 'an all-zero length word is the end');
});

test('decoder: non-zero padding is corruption (padding is outside the CRC)', () => {
  const b = encoded();
  b[23] = 1;
  assert.throws(() => decodeAll(b, true), /non-zero padding/);
});

test('nonZeroEnd finds the last non-zero byte at or after a position', () => {
  const b = Buffer.alloc(200_000);
  assert.equal(nonZeroEnd(b, 10), 10);
  b[150_001] = 1;
  assert.equal(nonZeroEnd(b, 10), 150_002);
  assert.equal(nonZeroEnd(b, 160_000), 160_000);
  b[199_999] = 2;
  assert.equal(nonZeroEnd(b, 0), 200_000);
});
