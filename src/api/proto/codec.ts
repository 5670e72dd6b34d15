// Protobuf wire encoding and decoding of one message type, compiled from the protobufjs
// reflection of etcd's protos into a flat field table. Decoding yields the plain shapes of
// api/types (every field present, bytes as Buffer views of the input, int64 as number except ID
// fields as bigint); encoding writes those shapes straight into one exactly sized Buffer (sizes
// are computed in a first pass and replayed in the second, so nested messages cost no copies).
// Proto3 rules: default scalars are not written, except members of a oneof.

import type protobuf from 'protobufjs';
import { putVarint, sizeVarint } from '../../pkg/protobuf.js';

export const enum Kind {
  Int64N, // int64 as number
  Uint64N,
  Int64B, // int64 as bigint
  Uint64B,
  Int32,
  Uint32,
  Enum,
  Bool,
  String,
  Bytes,
  Message,
}

/** Fields whose 64-bit values are IDs (leases, members, clusters) and therefore bigint. */
const BIGINT_FIELDS = new Set(['ID', 'lease', 'clusterId', 'memberId', 'leader', 'memberID', 'targetID']);

export interface FieldCodec {
  readonly name: string;
  readonly id: number;
  readonly kind: Kind;
  readonly repeated: boolean;
  /** Member of a oneof: written even when it holds the default value. */
  readonly oneof: boolean;
  /** Tag varint for a single value (and for packed repeated numerics: wire type 2). */
  readonly tag: number;
  readonly tagLen: number;
  /** For Kind.Message. */
  msg: MessageCodec<unknown> | undefined;
  /** For Kind.Enum: the protobufjs value names by number (used by the JSON mapping). */
  readonly enumNames: Map<number, string> | undefined;
  readonly enumValues: Record<string, number> | undefined;
}

const EMPTY = Buffer.alloc(0);
const TWO32 = 4294967296;

function kindOf(f: protobuf.Field): Kind {
  if (f.resolvedType !== null && f.resolvedType !== undefined) {
    return 'values' in f.resolvedType ? Kind.Enum : Kind.Message;
  }
  const big = BIGINT_FIELDS.has(f.name);
  switch (f.type) {
    case 'int64':
      return big ? Kind.Int64B : Kind.Int64N;
    case 'uint64':
      return big ? Kind.Uint64B : Kind.Uint64N;
    case 'int32':
      return Kind.Int32;
    case 'uint32':
      return Kind.Uint32;
    case 'bool':
      return Kind.Bool;
    case 'string':
      return Kind.String;
    case 'bytes':
      return Kind.Bytes;
    default:
      throw new Error(`proto: unsupported field type ${f.type} (${f.fullName})`);
  }
}

function isNumeric(k: Kind): boolean {
  return k !== Kind.String && k !== Kind.Bytes && k !== Kind.Message;
}

function defaultOf(k: Kind): unknown {
  switch (k) {
    case Kind.Int64B:
    case Kind.Uint64B:
      return 0n;
    case Kind.Bool:
      return false;
    case Kind.String:
      return '';
    case Kind.Bytes:
      return EMPTY;
    case Kind.Message:
      return undefined;
    default:
      return 0;
  }
}

/** Encoded size of a numeric scalar (without tag). A number or bigint is accepted for any integer. */
function scalarSize(k: Kind, v: unknown): number {
  switch (k) {
    case Kind.Bool:
      return 1;
    case Kind.Int64B:
    case Kind.Uint64B: {
      const b = BigInt(v as bigint | number);
      if (b >= 0n && b < 0x20000000000000n) return sizeVarint(Number(b));
      return bigVarintLen(b >= 0n ? b : BigInt.asUintN(64, b));
    }
    default: {
      const n = Number(v);
      return n >= 0 ? sizeVarint(n) : 10;
    }
  }
}

