// Loads tsetcd's v3lock and v3election protos (proto/*.proto at the repository root) on top of
// etcd's rpc.proto and hands out their codecs and service methods, as proto/schema does for
// etcdserverpb. Nested etcdserverpb and mvccpb messages use schema's codecs, so headers and
// key-values encode exactly as everywhere else.

import { createRequire } from 'node:module';
import path from 'node:path';
import protobuf from 'protobufjs';
import { MessageCodec } from '../proto/codec.js';
import { codecOf as etcdCodecOf, localProtoPath, methodsOf, type MethodInfo } from '../proto/schema.js';

const FILES = ['v3lock.proto', 'v3election.proto'];
const OWN_PACKAGES = /^(v3lockpb|v3electionpb)\./;

let root: protobuf.Root | undefined;
const codecs = new Map<string, MessageCodec<unknown>>();


function concurrencyRoot(): protobuf.Root {
  if (root !== undefined) return root;
  const require = createRequire(import.meta.url);
  const etcdDir = path.join(path.dirname(require.resolve('etcd3/package.json')), 'proto');
  const own = path.dirname(localProtoPath(FILES[0]));
  const r = new protobuf.Root();
  // Our files import etcd's by bare name; etcd's own relative imports resolve as usual.
  r.resolvePath = (origin, target) =>
    path.dirname(origin) === own && !FILES.includes(target) ? path.join(etcdDir, target) : protobuf.util.path.resolve(origin, target);
  r.loadSync(FILES.map((f) => path.join(own, f)), { keepCase: false });
  r.resolveAll();
  root = r;
  return r;
}

/** The codec of a v3lockpb / v3electionpb message (etcd's own types come from proto/schema). */
export function codecOf<T>(typeName: string): MessageCodec<T> {
  if (!OWN_PACKAGES.test(typeName)) return etcdCodecOf<T>(typeName);
  let c = codecs.get(typeName);
  if (c === undefined) {
    c = new MessageCodec<unknown>(concurrencyRoot().lookupType(typeName), codecOf);
    codecs.set(typeName, c);
  }
  return c as MessageCodec<T>;
}

/** The methods of "v3lockpb.Lock" or "v3electionpb.Election". */
export function serviceMethods(serviceName: string): MethodInfo[] {
  return methodsOf(concurrencyRoot().lookupService(serviceName));
}
