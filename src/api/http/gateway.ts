// etcd's JSON gateway (grpc-gateway) on the HTTP port: POST /v3/kv/range with a JSON request
// runs the same handler as the gRPC call and answers JSON. Routes come from the google.api.http
// options in the protos, additional_bindings included (/v3/kv/lease/revoke ...); as in
// grpc-gateway, the first method registered for a path serves it. Streaming methods (/v3/watch,
// /v3/lease/keepalive, /v3/election/observe) take one or more JSON requests as the body and stream
// back newline-delimited {"result": ...} objects; the request body is read whole before the stream
// starts. Errors are {"error","message","code"} with grpc-gateway's HTTP status for the gRPC code;
// unknown paths under /v3/ get grpc-gateway's "Not Found".

import type { IncomingHttpHeaders } from 'node:http';
import protobuf from 'protobufjs';
import { StringDecoder } from 'node:string_decoder';
import { Code, GrpcError, toGrpcError } from '../errors.js';
import { type CallHeaders, contextOf, type StreamCall, type StreamHandler, type UnaryCall } from '../grpc/server.js';
import type { MessageCodec } from '../proto/codec.js';
import { fromJson, toJson } from '../proto/json.js';
import { protoRoot } from '../proto/schema.js';
import type { RequestContext } from '../types.js';
import type { UnaryHandlers } from '../v3rpc/handlers.js';
import { BodyTooLarge, type HttpExchange } from './exchange.js';

/** A unary handler that may wait long (Lock, Campaign): told through `signal` when the client leaves. */
export type CancellableHandler = (req: any, call: { ctx: RequestContext; signal: AbortSignal }) => Promise<unknown>;

interface Route {
  req: MessageCodec<unknown>;
  res: MessageCodec<unknown>;
  unary?: UnaryHandlers[string];
  cancellable?: CancellableHandler;
  stream?: StreamHandler<unknown, unknown>;
}

/** The prefix grpc-gateway is mounted on; other unknown paths are the plain HTTP mux's 404. */
export const GATEWAY_PREFIX = '/v3/';

let extraBindings: Map<string, string[]> | undefined;

interface HttpRule {
  post?: string;
  additional_bindings?: HttpRule | HttpRule[];
}

/** Paths of additional_bindings by primary path, from etcd's rpc.proto. */
function additionalBindings(primary: string): string[] {
  if (extraBindings === undefined) {
    const found = new Map<string, string[]>();
    const visit = (ns: protobuf.NamespaceBase) => {
      for (const n of ns.nestedArray) {
        if (n instanceof protobuf.Service) {
          for (const m of n.methodsArray) {
            for (const o of (m.parsedOptions ?? []) as Record<string, HttpRule>[]) {
              const rule = o['(google.api.http)'];
              if (rule?.post === undefined || rule.additional_bindings === undefined) continue;
              const extra = ([] as HttpRule[]).concat(rule.additional_bindings);
              found.set(rule.post, extra.flatMap((b) => (b.post === undefined ? [] : [b.post])));
            }
          }
        } else if (n instanceof protobuf.Namespace) visit(n);
      }
    };
    visit(protoRoot());
    extraBindings = found;
  }
  return extraBindings.get(primary) ?? [];
}

const JSON_TYPE = { 'content-type': 'application/json' };
const TEXT_TYPE = { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' };

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
  return JSON.stringify({ error: g.message, message: g.message, code: g.code });
}

/** http.StatusText of the statuses httpStatusOf yields (grpc-gateway's stream errors carry it). */
const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  409: 'Conflict',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** Splits a body of concatenated JSON objects ("{..}{..}" or one per line). */
export function splitJsonObjects(text: string): unknown[] {
  const sp = new JsonObjectSplitter();
  const out = sp.push(text);
  sp.end();
  return out;
}

/**
 * Splits a request body arriving in pieces into its JSON objects, as each completes (a streaming
 * call's requests are handled as they come). An object growing past `limit` characters throws
 * BodyTooLarge.
 */