/** Varint length of a uint64 at or above 2^53, from its bit length (one bigint operation). */
function bigVarintLen(u: bigint): number {
  const hi = Number(u >> 32n);
  return Math.ceil((64 - Math.clz32(hi)) / 7);
}

function isDefault(k: Kind, v: unknown): boolean {
  switch (k) {
    case Kind.Bytes:
      return (v as Buffer).length === 0;
    case Kind.String:
      return (v as string).length === 0;
    case Kind.Bool:
      return v === false;
    default:
      // == on purpose: 0 and 0n are both the default of an integer field
      return v == 0;
  }
}

/**
 * Reused between encodes: encoding is synchronous and never re-entered. `nSizes` counts the live
 * entries, so the array keeps its backing store instead of being truncated and regrown per encode.
 */
const sizes: number[] = [];
let nSizes = 0;
let cursor = 0;

export class MessageCodec<T> {
  readonly name: string;
  readonly fields: FieldCodec[];
  private readonly byId: (FieldCodec | undefined)[] = [];

  constructor(type: protobuf.Type, lookup: (name: string) => MessageCodec<unknown>) {
    this.name = type.fullName.replace(/^\./, '');
    type.resolveAll();
    this.fields = type.fieldsArray.map((f) => {
      f.resolve();
      const kind = kindOf(f);
      const repeated = f.repeated;
      const packedWire = repeated && isNumeric(kind);
      const wire = packedWire ? 2 : kind === Kind.String || kind === Kind.Bytes || kind === Kind.Message ? 2 : 0;
      const tag = (f.id << 3) | wire;
      let enumNames: Map<number, string> | undefined;
      let enumValues: Record<string, number> | undefined;
      if (kind === Kind.Enum) {
        enumValues = (f.resolvedType as protobuf.Enum).values;
        enumNames = new Map(Object.entries(enumValues).map(([name, num]) => [num, name]));
      }
      const fc: FieldCodec = {
        name: f.name,
        id: f.id,
        kind,
        repeated,
        oneof: f.partOf !== null && f.partOf !== undefined,
        tag,
        tagLen: sizeVarint(tag),
        msg: undefined,
        enumNames,
        enumValues,
      };
      this.byId[f.id] = fc;
      return fc;
    });
    // Message fields are linked after this codec is registered, so recursive types resolve.
    this.pendingLinks = type.fieldsArray.map((f) =>
      f.resolvedType !== null && f.resolvedType !== undefined && !('values' in f.resolvedType)
        ? f.resolvedType.fullName.replace(/^\./, '')
        : undefined,
    );
    this.lookup = lookup;
  }

  private pendingLinks: (string | undefined)[] | undefined;
  private readonly lookup: (name: string) => MessageCodec<unknown>;

  private link(): void {
    const links = this.pendingLinks;
    if (links === undefined) return;
    this.pendingLinks = undefined;
    for (let i = 0; i < links.length; i++) {
      const n = links[i];
      if (n !== undefined) this.fields[i].msg = this.lookup(n);
    }
  }

  /** A message with every field at its default (oneof members and messages undefined). */
  create(): T {
    this.link();
    const o: Record<string, unknown> = {};
    for (const f of this.fields) o[f.name] = f.repeated ? [] : f.oneof ? undefined : defaultOf(f.kind);
    return o as T;
  }

  decode(buf: Buffer): T {
    return this.decodeRange(buf, 0, buf.length);
  }

