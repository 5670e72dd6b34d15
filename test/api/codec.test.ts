// The compiled protobuf codec against protobufjs itself: field numbers, int64 as number/bigint,
// negative values, oneofs, packed repeated fields, defaults; and the gateway's JSON mapping.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromJson, toJson } from '../../src/api/proto/json.js';
import { codecOf, protoRoot } from '../../src/api/proto/schema.js';
import type { Compare, TxnRequest, TxnResponse, WatchRequest, WatchResponse } from '../../src/api/types.js';

const kv = {
  key: Buffer.from('foo'),
  createRevision: 2,
  modRevision: 5,
  version: 3,
  value: Buffer.from('bar'),
  lease: 7587862072907120906n,
};

test('encoded responses decode identically with protobufjs (ids as bigint, revisions as number)', () => {
  const c = codecOf<TxnResponse>('etcdserverpb.TxnResponse');
  const msg: TxnResponse = {
    header: { clusterId: 0xdeadbeefcafebaben, memberId: 1n, revision: 2 ** 40 + 7, raftTerm: 3 },
    succeeded: true,
    responses: [
      { responseRange: { kvs: [kv, { ...kv, lease: -5n }], more: false, count: 2 } },
      { responsePut: { prevKv: kv } },
    ],
  };
  const buf = c.encode(msg);
  assert.equal(buf.length, c.size(msg));
  const T = protoRoot().lookupType('etcdserverpb.TxnResponse');
  const viaPbjs = T.toObject(T.decode(buf), { longs: String, bytes: String }) as Record<string, any>;
  assert.equal(viaPbjs.header.clusterId, '16045690984503098046');
  assert.equal(viaPbjs.header.revision, String(2 ** 40 + 7));
  assert.equal(viaPbjs.responses[0].responseRange.kvs[1].lease, '-5');
  assert.equal(viaPbjs.responses[0].responseRange.kvs[0].lease, '7587862072907120906');
  assert.equal(viaPbjs.responses[0].responseRange.more, undefined, 'false is a default and not written');

  const back = c.decode(buf);
  assert.deepEqual(back.header, msg.header);
  assert.equal(back.responses[0].responseRange?.kvs[1].lease, -5n);
  assert.deepEqual(back.responses[1].responsePut?.prevKv, kv);
  assert.equal(back.responses[1].responseRange, undefined);
});

test('requests encoded by protobufjs decode into complete plain shapes', () => {
  const root = protoRoot();
  const WR = root.lookupType('etcdserverpb.WatchRequest');
  const wire = Buffer.from(
    WR.encode({ createRequest: { key: Buffer.from('a'), filters: [0, 1], startRevision: 9, watchId: -3 } }).finish(),
  );
  const req = codecOf<WatchRequest>('etcdserverpb.WatchRequest').decode(wire);
  assert.equal(req.cancelRequest, undefined);
  const c = req.createRequest!;
  assert.deepEqual(c.filters, [0, 1]);
  assert.equal(c.startRevision, 9);
  assert.equal(c.watchId, -3);
  assert.equal(c.prevKv, false);
  assert.equal(c.rangeEnd.length, 0);
  assert.ok(Buffer.isBuffer(c.key));
});

test('oneof members are written even when they hold the default value', () => {
  const c = codecOf<Compare>('etcdserverpb.Compare');
  const cmp: Compare = { result: 0, target: 0, key: Buffer.from('k'), rangeEnd: Buffer.alloc(0), version: 0 };
  const back = c.decode(c.encode(cmp));
  assert.equal(back.version, 0, 'version=0 is set, not absent');
  assert.equal(back.modRevision, undefined);
  const T = protoRoot().lookupType('etcdserverpb.Compare');
  const d = T.decode(c.encode(cmp)) as unknown as { targetUnion?: string };
  assert.equal(d.targetUnion, 'version');
});

