// Bad input never crashes the server: random and mutated protobuf bodies sent to every KV, Lease,
// Watch and Maintenance method of a real single-member tsetcd (in-process, seeded PRNG) must each get a
// gRPC status, and afterwards the member still serves writes and reads.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http2 from 'node:http2';
import * as os from 'node:os';
import { defaultConfig } from '../../src/embed/config.js';
import { type Etcd, serveClients, startEtcd } from '../../src/embed/etcd.js';
import { codecOf } from '../../src/api/proto/schema.js';
import type { PutRequest, RangeRequest, TxnRequest } from '../../src/api/types.js';
import { silentLogger } from '../../src/server/config.js';
import { frame, rawGrpc } from './helpers.js';
import { freePort } from '../support/cluster.js';

const METHODS = [
  '/etcdserverpb.KV/Range',
  '/etcdserverpb.KV/Put',
  '/etcdserverpb.KV/DeleteRange',
  '/etcdserverpb.KV/Txn',
  '/etcdserverpb.KV/Compact',
  '/etcdserverpb.Lease/LeaseGrant',
  '/etcdserverpb.Lease/LeaseRevoke',
  '/etcdserverpb.Lease/LeaseTimeToLive',
  '/etcdserverpb.Lease/LeaseLeases',
  '/etcdserverpb.Maintenance/Status',
  '/etcdserverpb.Maintenance/HashKV',
  '/etcdserverpb.Maintenance/Alarm',
];

let etcd: Etcd;
let port: number;
let dir: string;

before(async () => {
  dir = fs.mkdtempSync(os.tmpdir() + '/tsetcd-fuzz-');
  port = await freePort();
  const pport = await freePort();
  const cfg = defaultConfig();
  cfg.dataDir = dir;
  cfg.listenClientUrls = cfg.advertiseClientUrls = [new URL(`http://127.0.0.1:${port}`)];
  cfg.listenPeerUrls = cfg.initialAdvertisePeerUrls = [new URL(`http://127.0.0.1:${pport}`)];
  cfg.initialCluster = `default=http://127.0.0.1:${pport}`;
  cfg.heartbeatIntervalMs = 20;
  cfg.electionTimeoutMs = 200;
  etcd = await startEtcd(cfg, { serveClients, logger: silentLogger, server: { unsafeNoFsync: true } });
});

after(async () => {
  await etcd?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** xorshift32: deterministic bytes for a reproducible run. */
function prng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

function randomBody(next: () => number, valid: Buffer[]): Buffer {
  const r = next() % 3;
  if (r === 0) {
    const b = Buffer.alloc(next() % 64);
    for (let i = 0; i < b.length; i++) b[i] = next() & 0xff;
    return b;
  }
  // A valid message with a few bytes flipped or cut short.
  const b = Buffer.from(valid[next() % valid.length]!);
  if (r === 1) for (let i = 0; i < 1 + (next() % 3) && b.length > 0; i++) b[next() % b.length] = next() & 0xff;
  return r === 2 ? b.subarray(0, next() % (b.length + 1)) : b;
}

test('random and mutated request bodies get a gRPC status; the member keeps serving', { timeout: 120_000 }, async () => {
  const put = codecOf<PutRequest>('etcdserverpb.PutRequest');
  const range = codecOf<RangeRequest>('etcdserverpb.RangeRequest');
  const txn = codecOf<TxnRequest>('etcdserverpb.TxnRequest');
  const valid = [
    put.encode({ key: Buffer.from('k'), value: Buffer.from('v') } as PutRequest),
    range.encode({ key: Buffer.from('a'), rangeEnd: Buffer.from('z'), limit: 5 } as RangeRequest),
    txn.encode({
      compare: [{ key: Buffer.from('k'), target: 3, result: 0, value: Buffer.from('v') }],
      success: [{ requestPut: { key: Buffer.from('k'), value: Buffer.from('w') } }],
      failure: [],
    } as unknown as TxnRequest),
  ];
  const next = prng(20261127);
  const codes = new Map<string, number>();
  for (let i = 0; i < 600; i++) {
    const method = METHODS[next() % METHODS.length]!;
    const res = await rawGrpc(port, method, frame(randomBody(next, valid)));
    const status = res.trailers['grpc-status'] ?? res.headers['grpc-status'];
    assert.ok(status !== undefined, `${method}: no grpc-status (headers ${JSON.stringify(res.headers)})`);
    codes.set(String(status), (codes.get(String(status)) ?? 0) + 1);
  }
  // Both answers and refusals happened: the bodies reached the handlers and the checks.
  assert.ok((codes.get('0') ?? 0) > 0, `no call succeeded: ${JSON.stringify([...codes])}`);
  assert.ok(codes.size > 1, `every call answered the same: ${JSON.stringify([...codes])}`);

  // A watch stream fed garbage, then the member still writes and reads.
  await new Promise<void>((resolve) => {
    const c = http2.connect(`http://127.0.0.1:${port}`);
    c.on('error', () => {});
    const w = c.request({ ':method': 'POST', ':path': '/etcdserverpb.Watch/Watch', 'content-type': 'application/grpc', te: 'trailers' });
    w.on('data', () => {});
    w.on('error', () => {});
    w.on('close', () => {
      c.close();
      resolve();
    });
    for (let i = 0; i < 20; i++) w.write(frame(randomBody(next, valid)));
    w.end();
  });
  const ok = await rawGrpc(port, '/etcdserverpb.KV/Put', frame(put.encode({ key: Buffer.from('after'), value: Buffer.from('fuzz') } as PutRequest)));
  assert.equal(ok.trailers['grpc-status'] ?? ok.headers['grpc-status'], '0');
  const got = await rawGrpc(port, '/etcdserverpb.KV/Range', frame(range.encode({ key: Buffer.from('after') } as RangeRequest)));
  assert.equal(got.trailers['grpc-status'] ?? got.headers['grpc-status'], '0');
  assert.ok(got.messages[0]!.includes(Buffer.from('fuzz')));
});