  private decodeRange(buf: Buffer, start: number, end: number): T {
    const o = this.create() as Record<string, unknown>;
    const r = reader;
    let pos = start;
    while (pos < end) {
      r.pos = pos;
      const tag = readUint32(buf, r, end);
      pos = r.pos;
      const id = tag >>> 3;
      const wire = tag & 7;
      const f = this.byId[id];
      if (f === undefined || !wireMatches(f, wire)) {
        pos = skip(buf, pos, end, wire);
        continue;
      }
      if (wire === 2) {
        r.pos = pos;
        const len = readUint32(buf, r, end);
        const s = r.pos;
        const e = s + len;
        if (e > end) throw truncated();
        pos = e;
        switch (f.kind) {
          case Kind.Bytes: {
            const v = buf.subarray(s, e);
            if (f.repeated) (o[f.name] as Buffer[]).push(v);
            else o[f.name] = v;
            break;
          }
          case Kind.String: {
            const v = buf.toString('utf8', s, e);
            if (f.repeated) (o[f.name] as string[]).push(v);
            else o[f.name] = v;
            break;
          }
          case Kind.Message: {
            const v = (f.msg as MessageCodec<unknown>).decodeRange(buf, s, e);
            if (f.repeated) (o[f.name] as unknown[]).push(v);
            else o[f.name] = v;
            break;
          }
          default: {
            // packed repeated numerics
            const arr = o[f.name] as unknown[];
            r.pos = s;
            while (r.pos < e) arr.push(readScalar(buf, r, e, f.kind));
          }
        }
      } else {
        r.pos = pos;
        const v = readScalar(buf, r, end, f.kind);
        pos = r.pos;
        if (f.repeated) (o[f.name] as unknown[]).push(v);
        else o[f.name] = v;
      }
    }
    return o as T;
  }

  /** Encoded size in bytes. */
  size(msg: T): number {
    this.link();
    nSizes = 0;
    return this.measure(msg as Record<string, unknown>);
  }

  encode(msg: T): Buffer {
    return this.encodeWithPrefix(msg, 0);
  }

  /** A gRPC length-prefixed frame (flag 0, 4-byte big-endian length) holding the message. */
  encodeFrame(msg: T): Buffer {
    return this.encodeWithPrefix(msg, 5);
  }

  private encodeWithPrefix(msg: T, prefix: number): Buffer {
    const n = this.size(msg);
    const buf = Buffer.allocUnsafe(prefix + n);
    if (prefix === 5) {
      buf[0] = 0;
      buf.writeUInt32BE(n, 1);
    }
    cursor = 0;
    const end = this.write(msg as Record<string, unknown>, buf, prefix);
    if (end !== prefix + n) throw new Error(`proto: ${this.name} encoded ${end - prefix} bytes, sized ${n}`);
    return buf;
  }

