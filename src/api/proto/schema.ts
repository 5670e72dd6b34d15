// Loads etcd's v3 API protos (rpc.proto, kv.proto, auth.proto as shipped by the etcd3 package)
// with protobufjs, once, and hands out message codecs and service descriptions by name; likewise
// for self-contained protos of tsetcd's own in proto/ (e.g. health.proto).

import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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

/** Codecs and methods of one self-contained proto file. */
export interface LocalProto {
  codecOf<T>(typeName: string): MessageCodec<T>;
  serviceMethods(serviceName: string): MethodInfo[];
}

const localProtos = new Map<string, LocalProto>();

/** proto/<file> at the repository root, found from this module's location (src/ or dist/src/). */
export function localProtoPath(file: string): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    const candidate = path.join(dir, 'proto', file);
    if (fs.existsSync(candidate)) return candidate;
    dir = path.dirname(dir);
  }
  throw new Error(`proto/${file} not found above ${fileURLToPath(import.meta.url)}`);
}

/** A proto of ours without imports (proto/<file>), parsed once on first use (start-up only). */
export function localProto(file: string): LocalProto {
  let p = localProtos.get(file);
  if (p !== undefined) return p;
  const r = new protobuf.Root();
  r.loadSync(localProtoPath(file), { keepCase: false });
  r.resolveAll();
  const own = new Map<string, MessageCodec<unknown>>();
  const codec = <T>(typeName: string): MessageCodec<T> => {
    let c = own.get(typeName);
    if (c === undefined) {
      c = new MessageCodec<unknown>(r.lookupType(typeName), codec);
      own.set(typeName, c);
    }
    return c as MessageCodec<T>;
  };
  p = { codecOf: codec, serviceMethods: (name) => methodsOf(r.lookupService(name)) };
  localProtos.set(file, p);
  return p;
}
