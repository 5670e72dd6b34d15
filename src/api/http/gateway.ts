// etcd's JSON gateway (grpc-gateway) on the HTTP port: POST /v3/kv/range with a JSON request
// runs the same handler as the gRPC call and answers JSON. Routes come from the google.api.http
// options in the protos. Streaming methods (/v3/watch, /v3/lease/keepalive) take one or more
// JSON requests as the body and stream back newline-delimited {"result": ...} objects, as
// grpc-gateway does; the request body is read whole before the stream starts.
// Errors are {"error","code","message"} with grpc-gateway's HTTP status for the gRPC code.

import { Code, GrpcError, toGrpcError } from '../errors.js';
import { contextOf, type StreamCall, type StreamHandler, type UnaryCall } from '../grpc/server.js';
import type { MessageCodec } from '../proto/codec.js';
import { fromJson, toJson } from '../proto/json.js';
import type { UnaryHandlers } from '../v3rpc/handlers.js';
import { BodyTooLarge, type HttpExchange } from './exchange.js';

interface Route {
  req: MessageCodec<unknown>;
  res: MessageCodec<unknown>;
  unary?: UnaryHandlers[string];
  stream?: StreamHandler<unknown, unknown>;
}

const JSON_TYPE = { 'content-type': 'application/json' };

/** grpc-gateway v1's runtime.HTTPStatusFromCode. */
export function httpStatusOf(code: Code): number {
  switch (code) {
    case Code.OK:
      return 200;
    case Code.CANCELLED:
      return 408;
    case Code.INVALID_ARGUMENT:
    case Code.FAILED_PRECONDITION:
    case Code.OUT_OF_RANGE:
      return 400;
    case Code.DEADLINE_EXCEEDED:
      return 504;
    case Code.NOT_FOUND:
      return 404;
    case Code.ALREADY_EXISTS:
    case Code.ABORTED:
      return 409;
    case Code.PERMISSION_DENIED:
      return 403;
    case Code.UNAUTHENTICATED:
      return 401;
    case Code.RESOURCE_EXHAUSTED:
      return 429;
    case Code.UNIMPLEMENTED:
      return 501;
    case Code.UNAVAILABLE:
      return 503;
    default:
      return 500;
  }
}

function errorBody(g: GrpcError): string {
  return JSON.stringify({ error: g.message, code: g.code, message: g.message });
}

/** Splits a body of concatenated JSON objects ("{..}{..}" or one per line). */
export function splitJsonObjects(text: string): unknown[] {
  const out: unknown[] = [];
  let depth = 0;
  let inString = false;
  let start = -1;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{') {
      if (depth++ === 0) start = i;
    } else if (c === '}') {
      if (--depth === 0) out.push(JSON.parse(text.slice(start, i + 1)));
      if (depth < 0) throw new Error('unbalanced JSON');
    } else if (depth === 0 && !/\s/.test(c)) throw new Error(`unexpected ${JSON.stringify(c)} in JSON body`);
  }
  if (depth !== 0 || inString) throw new Error('unexpected end of JSON body');
  return out;
}

export class Gateway {
  private readonly routes = new Map<string, Route>();

  constructor(private readonly maxBodyBytes: number) {}

  addUnary(path: string, req: MessageCodec<unknown>, res: MessageCodec<unknown>, h: UnaryHandlers[string]): void {
    this.routes.set(path, { req, res, unary: h });
  }

  addStream(path: string, req: MessageCodec<unknown>, res: MessageCodec<unknown>, h: StreamHandler<unknown, unknown>): void {
    this.routes.set(path, { req, res, stream: h });
  }

  /** Serves the request if the path is a gateway route; false otherwise. */
  handles(path: string): boolean {
    return this.routes.has(path);
  }

  async serve(x: HttpExchange, path: string): Promise<void> {
    const route = this.routes.get(path);
    if (route === undefined) throw new Error(`no gateway route ${path}`);
    if (x.method !== 'POST') {
      x.reply(405, { 'content-type': 'text/plain; charset=utf-8', allow: 'POST' }, 'Method Not Allowed\n');
      return;
    }
    let msgs: unknown[];
    try {
      const body = (await x.body(this.maxBodyBytes)).toString('utf8');
      msgs = body.trim() === '' ? [{}] : splitJsonObjects(body);
      msgs = msgs.map((m) => fromJson(route.req, m));
    } catch (e) {
      const g =
        e instanceof BodyTooLarge
          ? new GrpcError(Code.RESOURCE_EXHAUSTED, (e as Error).message)
          : new GrpcError(Code.INVALID_ARGUMENT, (e as Error).message);
      x.reply(httpStatusOf(g.code), JSON_TYPE, errorBody(g));
      return;
    }
    if (route.unary !== undefined) await this.serveUnary(x, route, msgs[0]);
    else this.serveStream(x, route, msgs);
  }

  private async serveUnary(x: HttpExchange, route: Route, req: unknown): Promise<void> {
    const call: UnaryCall = { headers: x.headers, ctx: contextOf(x.headers), messageLength: route.req.size(req) };
    try {
      const res = await (route.unary as UnaryHandlers[string])(req, call);
      x.reply(200, JSON_TYPE, JSON.stringify(toJson(route.res, res)));
    } catch (e) {
      const g = toGrpcError(e);
      x.reply(httpStatusOf(g.code), JSON_TYPE, errorBody(g));
    }
  }

  private serveStream(x: HttpExchange, route: Route, reqs: unknown[]): void {
    let started = false;
    const call: StreamCall<unknown, unknown> = {
      headers: x.headers,
      ctx: contextOf(x.headers),
      onMessage: () => {},
      onHalfClose: () => {},
      onCancel: () => {},
      ended: false,
      write(res) {
        if (call.ended) return false;
        if (!started) {
          started = true;
          x.start(200, JSON_TYPE);
        }
        x.write(`${JSON.stringify({ result: toJson(route.res, res) })}\n`);
        return true;
      },
      end(err) {
        if (call.ended) return;
        (call as { ended: boolean }).ended = true;
        if (err === undefined) {
          if (!started) x.reply(200, JSON_TYPE, '');
          else x.end();
          return;
        }
        const body = JSON.stringify({ error: { grpc_code: err.code, http_code: httpStatusOf(err.code), message: err.message } });
        if (!started) x.reply(httpStatusOf(err.code), JSON_TYPE, `${body}\n`);
        else {
          x.write(`${body}\n`);
          x.end();
        }
      },
    };
    x.onClose(() => {
      if (call.ended) return;
      (call as { ended: boolean }).ended = true;
      call.onCancel();
    });
    (route.stream as StreamHandler<unknown, unknown>)(call);
    for (const r of reqs) if (!call.ended) call.onMessage(r);
    if (!call.ended) call.onHalfClose();
  }
}