  private measure(m: Record<string, unknown>): number {
    this.link();
    const slot = nSizes++;
    sizes[slot] = 0;
    let n = 0;
    const fields = this.fields;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i];
      const v = m[f.name];
      if (v === undefined || v === null) continue;
      if (f.repeated) {
        const arr = v as unknown[];
        if (arr.length === 0) continue;
        switch (f.kind) {
          case Kind.Message:
            for (let j = 0; j < arr.length; j++) {
              const s = (f.msg as MessageCodec<unknown>).measure(arr[j] as Record<string, unknown>);
              n += f.tagLen + sizeVarint(s) + s;
            }
            break;
          case Kind.Bytes:
            for (let j = 0; j < arr.length; j++) {
              const l = (arr[j] as Uint8Array).length;
              n += f.tagLen + sizeVarint(l) + l;
            }
            break;
          case Kind.String:
            for (let j = 0; j < arr.length; j++) {
              const l = Buffer.byteLength(arr[j] as string);
              n += f.tagLen + sizeVarint(l) + l;
            }
            break;
          default: {
            let s = 0;
            for (let j = 0; j < arr.length; j++) s += scalarSize(f.kind, arr[j]);
            sizes[nSizes++] = s;
            n += f.tagLen + sizeVarint(s) + s;
          }
        }
        continue;
      }
      switch (f.kind) {
        case Kind.Message: {
          const s = (f.msg as MessageCodec<unknown>).measure(v as Record<string, unknown>);
          n += f.tagLen + sizeVarint(s) + s;
          break;
        }
        case Kind.Bytes: {
          const l = (v as Uint8Array).length;
          if (l === 0 && !f.oneof) break;
          n += f.tagLen + sizeVarint(l) + l;
          break;
        }
        case Kind.String: {
          if ((v as string).length === 0 && !f.oneof) break;
          const l = Buffer.byteLength(v as string);
          n += f.tagLen + sizeVarint(l) + l;
          break;
        }
        default:
          if (!f.oneof && isDefault(f.kind, v)) break;
          n += f.tagLen + scalarSize(f.kind, v);
      }
    }
    sizes[slot] = n;
    return n;
  }

  /** Writes the message body at pos, consuming the sizes recorded by measure in the same order. */
  private write(m: Record<string, unknown>, buf: Buffer, pos: number): number {
    cursor++; // this message's own slot
    const fields = this.fields;
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i];
      const v = m[f.name];
      if (v === undefined || v === null) continue;
      if (f.repeated) {
        const arr = v as unknown[];
        if (arr.length === 0) continue;
        switch (f.kind) {
          case Kind.Message:
            for (let j = 0; j < arr.length; j++) {
              pos = putVarint(buf, pos, f.tag);
              pos = putVarint(buf, pos, sizes[cursor]);
              pos = (f.msg as MessageCodec<unknown>).write(arr[j] as Record<string, unknown>, buf, pos);
            }
            break;
          case Kind.Bytes:
            for (let j = 0; j < arr.length; j++) {
              const b = arr[j] as Uint8Array;
              pos = putVarint(buf, pos, f.tag);
              pos = putVarint(buf, pos, b.length);
              buf.set(b, pos);
              pos += b.length;
            }
            break;
          case Kind.String:
            for (let j = 0; j < arr.length; j++) {
              const s = arr[j] as string;
              pos = putVarint(buf, pos, f.tag);
              pos = putVarint(buf, pos, Buffer.byteLength(s));
              pos += buf.write(s, pos);
            }
            break;
          default: {
            pos = putVarint(buf, pos, f.tag);
            pos = putVarint(buf, pos, sizes[cursor++]);
            for (let j = 0; j < arr.length; j++) pos = writeScalar(buf, pos, f.kind, arr[j]);
          }
        }
        continue;
      }
      switch (f.kind) {
        case Kind.Message:
          pos = putVarint(buf, pos, f.tag);
          pos = putVarint(buf, pos, sizes[cursor]);
          pos = (f.msg as MessageCodec<unknown>).write(v as Record<string, unknown>, buf, pos);
          break;
        case Kind.Bytes: {
          const b = v as Uint8Array;
          if (b.length === 0 && !f.oneof) break;
          pos = putVarint(buf, pos, f.tag);
          pos = putVarint(buf, pos, b.length);
          buf.set(b, pos);
          pos += b.length;
          break;
        }
        case Kind.String: {
          const s = v as string;
          if (s.length === 0 && !f.oneof) break;
          pos = putVarint(buf, pos, f.tag);
          pos = putVarint(buf, pos, Buffer.byteLength(s));
          pos += buf.write(s, pos);
          break;
        }
        default:
          if (!f.oneof && isDefault(f.kind, v)) break;
          pos = putVarint(buf, pos, f.tag);
          pos = writeScalar(buf, pos, f.kind, v);
      }
    }
    return pos;
  }
}

function wireMatches(f: FieldCodec, wire: number): boolean {
  if (f.kind === Kind.String || f.kind === Kind.Bytes || f.kind === Kind.Message) return wire === 2;
  return wire === 0 || (wire === 2 && f.repeated);
}

interface ReaderState {
  pos: number;
  lo: number;
  hi: number;
}

const reader: ReaderState = { pos: 0, lo: 0, hi: 0 };

function truncated(): Error {
  return new Error('proto: truncated message');
}

