// Loads etcd's v3 API protos (rpc.proto, kv.proto, auth.proto as shipped by the etcd3 package)
// with protobufjs, once, and hands out message codecs and service descriptions by name.

import { createRequire } from 'node:module';
import path from 'node:path';
import protobuf from 'protobufjs';
import { MessageCodec } from './codec.js';

let root: protobuf.Root | undefined;
const codecs = new Map<string, MessageCodec<unknown>>();

/** The parsed schema (read synchronously on first use: start-up only). */
export function protoRoot(): protobuf.Root {
  if (root !== undefined) return root;
  const require = createRequire(import.meta.url);
  const dir = path.join(path.dirname(require.resolve('etcd3/package.json')), 'proto');
  const r = new protobuf.Root();
  r.loadSync(path.join(dir, 'rpc.proto'), { keepCase: false });
  r.resolveAll();
  root = r;
  return r;
}

/** The codec of a message type, e.g. "etcdserverpb.RangeRequest" (compiled once, cached). */
export function codecOf<T>(typeName: string): MessageCodec<T> {
  let c = codecs.get(typeName);
  if (c === undefined) {
    c = new MessageCodec<unknown>(protoRoot().lookupType(typeName), codecOf);
    codecs.set(typeName, c);
  }
  return c as MessageCodec<T>;
}

export interface MethodInfo {
  /** "/etcdserverpb.KV/Range" */
  path: string;
  name: string;
  requestType: string;
  responseType: string;
  requestStream: boolean;
  responseStream: boolean;
  /** The grpc-gateway route ("/v3/kv/range") when the proto declares one. */
  httpPost: string | undefined;
}

/** The methods of a service of etcd's protos, e.g. "etcdserverpb.KV". */
export function serviceMethods(serviceName: string): MethodInfo[] {
  return methodsOf(protoRoot().lookupService(serviceName));
}

/** The methods of a loaded service, with the grpc-gateway route where the proto declares one. */
export function methodsOf(svc: protobuf.Service): MethodInfo[] {
  const full = svc.fullName.replace(/^\./, '');
  return svc.methodsArray.map((m) => {
    m.resolve();
    const opts = m.options as Record<string, unknown> | undefined;
    const post = opts?.['(google.api.http).post'];
    return {
      path: `/${full}/${m.name}`,
      name: m.name,
      requestType: m.resolvedRequestType!.fullName.replace(/^\./, ''),
      responseType: m.resolvedResponseType!.fullName.replace(/^\./, ''),
      requestStream: m.requestStream === true,
      responseStream: m.responseStream === true,
      httpPost: typeof post === 'string' ? post : undefined,
    };
  });
}
