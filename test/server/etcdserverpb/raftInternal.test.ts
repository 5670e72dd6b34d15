// Tests for the InternalRaftRequest envelope codec: round trips of every request kind, nested txns, 64-bit ids.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeInternalRaftRequest,
  encodeInternalRaftRequest,
} from '../../../src/server/etcdserverpb/raftInternal.js';

const b = (s: string) => Buffer.from(s);

test('InternalRaftRequest round-trips every request kind and the 64-bit ID', () => {
  const cases = [
    { idPrefix: 0xbeef, id: 2 ** 48 - 1, put: { key: b('k'), value: b('v'), lease: -5n, prevKv: true, ignoreLease: true } },
    { idPrefix: 0, id: 1, deleteRange: { key: b('a'), rangeEnd: b('b'), prevKv: true } },
    { idPrefix: 1, id: 12345, range: { key: b('a'), rangeEnd: b('\0'), limit: 10, revision: 7, sortOrder: 2 as const, sortTarget: 4 as const, keysOnly: true, minModRevision: 3 } },
    { idPrefix: 7, id: 99, compaction: { revision: 42, physical: true } },
    { idPrefix: 7, id: 100, leaseGrant: { TTL: 60, ID: 0x7fff_ffff_ffff_ffffn } },
    { idPrefix: 7, id: 101, leaseRevoke: { ID: 0x1234n } },
    { idPrefix: 7, id: 102, leaseCheckpoint: { checkpoints: [{ ID: 1n, remainingTTL: 5 }, { ID: 2n, remainingTTL: 0 }] } },
    { idPrefix: 7, id: 103, alarm: { action: 1 as const, memberID: 0xffff_ffff_ffff_fff0n, alarm: 1 as const } },
    { idPrefix: 7, id: 104, memberAttrSet: { memberID: 0xbdae9bbc11dd390dn, name: 'n1', clientUrls: ['http://a:1', 'http://b:2'] } },
  ];
  for (const c of cases) {
    const got = decodeInternalRaftRequest(encodeInternalRaftRequest(c as never));
    assert.deepEqual(got, c);
  }
});

test('nested txn with compares on every target round-trips', () => {
  const req = {
    idPrefix: 3,
    id: 77,
    txn: {
      compare: [
        { result: 0 as const, target: 3 as const, key: b('k'), value: b('') },
        { result: 1 as const, target: 0 as const, key: b('k'), version: 0, rangeEnd: b('l') },
        { result: 2 as const, target: 4 as const, key: b('k'), lease: -1n },
      ],
      success: [
        { requestPut: { key: b('x'), value: b('y') } },
        { requestTxn: { compare: [], success: [{ requestDeleteRange: { key: b('z') } }], failure: [{ requestRange: { key: b('q') } }] } },
      ],
      failure: [{ requestRange: { key: b('r'), countOnly: true } }],
    },
  };
  const got = decodeInternalRaftRequest(encodeInternalRaftRequest(req as never));
  assert.deepEqual(got, req);
});

test('InternalRaftRequest keeps its exact bytes (ID halves, negative lease, auth header at field 100)', () => {
  const hex = (r: unknown) => encodeInternalRaftRequest(r as never).toString('hex');
  assert.equal(
    hex({ idPrefix: 0xbeef, id: 2 ** 48 - 1, put: { key: b('k'), value: b('v'), lease: -5n, prevKv: true, ignoreLease: true } }),
    '08fffffffffffffff7be0122150a016b12017618fbffffffffffffffff0120013001',
  );
  assert.equal(hex({ idPrefix: 7, id: 100, leaseGrant: { TTL: 60, ID: 0x7fff_ffff_ffff_ffffn } }), '08e48080808080c003420c083c10ffffffffffffffff7f');
  assert.equal(
    hex({ idPrefix: 1, id: 12345, range: { key: b('a'), rangeEnd: b('\0'), limit: 10, revision: 7, sortOrder: 2, sortTarget: 4, keysOnly: true, minModRevision: 3 } }),
    '08b9e080808080401a120a0161120100180a20072802300440015003',
  );
  assert.equal(
    hex({ idPrefix: 1, id: 5, header: { username: 'root', authRevision: 3 }, auth: { op: 'userAdd', name: 'u', password: '', hashedPassword: 'h', noPassword: false } }),
    '0885808080808040e244080a01751a00220168a206081204726f6f741803',
  );
});