export class JsonObjectSplitter {
  private buf = '';
  private pos = 0;
  private depth = 0;
  private inString = false;
  private escaped = false;
  private start = -1;

  constructor(private readonly limit = Infinity) {}

  /** Appends text; returns the objects it completed. */
  push(text: string): unknown[] {
    const out: unknown[] = [];
    this.buf += text;
    const b = this.buf;
    for (let i = this.pos; i < b.length; i++) {
      const c = b[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === '\\') this.escaped = true;
        else if (c === '"') this.inString = false;
        continue;
      }
      if (c === '"') this.inString = true;
      else if (c === '{') {
        if (this.depth++ === 0) this.start = i;
      } else if (c === '}') {
        if (this.depth === 0) throw new Error('unbalanced JSON');
        if (--this.depth === 0) {
          out.push(JSON.parse(b.slice(this.start, i + 1)));
          this.start = -1;
        }
      } else if (this.depth === 0 && !/\s/.test(c!)) throw new Error(`unexpected ${JSON.stringify(c)} in JSON body`);
    }
    // Keep only the object in progress.
    if (this.start >= 0) {
      this.buf = b.slice(this.start);
      this.start = 0;
    } else this.buf = '';
    this.pos = this.buf.length;
    if (this.buf.length > this.limit) throw new BodyTooLarge(`request body larger than ${this.limit} bytes`);
    return out;
  }

  /** The body ended: throws if an object was left incomplete. */
  end(): void {
    if (this.depth !== 0 || this.inString) throw new Error('unexpected end of JSON body');
  }
}

const METADATA_PREFIX = 'grpc-metadata-';

/**
 * The gRPC metadata grpc-gateway passes on for an HTTP request: Authorization, and headers named
 * Grpc-Metadata-<key> as <key> (e.g. Grpc-Metadata-Hasleader, Grpc-Metadata-Token); other HTTP
 * headers are not metadata.
 */
export function gatewayMetadata(headers: IncomingHttpHeaders): CallHeaders {
  const md: Record<string, string | string[] | undefined> = {};
  if (headers.authorization !== undefined) md.authorization = headers.authorization;
  for (const [k, v] of Object.entries(headers)) {
    if (k.startsWith(METADATA_PREFIX) && k.length > METADATA_PREFIX.length) md[k.slice(METADATA_PREFIX.length)] = v;
  }
  return md;
}

export class Gateway {
  private readonly routes = new Map<string, Route>();

  constructor(private readonly maxBodyBytes: number) {}

  addUnary(path: string, req: MessageCodec<unknown>, res: MessageCodec<unknown>, h: UnaryHandlers[string]): void {
    this.add(path, { req, res, unary: h });
  }

  addCancellable(path: string, req: MessageCodec<unknown>, res: MessageCodec<unknown>, h: CancellableHandler): void {
    this.add(path, { req, res, cancellable: h });
  }

  addStream(path: string, req: MessageCodec<unknown>, res: MessageCodec<unknown>, h: StreamHandler<unknown, unknown>): void {
    this.add(path, { req, res, stream: h });
  }

  private add(path: string, route: Route): void {
    for (const p of [path, ...additionalBindings(path)]) if (!this.routes.has(p)) this.routes.set(p, route);
  }

  /** True for the paths the gateway answers: its routes and anything else under /v3/. */
  handles(path: string): boolean {
    return this.routes.has(path) || path.startsWith(GATEWAY_PREFIX);
  }

