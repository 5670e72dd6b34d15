// The protobuf JSON mapping as etcd's grpc-gateway speaks it (jsonpb with OrigName): original
// snake_case field names, 64-bit integers as strings, bytes as base64, enums by their etcd names
// (PUT, NOT_EQUAL, ...), default values omitted. Parsing also accepts lowerCamel names, numbers for
// 64-bit fields and enum numbers, as jsonpb does.

import { createRequire } from 'node:module';
import path from 'node:path';
import protobuf from 'protobufjs';
import { Kind, type FieldCodec, type MessageCodec } from './codec.js';

let keepCaseRoot: protobuf.Root | undefined;
const namesCache = new Map<string, Map<number, string>>();

/** Field id -> name as written in the .proto file. */
function protoNames(typeName: string): Map<number, string> {
  let m = namesCache.get(typeName);
  if (m !== undefined) return m;
  if (keepCaseRoot === undefined) {
    const require = createRequire(import.meta.url);
    const dir = path.join(path.dirname(require.resolve('etcd3/package.json')), 'proto');
    keepCaseRoot = new protobuf.Root().loadSync(path.join(dir, 'rpc.proto'), { keepCase: true });
  }
  // Types of other protos (v3lockpb, v3electionpb) have one-word field names: codec names serve.
  const t = keepCaseRoot.lookup(typeName);
  m = new Map(t instanceof protobuf.Type ? t.fieldsArray.map((f) => [f.id, f.name]) : []);
  namesCache.set(typeName, m);
  return m;
}

/** etcd's enum value names are upper snake case: NotEqual -> NOT_EQUAL, Noput -> NOPUT. */
function enumJsonName(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

function lowerCamel(s: string): string {
  return s.replace(/_([a-zA-Z])/g, (_m, c: string) => c.toUpperCase());
}

function scalarToJson(f: FieldCodec, v: unknown): unknown {
  switch (f.kind) {
    case Kind.Int64N:
    case Kind.Uint64N:
    case Kind.Int64B:
    case Kind.Uint64B:
      return String(v);
    case Kind.Bytes:
      return (v as Buffer).toString('base64');
    case Kind.Enum: {
      const name = f.enumNames?.get(v as number);
      return name === undefined ? v : enumJsonName(name);
    }
    case Kind.Message:
      return toJson(f.msg as MessageCodec<unknown>, v);
    default:
      return v;
  }
}

function isDefault(f: FieldCodec, v: unknown): boolean {
  switch (f.kind) {
    case Kind.Bytes:
      return (v as Buffer).length === 0;
    case Kind.String:
      return v === '';
    case Kind.Bool:
      return v === false;
    case Kind.Int64B:
    case Kind.Uint64B:
      return v === 0n;
    case Kind.Message:
      return false;
    default:
      return v === 0;
  }
}

export function toJson(codec: MessageCodec<unknown>, msg: unknown): Record<string, unknown> {
  codec.create(); // links nested codecs
  const names = protoNames(codec.name);
  const m = msg as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const f of codec.fields) {
    const v = m[f.name];
    if (v === undefined || v === null) continue;
    const name = names.get(f.id) ?? f.name;
    if (f.repeated) {
      const arr = v as unknown[];
      if (arr.length > 0) out[name] = arr.map((e) => scalarToJson(f, e));
      continue;
    }
    if (!f.oneof && isDefault(f, v)) continue;
    out[name] = scalarToJson(f, v);
  }
  return out;
}

function bad(f: FieldCodec, v: unknown): Error {
  return new Error(`invalid value for ${f.name}: ${JSON.stringify(v)}`);
}

function scalarFromJson(f: FieldCodec, v: unknown): unknown {
  switch (f.kind) {
    case Kind.Int64N:
    case Kind.Uint64N:
    case Kind.Int32:
    case Kind.Uint32: {
      const n = typeof v === 'string' ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isInteger(n)) throw bad(f, v);
      return n;
    }
    case Kind.Int64B:
    case Kind.Uint64B:
      if (typeof v !== 'string' && typeof v !== 'number') throw bad(f, v);
      try {
        return f.kind === Kind.Int64B ? BigInt.asIntN(64, BigInt(v)) : BigInt.asUintN(64, BigInt(v));
      } catch {
        throw bad(f, v);
      }
    case Kind.Bool:
      if (typeof v !== 'boolean') throw bad(f, v);
      return v;
    case Kind.String:
      if (typeof v !== 'string') throw bad(f, v);
      return v;
    case Kind.Bytes:
      if (typeof v !== 'string') throw bad(f, v);
      return Buffer.from(v, 'base64'); // accepts the URL-safe alphabet too
    case Kind.Enum: {
      if (typeof v === 'number') return v;
      if (typeof v !== 'string') throw bad(f, v);
      for (const [num, name] of f.enumNames ?? []) if (enumJsonName(name) === v || name === v) return num;
      throw bad(f, v);
    }
    case Kind.Message:
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad(f, v);
      return fromJson(f.msg as MessageCodec<unknown>, v);
    default:
      throw bad(f, v);
  }
}

export function fromJson<T>(codec: MessageCodec<T>, obj: unknown): T {
  const msg = codec.create() as Record<string, unknown>;
  if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new Error(`${codec.name}: expected an object`);
  const names = protoNames(codec.name);
  const src = obj as Record<string, unknown>;
  for (const f of codec.fields) {
    const orig = names.get(f.id) ?? f.name;
    let v = src[orig];
    if (v === undefined) v = src[lowerCamel(orig)];
    if (v === undefined || v === null) continue;
    if (f.repeated) {
      if (!Array.isArray(v)) throw bad(f, v);
      msg[f.name] = v.map((e) => scalarFromJson(f, e));
    } else msg[f.name] = scalarFromJson(f, v);
  }
  return msg as T;
}