/** Reads a varint into r.lo / r.hi (unsigned 32-bit halves). */
function readVarint64(buf: Buffer, r: ReaderState, end: number): void {
  let pos = r.pos;
  let lo = 0;
  let hi = 0;
  let b = 0;
  for (let shift = 0; shift < 28; shift += 7) {
    if (pos >= end) throw truncated();
    b = buf[pos++];
    lo |= (b & 0x7f) << shift;
    if (b < 0x80) {
      r.pos = pos;
      r.lo = lo >>> 0;
      r.hi = 0;
      return;
    }
  }
  if (pos >= end) throw truncated();
  b = buf[pos++];
  lo |= (b & 0x0f) << 28;
  hi = (b & 0x7f) >> 4;
  if (b >= 0x80) {
    for (let shift = 3; ; shift += 7) {
      if (shift > 31 + 7) throw new Error('proto: varint overflow');
      if (pos >= end) throw truncated();
      b = buf[pos++];
      hi |= (b & 0x7f) << shift;
      if (b < 0x80) break;
    }
  }
  r.pos = pos;
  r.lo = lo >>> 0;
  r.hi = hi >>> 0;
}

function readUint32(buf: Buffer, r: ReaderState, end: number): number {
  readVarint64(buf, r, end);
  return r.lo;
}

function readScalar(buf: Buffer, r: ReaderState, end: number, k: Kind): unknown {
  readVarint64(buf, r, end);
  const lo = r.lo;
  const hi = r.hi;
  switch (k) {
    case Kind.Int64N:
      return (hi | 0) * TWO32 + lo;
    case Kind.Uint64N:
      return hi * TWO32 + lo;
    case Kind.Int64B:
      return hi === 0 ? BigInt(lo) : BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
    case Kind.Uint64B:
      return hi === 0 ? BigInt(lo) : (BigInt(hi) << 32n) | BigInt(lo);
    case Kind.Int32:
    case Kind.Enum:
      return lo | 0;
    case Kind.Uint32:
      return lo;
    case Kind.Bool:
      return lo !== 0 || hi !== 0;
    default:
      throw new Error('proto: not a scalar');
  }
}

function skip(buf: Buffer, pos: number, end: number, wire: number): number {
  switch (wire) {
    case 0:
      reader.pos = pos;
      readVarint64(buf, reader, end);
      return reader.pos;
    case 1:
      pos += 8;
      break;
    case 2: {
      reader.pos = pos;
      const len = readUint32(buf, reader, end);
      pos = reader.pos + len;
      break;
    }
    case 5:
      pos += 4;
      break;
    default:
      throw new Error(`proto: unsupported wire type ${wire}`);
  }
  if (pos > end) throw truncated();
  return pos;
}

/** Writes a non-negative integer below 2^53. */
/** Writes a 64-bit two's-complement value given as unsigned halves. */
function writeVarint64(buf: Buffer, pos: number, lo: number, hi: number): number {
  while (hi !== 0) {
    buf[pos++] = (lo & 0x7f) | 0x80;
    lo = ((lo >>> 7) | (hi << 25)) >>> 0;
    hi >>>= 7;
  }
  return putVarint(buf, pos, lo);
}

function writeScalar(buf: Buffer, pos: number, k: Kind, v: unknown): number {
  switch (k) {
    case Kind.Bool:
      buf[pos] = v ? 1 : 0;
      return pos + 1;
    case Kind.Int64B:
    case Kind.Uint64B: {
      const b = BigInt(v as bigint | number);
      if (b >= 0n && b < 0x20000000000000n) return putVarint(buf, pos, Number(b));
      const u = b >= 0n ? b : BigInt.asUintN(64, b);
      return writeVarint64(buf, pos, Number(BigInt.asUintN(32, u)), Number(u >> 32n));
    }
    default: {
      const n = Number(v);
      if (n >= 0) return putVarint(buf, pos, n);
      const hi = Math.floor(n / TWO32);
      return writeVarint64(buf, pos, (n - hi * TWO32) >>> 0, hi >>> 0);
    }
  }
}