  async serve(x: HttpExchange, path: string): Promise<void> {
    const route = this.routes.get(path);
    if (route === undefined) {
      x.reply(404, TEXT_TYPE, 'Not Found\n');
      return;
    }
    if (x.method !== 'POST') {
      x.reply(405, TEXT_TYPE, 'Method Not Allowed\n');
      return;
    }
    if (route.stream !== undefined) {
      this.serveStream(x, route);
      return;
    }
    let msgs: unknown[];
    try {
      const body = (await x.body(this.maxBodyBytes)).toString('utf8');
      msgs = body.trim() === '' ? [{}] : splitJsonObjects(body);
      msgs = msgs.map((m) => fromJson(route.req, m));
    } catch (e) {
      const g = new GrpcError(e instanceof BodyTooLarge ? Code.RESOURCE_EXHAUSTED : Code.INVALID_ARGUMENT, (e as Error).message);
      x.reply(httpStatusOf(g.code), JSON_TYPE, errorBody(g));
      return;
    }
    await this.serveUnary(x, route, msgs[0]);
  }

  private async serveUnary(x: HttpExchange, route: Route, req: unknown): Promise<void> {
    try {
      let res: unknown;
      if (route.cancellable !== undefined) {
        const ac = new AbortController();
        x.onClose(() => ac.abort());
        const md = gatewayMetadata(x.headers);
        res = await route.cancellable(req, { ctx: contextOf(md), signal: ac.signal });
      } else {
        const md = gatewayMetadata(x.headers);
        const call: UnaryCall = { headers: md, ctx: contextOf(md), messageLength: route.req.size(req) };
        res = await (route.unary as UnaryHandlers[string])(req, call);
      }
      x.reply(200, JSON_TYPE, JSON.stringify(toJson(route.res, res)));
    } catch (e) {
      const g = toGrpcError(e);
      x.reply(httpStatusOf(g.code), JSON_TYPE, errorBody(g));
    }
  }

  /**
   * A streaming call over HTTP, as grpc-gateway runs one: the body's JSON objects are the requests,
   * handled as they arrive (a client may keep the body open and send more). The call starts with the
   * first request; a first request that does not decode is an Unknown error, a later one ends the
   * client's side of the call (grpc-gateway logs it and closes its send side). An empty body is one
   * empty request.
   */
  private serveStream(x: HttpExchange, route: Route): void {
    const splitter = new JsonObjectSplitter(this.maxBodyBytes);
    const text = new StringDecoder('utf8');
    let call: StreamCall<unknown, unknown> | null = null;
    let stopped = false;
    const bad = (e: unknown): void => {
      stopped = true;
      if (call === null) {
        const g = new GrpcError(e instanceof BodyTooLarge ? Code.RESOURCE_EXHAUSTED : Code.UNKNOWN, (e as Error).message);
        x.reply(httpStatusOf(g.code), JSON_TYPE, errorBody(g));
      } else if (!call.ended) call.onHalfClose();
    };
    const feed = (objs: unknown[]): void => {
      for (const o of objs) {
        let m: unknown;
        try {
          m = fromJson(route.req, o);
        } catch (e) {
          bad(e);
          return;
        }
        call ??= this.startStream(x, route);
        if (call.ended) return;
        call.onMessage(m);
      }
    };
    x.bodyStream(
      (chunk) => {
        if (stopped) return;
        try {
          feed(splitter.push(text.write(chunk)));
        } catch (e) {
          bad(e);
        }
      },
      () => {
        if (stopped) return;
        try {
          feed(splitter.push(text.end()));
          splitter.end();
        } catch (e) {
          bad(e);
          return;
        }
        if (stopped) return;
        if (call === null) feed([{}]);
        if (call !== null && !(call as StreamCall<unknown, unknown>).ended) (call as StreamCall<unknown, unknown>).onHalfClose();
      },
    );
  }

  /** Starts the handler of a streaming route on `x`; its responses are newline-delimited JSON. */
  private startStream(x: HttpExchange, route: Route): StreamCall<unknown, unknown> {
    let started = false;
    const md = gatewayMetadata(x.headers);
    const call: StreamCall<unknown, unknown> = {
      headers: md,
      ctx: contextOf(md),
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
        const httpCode = httpStatusOf(err.code);
        const body = JSON.stringify({
          error: { grpc_code: err.code, http_code: httpCode, message: err.message, http_status: STATUS_TEXT[httpCode] ?? '' },
        });
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
    return call;
  }
}
