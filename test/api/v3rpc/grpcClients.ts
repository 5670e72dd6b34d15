// Test plumbing: @grpc/grpc-js clients of etcd's KV, Watch and Lease services and of the gRPC
// health service, built from etcd3's rpc.proto and our proto/health.proto, plus promise helpers
// for unary calls and a watch stream that records what it receives and how it ended. Calls may
// carry clientv3's require-leader metadata (`hasleader: true`).

import * as grpc from '@grpc/grpc-js';
import { ApiServer } from '../../../src/api/apiServer.js';
import type { EtcdServerApi } from '../../../src/api/types.js';
import * as protoLoader from '@grpc/proto-loader';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

// dist/test/api/v3rpc -> repository root
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../..');
const ETCD_PROTO = path.join(path.dirname(createRequire(import.meta.url).resolve('etcd3/package.json')), 'proto');

type Callback = (err: grpc.ServiceError | null, res: any) => void;
type UnaryMethod = (req: object, md: grpc.Metadata, opts: grpc.CallOptions, cb: Callback) => grpc.ClientUnaryCall;
export type Client = grpc.Client & Record<string, any>;

export interface Clients {
  kv: Client;
  watch: Client;
  lease: Client;
  health: Client;
  close(): void;
}

let pkg: any;

function loadPackage(): any {
  if (pkg !== undefined) return pkg;
  const def = protoLoader.loadSync([path.join(ETCD_PROTO, 'rpc.proto'), path.join(ROOT, 'proto/health.proto')], {
    includeDirs: [ETCD_PROTO, path.join(ROOT, 'proto')],
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
  });
  pkg = grpc.loadPackageDefinition(def);
  return pkg;
}

export function clients(endpoint: string): Clients {
  const p = loadPackage();
  const cred = grpc.credentials.createInsecure();
  const c = {
    kv: new p.etcdserverpb.KV(endpoint, cred) as Client,
    watch: new p.etcdserverpb.Watch(endpoint, cred) as Client,
    lease: new p.etcdserverpb.Lease(endpoint, cred) as Client,
    health: new p.grpc.health.v1.Health(endpoint, cred) as Client,
  };
  return { ...c, close: () => Object.values(c).forEach((x) => x.close()) };
}

/** Metadata of clientv3.WithRequireLeader (or none). */
export function metadata(requireLeader: boolean): grpc.Metadata {
  const md = new grpc.Metadata();
  if (requireLeader) md.set('hasleader', 'true');
  return md;
}

/** A unary call as a promise; rejects with the grpc ServiceError. */
export function unary<T = any>(client: Client, method: string, req: object, requireLeader = false, timeoutMs = 3000): Promise<T> {
  return new Promise((resolve, reject) => {
    const m = client[method] as UnaryMethod;
    m.call(client, req, metadata(requireLeader), { deadline: Date.now() + timeoutMs }, (err, res) => (err ? reject(err) : resolve(res)));
  });
}

/** A rejection's gRPC code and message. */
export async function failure(p: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await p;
  } catch (e) {
    const err = e as grpc.ServiceError;
    return { code: err.code, details: err.details };
  }
  throw new Error('the call succeeded');
}

/** A bidi or server stream that records responses and its end (error, or clean end). */
export class RecordingStream {
  readonly responses: any[] = [];
  error: grpc.ServiceError | undefined;
  endedAt = 0;
  private waiters: (() => void)[] = [];

  constructor(readonly call: grpc.ClientDuplexStream<any, any> | grpc.ClientReadableStream<any>) {
    call.on('data', (r: any) => {
      this.responses.push(r);
      this.wake();
    });
    call.on('error', (e: grpc.ServiceError) => {
      this.error = e;
      this.finish();
    });
    call.on('end', () => this.finish());
  }

  get ended(): boolean {
    return this.endedAt !== 0;
  }

  private finish(): void {
    if (this.endedAt === 0) this.endedAt = Date.now();
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Waits until `pred` holds (checked on every response and at the end), or fails after timeoutMs. */
  async until(pred: (s: RecordingStream) => boolean, timeoutMs: number, what: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!pred(this)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; got ${JSON.stringify(this.responses)} ${this.error?.message ?? ''}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 50));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  cancel(): void {
    this.call.cancel();
  }
}

/** Opens a Watch stream on `prefix` and waits for its `created` response. */
export async function openWatch(c: Clients, prefix: string, requireLeader: boolean): Promise<RecordingStream> {
  const s = new RecordingStream(c.watch.Watch(metadata(requireLeader)));
  (s.call as grpc.ClientDuplexStream<any, any>).write({
    create_request: { key: Buffer.from(prefix), range_end: prefixEnd(prefix) },
  });
  await s.until((x) => x.responses.some((r) => r.created) || x.ended, 5000, 'the watch to be created');
  return s;
}

function prefixEnd(prefix: string): Buffer {
  const b = Buffer.from(prefix);
  b[b.length - 1]++;
  return b;
}

/** Events received so far, as "key=value" strings. */
export function events(s: RecordingStream): string[] {
  return s.responses.flatMap((r) => (r.events ?? []).map((e: any) => `${e.kv.key.toString()}=${e.kv.value.toString()}`));
}

/** An ApiServer over `server` on a free port, with clients for it; stop() closes both. */
export async function serveWithClients(server: EtcdServerApi): Promise<{ api: ApiServer; c: Clients; stop(): Promise<void> }> {
  const api = new ApiServer(server, { port: 0, stopGraceMs: 200 });
  await api.start();
  const c = clients(`127.0.0.1:${api.port}`);
  return {
    api,
    c,
    stop: async () => {
      c.close();
      await api.stop();
    },
  };
}
