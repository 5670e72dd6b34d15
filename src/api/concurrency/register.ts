// Registers the Lock and Election services on the gRPC server and the JSON gateway. Their unary
// calls may wait indefinitely (for a lock, for leadership), so they run as one-request streams on
// gRPC and as cancellable requests on the gateway: when the client goes away or the server stops,
// the wait ends and the recipe removes its half-taken key, as etcd's do on context cancellation.

import { Code, GrpcError, toGrpcError } from '../errors.js';
import type { GrpcServer, StreamCall, StreamHandler } from '../grpc/server.js';
import type { Gateway } from '../http/gateway.js';
import type { EtcdServerApi } from '../types.js';
import { electionHandlers, electionStreamHandlers } from '../v3election/election.js';
import { lockHandlers } from '../v3lock/lock.js';
import type { StreamHandlers } from '../v3rpc/handlers.js';
import type { RecipeHandlers } from './keys.js';
import { codecOf, serviceMethods } from './protos.js';

/**
 * etcd's lock and election servers call the server through an in-process client, which turns
 * every server error into a plain error: the client sees gRPC Unknown with the same text.
 */
export function asUnknown(e: unknown): GrpcError {
  const g = toGrpcError(e);
  return g.code === Code.UNKNOWN ? g : new GrpcError(Code.UNKNOWN, g.message);
}

/** A unary handler driven as a stream call: one request, one response, cancelled with the stream. */
function unaryAsStream(h: RecipeHandlers[string]): StreamHandler<unknown, unknown> {
  return (call: StreamCall<unknown, unknown>) => {
    const ac = new AbortController();
    let got = false;
    call.onCancel = () => ac.abort();
    call.onHalfClose = () => {
      if (!got) call.end(new GrpcError(Code.INTERNAL, 'grpc: unary call received 0 messages'));
    };
    call.onMessage = (req) => {
      if (got) return;
      got = true;
      h(req, { ctx: call.ctx, signal: ac.signal }).then(
        (res) => {
          if (call.write(res)) call.end();
        },
        (e: unknown) => call.end(asUnknown(e)),
      );
    };
  };
}

/**
 * `intercept` puts a gRPC handler behind the server's interceptors (learner, require-leader);
 * `unary` says the method is unary in etcd, where a lost leader does not cancel it.
 */
export type Intercept = (h: StreamHandler<unknown, unknown>, unary: boolean) => StreamHandler<unknown, unknown>;

export function registerConcurrencyServices(grpc: GrpcServer, gateway: Gateway, s: EtcdServerApi, intercept: Intercept = (h) => h): void {
  const unary: Record<string, RecipeHandlers> = {
    'v3lockpb.Lock': lockHandlers(s),
    'v3electionpb.Election': electionHandlers(s),
  };
  const streams: Record<string, StreamHandlers> = {
    'v3electionpb.Election': electionStreamHandlers(s),
  };
  for (const service of Object.keys(unary)) {
    for (const m of serviceMethods(service)) {
      const req = codecOf<unknown>(m.requestType);
      const res = codecOf<unknown>(m.responseType);
      const u = unary[service][m.name];
      const st = streams[service]?.[m.name];
      if (u !== undefined && !m.responseStream) {
        // Labelled unary in the metrics, as etcd counts them, though driven as a stream here.
        grpc.addStream(m.path, req, res, intercept(unaryAsStream(u), true), 'unary' as 'server_stream');
        if (m.httpPost !== undefined) gateway.addCancellable(m.httpPost, req, res, (r, c) => u(r, c).catch((e: unknown) => Promise.reject(asUnknown(e))));
      } else if (st !== undefined) {
        grpc.addStream(m.path, req, res, intercept(st, false), 'server_stream');
        if (m.httpPost !== undefined) gateway.addStream(m.httpPost, req, res, st);
      }
    }
  }
}
