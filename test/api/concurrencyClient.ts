// Test plumbing for the Lock and Election services: a single-member EtcdServer in a temp dir behind
// an ApiServer on 127.0.0.1:0, and @grpc/grpc-js clients built from our proto/*.proto files, so the
// services are exercised over real gRPC as etcd's clients call them.

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ApiServer } from '../../src/api/apiServer.js';
import type { EtcdServer } from '../../src/server/server.js';
import { startServer, tempDir } from '../server/helpers.js';

// dist/test/api -> repository root
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const ETCD_PROTO = path.join(path.dirname(createRequire(import.meta.url).resolve('etcd3/package.json')), 'proto');

type Callback = (err: grpc.ServiceError | null, res: any) => void;
type UnaryMethod = (req: object, opts: object | Callback, cb?: Callback) => grpc.ClientUnaryCall;

export interface Clients {
  lock: grpc.Client & Record<string, UnaryMethod>;
  election: grpc.Client & Record<string, UnaryMethod> & { Observe(req: object): grpc.ClientReadableStream<any> };
  kv: grpc.Client & Record<string, UnaryMethod>;
  lease: grpc.Client & Record<string, UnaryMethod>;
}

export interface Harness {
  server: EtcdServer;
  api: ApiServer;
  port: number;
  clients: Clients;
  stop(): Promise<void>;
}

function loadPackage(): any {
  const def = protoLoader.loadSync([path.join(ROOT, 'proto/v3lock.proto'), path.join(ROOT, 'proto/v3election.proto')], {
    includeDirs: [ETCD_PROTO, path.join(ROOT, 'proto')],
    keepCase: true,
    longs: String,
    defaults: true,
  });
  return grpc.loadPackageDefinition(def);
}

export async function startHarness(): Promise<Harness> {
  const dir = tempDir('tsetcd-lockelect-');
  const server = await startServer(dir);
  const api = new ApiServer(server, { port: 0, stopGraceMs: 200 });
  await api.start();
  const pkg = loadPackage();
  const addr = `127.0.0.1:${api.port}`;
  const cred = grpc.credentials.createInsecure();
  const clients: Clients = {
    lock: new pkg.v3lockpb.Lock(addr, cred),
    election: new pkg.v3electionpb.Election(addr, cred),
    kv: new pkg.etcdserverpb.KV(addr, cred),
    lease: new pkg.etcdserverpb.Lease(addr, cred),
  };
  return {
    server,
    api,
    port: api.port,
    clients,
    async stop() {
      for (const c of Object.values(clients)) c.close();
      await api.stop();
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A unary call as a promise; rejects with the grpc ServiceError. */
export function call<T = any>(client: Record<string, UnaryMethod>, method: string, req: object, opts: grpc.CallOptions = {}): Promise<T> {
  return new Promise((resolve, reject) => {
    client[method].call(client, req, opts, (err: grpc.ServiceError | null, res: T) => (err ? reject(err) : resolve(res)));
  });
}

/** Starts a unary call that may block; `cancel()` cancels it from the client side. */
export function pending<T = any>(client: Record<string, UnaryMethod>, method: string, req: object) {
  let c!: grpc.ClientUnaryCall;
  let settled = false;
  const p = new Promise<T>((resolve, reject) => {
    c = client[method].call(client, req, {}, (err: grpc.ServiceError | null, res: T) => {
      settled = true;
      if (err) reject(err);
      else resolve(res);
    });
  });
  p.catch(() => {});
  return { promise: p, cancel: () => c.cancel(), get settled() { return settled; } };
}

export const b = (s: string): Buffer => Buffer.from(s);

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Keys (as strings) under a prefix, in key order. */
export async function keysUnder(clients: Clients, prefix: string): Promise<string[]> {
  const end = Buffer.from(prefix);
  end[end.length - 1]++;
  const r = await call(clients.kv, 'Range', { key: b(prefix), range_end: end, keys_only: true });
  return r.kvs.map((kv: { key: Buffer }) => kv.key.toString());
}

export async function grantLease(clients: Clients, ttl = 30): Promise<string> {
  return (await call(clients.lease, 'LeaseGrant', { TTL: ttl })).ID as string;
}
