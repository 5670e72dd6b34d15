// Runs one load as etcd's benchmark does: --conns gRPC connections (spread over the endpoints),
// --clients concurrent callers sharing them round-robin, each issuing its next request as soon as
// the previous one completes, until --total requests were issued. Latency is measured per request
// from issue to response; the run's time spans the first issue to the last completion.
import { performance } from 'node:perf_hooks';
import { Endpoint } from './endpoint.js';
import { GrpcConn } from './grpcConn.js';
import { Stats, computeStats } from './report.js';

export interface LoadSpec {
  endpoints: Endpoint[];
  conns: number;
  clients: number;
  total: number;
  /** gRPC method path, e.g. /etcdserverpb.KV/Put. */
  method: string;
  /** Request i's encoded message (may return a reused buffer: it is copied when sent). */
  request: (i: number) => Uint8Array;
  dialTimeoutMs?: number;
}

/** Opens `n` connections, connection i to endpoint i mod len(endpoints). */
export async function openConns(endpoints: Endpoint[], n: number, timeoutMs?: number): Promise<GrpcConn[]> {
  const settled = await Promise.allSettled(
    Array.from({ length: n }, (_, i) => GrpcConn.connect({ ...endpoints[i % endpoints.length]!, timeoutMs })),
  );
  const conns = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    for (const c of conns) c.close();
    throw failed.reason as Error;
  }
  return conns;
}

/** Drives `spec.total` requests through already-open connections and returns the statistics. */
export function drive(conns: GrpcConn[], spec: Omit<LoadSpec, 'endpoints' | 'conns' | 'dialTimeoutMs'>): Promise<Stats> {
  const { total, clients } = spec;
  const lats = new Float64Array(total);
  const errors = new Map<string, number>();
  const methods = conns.map((c) => c.method(spec.method));
  let issued = 0;
  let done = 0;
  let ok = 0;
  let t0 = 0;
  return new Promise((resolve) => {
    const finish = (): void => {
      const totalSec = (performance.now() - t0) / 1000;
      resolve(computeStats(lats.subarray(0, ok), totalSec, errors));
    };
    if (total <= 0) {
      t0 = performance.now();
      finish();
      return;
    }
    const startClient = (ci: number): void => {
      const conn = conns[ci % conns.length]!;
      const method = methods[ci % conns.length]!;
      let start = 0;
      const next = (): void => {
        if (issued >= total) return;
        const msg = spec.request(issued++);
        start = performance.now();
        conn.unary(method, msg, onDone);
      };
      const onDone = (err: Error | null): void => {
        const end = performance.now();
        if (err) errors.set(err.message, (errors.get(err.message) ?? 0) + 1);
        else lats[ok++] = (end - start) / 1000;
        if (++done === total) finish();
        else next();
      };
      next();
    };
    t0 = performance.now();
    for (let i = 0; i < clients; i++) startClient(i);
  });
}

/** Opens the connections, runs the load, closes the connections. */
export async function runLoad(spec: LoadSpec): Promise<Stats> {
  if (spec.endpoints.length === 0) throw new Error('no endpoints');
  if (spec.conns < 1 || spec.clients < 1) throw new Error('--conns and --clients must be at least 1');
  const conns = await openConns(spec.endpoints, spec.conns, spec.dialTimeoutMs);
  try {
    return await drive(conns, spec);
  } finally {
    for (const c of conns) c.close();
  }
}