test('watch id -1 uses the ten-byte two-complement varint', () => {
  const c = codecOf<WatchResponse>('etcdserverpb.WatchResponse');
  const buf = c.encode({ watchId: -1, created: true, canceled: true, compactRevision: 0, cancelReason: 'x', fragment: false, events: [] });
  assert.deepEqual([...buf.subarray(0, 11)], [0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  assert.equal(c.decode(buf).watchId, -1);
});

test('encodeFrame prefixes the gRPC header', () => {
  const c = codecOf<{ revision: number; physical: boolean }>('etcdserverpb.CompactionRequest');
  const f = c.encodeFrame({ revision: 300, physical: true });
  assert.equal(f[0], 0);
  assert.equal(f.readUInt32BE(1), f.length - 5);
  assert.deepEqual(c.decode(f.subarray(5)), { revision: 300, physical: true });
});

test('unknown fields are skipped; truncated input is rejected', () => {
  const c = codecOf<{ revision: number; physical: boolean }>('etcdserverpb.CompactionRequest');
  // field 9 (varint 5), field 10 (bytes "ab"), then revision=7
  const buf = Buffer.from([0x48, 0x05, 0x52, 0x02, 0x61, 0x62, 0x08, 0x07]);
  assert.deepEqual(c.decode(buf), { revision: 7, physical: false });
  assert.throws(() => c.decode(Buffer.from([0x52, 0x05, 0x61])), /truncated/);
});

test('JSON mapping: snake_case names, int64 as strings, base64 bytes, etcd enum names', () => {
  const c = codecOf<TxnRequest>('etcdserverpb.TxnRequest');
  const req = fromJson(c, {
    compare: [{ key: 'Zm9v', result: 'NOT_EQUAL', target: 'MOD', mod_revision: '12' }],
    success: [{ request_put: { key: 'Zm9v', value: 'YmFy', lease: '7587862072907120906' } }],
    failure: [{ requestRange: { key: 'Zm9v', rangeEnd: 'Zm9w', limit: 3 } }],
  });
  assert.equal(req.compare?.[0].result, 3);
  assert.equal(req.compare?.[0].target, 2);
  assert.equal(req.compare?.[0].modRevision, 12);
  assert.equal(req.success?.[0].requestPut?.lease, 7587862072907120906n);
  assert.equal(req.failure?.[0].requestRange?.rangeEnd?.toString(), 'fop');
  assert.equal(req.failure?.[0].requestRange?.limit, 3);

  const ev = codecOf('etcdserverpb.WatchResponse');
  const json = toJson(ev, {
    header: { clusterId: 1n, memberId: 2n, revision: 3, raftTerm: 4 },
    watchId: 0,
    created: false,
    canceled: false,
    compactRevision: 0,
    cancelReason: '',
    fragment: false,
    events: [{ type: 1, kv: { ...kv, lease: 0n } }],
  });
  assert.deepEqual(json, {
    header: { cluster_id: '1', member_id: '2', revision: '3', raft_term: '4' },
    events: [{ type: 'DELETE', kv: { key: 'Zm9v', create_revision: '2', mod_revision: '5', version: '3', value: 'YmFy' } }],
  });
  assert.throws(() => fromJson(c, { compare: [{ result: 'SIDEWAYS' }] }), /invalid value/);
});

test('integers are accepted as number or bigint whatever the field maps to', () => {
  const c = codecOf<{ key: Buffer; lease: bigint; createRevision: number }>('mvccpb.KeyValue');
  const loose = { key: Buffer.from('k'), lease: 5 as unknown as bigint, createRevision: 7n as unknown as number };
  assert.deepEqual(c.decode(c.encode(loose as never)), {
    key: Buffer.from('k'), createRevision: 7, modRevision: 0, version: 0, value: Buffer.alloc(0), lease: 5n,
  });
  assert.throws(() => c.encode({ key: Buffer.from('k'), lease: 1.5 } as never), RangeError);
});
