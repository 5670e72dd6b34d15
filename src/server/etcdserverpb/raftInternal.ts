// InternalRaftRequest: the envelope of every proposal the server puts into the raft log, encoded as
// protobuf with etcd's field numbers (raft_internal.proto, rpc.proto), hand-written because it is
// on the path of every write (sizes first, one exactly-sized buffer, decoded bytes are views).
//
// The request ID is etcd's idutil layout: the proposing member's 16-bit prefix above a 48-bit
// counter. It is kept as two numbers so the hot path needs no bigint; only the proposer (same
// prefix) has a waiter for it.
import {
  Reader,
  Writer,
  sizeBoolField,
  sizeBytesField,
  sizeInt64Field,
  sizeIntField,
  sizeLenField,
  sizeVarint,
  sizeVarintBig,
  ProtoDecodeError,
} from '../../pkg/protobuf.js';
import type {
  AlarmRequest,
  Compare,
  CompactionRequest,
  DeleteRangeRequest,
  LeaseCheckpointRequest,
  LeaseGrantRequest,
  LeaseRevokeRequest,
  PutRequest,
  RangeRequest,
  RequestOp,
  TxnRequest,
} from './rpc.js';
import { authBodySize, authField, readAuthBody, readHeader, writeAuthBody, writeHeader, headerSize, HEADER_FIELD, type AuthRaftRequest, type RequestHeader } from './authRequests.js';

export interface MemberAttrSetRequest {
  memberID: bigint;
  name: string;
  clientUrls: string[];
}

export interface InternalRaftRequest {
  /** Proposer prefix: low 16 bits of its member ID. */
  idPrefix: number;
  /** Counter below 2^48, unique per proposer. */
  id: number;
  range?: RangeRequest;
  put?: PutRequest;
  deleteRange?: DeleteRangeRequest;
  txn?: TxnRequest;
  compaction?: CompactionRequest;
  leaseGrant?: LeaseGrantRequest;
  leaseRevoke?: LeaseRevokeRequest;
  leaseCheckpoint?: LeaseCheckpointRequest;
  alarm?: AlarmRequest;
  memberAttrSet?: MemberAttrSetRequest;
  /** Who proposed it (auth enabled and a token sent): checked when applied. */
  header?: RequestHeader;
  /** An auth request (AuthEnable, UserAdd, Authenticate …). */
  auth?: AuthRaftRequest;
}

const TWO_32 = 4294967296;
const TWO_16 = 65536;

// ---- sizes ------------------------------------------------------------------------------------

const len = (b: Uint8Array | undefined): number => (b === undefined ? 0 : b.length);
const sizeMsg = (field: number, n: number): number => (field < 16 ? 1 : 2) + sizeVarint(n) + n;
const sizeStr = (s: string): number => sizeBytesField(Buffer.byteLength(s));

function rangeSize(r: RangeRequest): number {
  return (
    sizeBytesField(len(r.key)) +
    sizeBytesField(len(r.rangeEnd)) +
    sizeIntField(r.limit ?? 0) +
    sizeIntField(r.revision ?? 0) +
    sizeIntField(r.sortOrder ?? 0) +
    sizeIntField(r.sortTarget ?? 0) +
    sizeBoolField(r.serializable) +
    sizeBoolField(r.keysOnly) +
    sizeBoolField(r.countOnly) +
    sizeIntField(r.minModRevision ?? 0) +
    sizeIntField(r.maxModRevision ?? 0) +
    sizeIntField(r.minCreateRevision ?? 0) +
    sizeIntField(r.maxCreateRevision ?? 0)
  );
}

function putSize(p: PutRequest): number {
  return (
    sizeBytesField(len(p.key)) +
    sizeBytesField(len(p.value)) +
    sizeInt64Field(p.lease ?? 0n) +
    sizeBoolField(p.prevKv) +
    sizeBoolField(p.ignoreValue) +
    sizeBoolField(p.ignoreLease)
  );
}

function deleteRangeSize(d: DeleteRangeRequest): number {
  return sizeBytesField(len(d.key)) + sizeBytesField(len(d.rangeEnd)) + sizeBoolField(d.prevKv);
}

function compareSize(c: Compare): number {
  let n = sizeIntField(c.result ?? 0) + sizeIntField(c.target ?? 0) + sizeBytesField(len(c.key));
  // The target union is written even when zero, as a set oneof is.
  if (c.version !== undefined) n += 1 + sizeVarint(c.version);
  if (c.createRevision !== undefined) n += 1 + sizeVarint(c.createRevision);
  if (c.modRevision !== undefined) n += 1 + sizeVarint(c.modRevision);
  if (c.value !== undefined) n += sizeLenField(c.value.length);
  if (c.lease !== undefined) n += 1 + sizeVarintBig(c.lease);
  const re = len(c.rangeEnd);
  if (re > 0) n += 2 + sizeVarint(re) + re;
  return n;
}

function requestOpSize(op: RequestOp): number {
  if (op.requestRange) return sizeMsg(1, rangeSize(op.requestRange));
  if (op.requestPut) return sizeMsg(2, putSize(op.requestPut));
  if (op.requestDeleteRange) return sizeMsg(3, deleteRangeSize(op.requestDeleteRange));
  if (op.requestTxn) return sizeMsg(4, txnSize(op.requestTxn));
  return 0;
}

function txnSize(t: TxnRequest): number {
  let n = 0;
  if (t.compare) for (const c of t.compare) n += sizeMsg(1, compareSize(c));
  if (t.success) for (const op of t.success) n += sizeMsg(2, requestOpSize(op));
  if (t.failure) for (const op of t.failure) n += sizeMsg(3, requestOpSize(op));
  return n;
}

function checkpointsSize(r: LeaseCheckpointRequest): number {
  let n = 0;
  for (const cp of r.checkpoints) n += sizeMsg(1, sizeInt64Field(cp.ID) + sizeIntField(cp.remainingTTL));
  return n;
}

function alarmSize(a: AlarmRequest): number {
  return sizeIntField(a.action) + sizeInt64Field(a.memberID) + sizeIntField(a.alarm);
}

function attributesSize(m: MemberAttrSetRequest): number {
  let n = sizeStr(m.name);
  for (const u of m.clientUrls) n += sizeLenField(Buffer.byteLength(u));
  return n;
}

function memberAttrSetSize(m: MemberAttrSetRequest): number {
  return sizeInt64Field(m.memberID) + sizeMsg(2, attributesSize(m));
}

function idSize(prefix: number, id: number): number {
  // uint64 (prefix << 48 | id) as a varint: 7 bits per byte over the highest set bit.
  if (prefix === 0) return sizeVarint(id);
  const bits = 48 + (32 - Math.clz32(prefix));
  return Math.ceil(bits / 7);
}

// ---- writers ----------------------------------------------------------------------------------

function writeRange(w: Writer, r: RangeRequest): void {
  w.bytes(1, r.key);
  w.bytes(2, r.rangeEnd);
  w.int(3, r.limit ?? 0);
  w.int(4, r.revision ?? 0);
  w.int(5, r.sortOrder ?? 0);
  w.int(6, r.sortTarget ?? 0);
  w.bool(7, r.serializable);
  w.bool(8, r.keysOnly);
  w.bool(9, r.countOnly);
  w.int(10, r.minModRevision ?? 0);
  w.int(11, r.maxModRevision ?? 0);
  w.int(12, r.minCreateRevision ?? 0);
  w.int(13, r.maxCreateRevision ?? 0);
}

function writePut(w: Writer, p: PutRequest): void {
  w.bytes(1, p.key);
  w.bytes(2, p.value);
  w.int64(3, p.lease ?? 0n);
  w.bool(4, p.prevKv);
  w.bool(5, p.ignoreValue);
  w.bool(6, p.ignoreLease);
}

function writeDeleteRange(w: Writer, d: DeleteRangeRequest): void {
  w.bytes(1, d.key);
  w.bytes(2, d.rangeEnd);
  w.bool(3, d.prevKv);
}

function writeCompare(w: Writer, c: Compare): void {
  w.int(1, c.result ?? 0);
  w.int(2, c.target ?? 0);
  w.bytes(3, c.key);
  if (c.version !== undefined) {
    w.tag(4, 0);
    w.varint(c.version);
  }
  if (c.createRevision !== undefined) {
    w.tag(5, 0);
    w.varint(c.createRevision);
  }
  if (c.modRevision !== undefined) {
    w.tag(6, 0);
    w.varint(c.modRevision);
  }
  if (c.value !== undefined) {
    w.lenField(7, c.value.length);
    w.buf.set(c.value, w.pos);
    w.pos += c.value.length;
  }
  if (c.lease !== undefined) {
    w.tag(8, 0);
    w.varintBig(c.lease);
  }
  w.bytes(64, c.rangeEnd);
}

function writeRequestOp(w: Writer, op: RequestOp): void {
  if (op.requestRange) {
    w.lenField(1, rangeSize(op.requestRange));
    writeRange(w, op.requestRange);
  } else if (op.requestPut) {
    w.lenField(2, putSize(op.requestPut));
    writePut(w, op.requestPut);
  } else if (op.requestDeleteRange) {
    w.lenField(3, deleteRangeSize(op.requestDeleteRange));
    writeDeleteRange(w, op.requestDeleteRange);
  } else if (op.requestTxn) {
    w.lenField(4, txnSize(op.requestTxn));
    writeTxn(w, op.requestTxn);
  }
}

function writeTxn(w: Writer, t: TxnRequest): void {
  if (t.compare)
    for (const c of t.compare) {
      w.lenField(1, compareSize(c));
      writeCompare(w, c);
    }
  if (t.success)
    for (const op of t.success) {
      w.lenField(2, requestOpSize(op));
      writeRequestOp(w, op);
    }
  if (t.failure)
    for (const op of t.failure) {
      w.lenField(3, requestOpSize(op));
      writeRequestOp(w, op);
    }
}

function writeString(w: Writer, field: number, s: string): void {
  const n = Buffer.byteLength(s);
  w.lenField(field, n);
  w.buf.write(s, w.pos, 'utf8');
  w.pos += n;
}

function writeId(w: Writer, prefix: number, id: number): void {
  // lo: low 32 bits, hi: the rest (prefix << 16 | id >> 32), emitted 7 bits at a time.
  let lo = id % TWO_32;
  let hi = prefix * TWO_16 + Math.floor(id / TWO_32);
  const b = w.buf;
  for (;;) {
    const byte = lo & 0x7f;
    lo = (lo >>> 7) | ((hi & 0x7f) << 25);
    lo >>>= 0;
    hi = hi >>> 7;
    if (lo === 0 && hi === 0) {
      b[w.pos++] = byte;
      return;
    }
    b[w.pos++] = byte | 0x80;
  }
}

/** Encodes the envelope; the caller checks the size against --max-request-bytes. */
export function encodeInternalRaftRequest(r: InternalRaftRequest): Buffer {
  let n = 1 + idSize(r.idPrefix, r.id);
  let body = 0;
  let field = 0;
  if (r.range) ((body = rangeSize(r.range)), (field = 3));
  else if (r.put) ((body = putSize(r.put)), (field = 4));
  else if (r.deleteRange) ((body = deleteRangeSize(r.deleteRange)), (field = 5));
  else if (r.txn) ((body = txnSize(r.txn)), (field = 6));
  else if (r.compaction)
    ((body = sizeIntField(r.compaction.revision) + sizeBoolField(r.compaction.physical)), (field = 7));
  else if (r.leaseGrant)
    ((body = sizeIntField(r.leaseGrant.TTL) + sizeInt64Field(r.leaseGrant.ID ?? 0n)), (field = 8));
  else if (r.leaseRevoke) ((body = sizeInt64Field(r.leaseRevoke.ID)), (field = 9));
  else if (r.alarm) ((body = alarmSize(r.alarm)), (field = 10));
  else if (r.leaseCheckpoint) ((body = checkpointsSize(r.leaseCheckpoint)), (field = 11));
  else if (r.memberAttrSet) ((body = memberAttrSetSize(r.memberAttrSet)), (field = 1301));
  else if (r.auth) ((body = authBodySize(r.auth)), (field = authField(r.auth)));
  if (field !== 0) n += sizeVarint(field * 8 + 2) + sizeVarint(body) + body;
  const hdr = r.header ? headerSize(r.header) : -1;
  if (hdr >= 0) n += 2 + sizeVarint(hdr) + hdr;
  const w = new Writer(n);
  w.tag(1, 0);
  writeId(w, r.idPrefix, r.id);
  if (field !== 0) w.lenField(field, body);
  if (r.range) writeRange(w, r.range);
  else if (r.put) writePut(w, r.put);
  else if (r.deleteRange) writeDeleteRange(w, r.deleteRange);
  else if (r.txn) writeTxn(w, r.txn);
  else if (r.compaction) {
    w.int(1, r.compaction.revision);
    w.bool(2, r.compaction.physical);
  } else if (r.leaseGrant) {
    w.int(1, r.leaseGrant.TTL);
    w.int64(2, r.leaseGrant.ID ?? 0n);
  } else if (r.leaseRevoke) w.int64(1, r.leaseRevoke.ID);
  else if (r.alarm) {
    w.int(1, r.alarm.action);
    w.int64(2, r.alarm.memberID);
    w.int(3, r.alarm.alarm);
  } else if (r.leaseCheckpoint) {
    for (const cp of r.leaseCheckpoint.checkpoints) {
      w.lenField(1, sizeInt64Field(cp.ID) + sizeIntField(cp.remainingTTL));
      w.int64(1, cp.ID);
      w.int(2, cp.remainingTTL);
    }
  } else if (r.memberAttrSet) {
    const m = r.memberAttrSet;
    w.int64(1, m.memberID);
    w.lenField(2, attributesSize(m));
    if (m.name !== '') writeString(w, 1, m.name);
    for (const u of m.clientUrls) writeString(w, 2, u);
  } else if (r.auth) writeAuthBody(w, r.auth);
  if (r.header) {
    w.lenField(HEADER_FIELD, hdr);
    writeHeader(w, r.header);
  }
  if (w.pos !== n) throw new Error(`raftInternal: encoded ${w.pos} bytes, expected ${n}`);
  return w.buf;
}

// ---- readers ----------------------------------------------------------------------------------

function readRange(rd: Reader): RangeRequest {
  const r: RangeRequest = { key: EMPTY };
  while (!rd.done()) {
    const tag = rd.varint();
    switch (tag) {
      case 0x0a: r.key = rd.bytes(); break;
      case 0x12: r.rangeEnd = rd.bytes(); break;
      case 0x18: r.limit = rd.int(); break;
      case 0x20: r.revision = rd.int(); break;
      case 0x28: r.sortOrder = rd.varint() as RangeRequest['sortOrder']; break;
      case 0x30: r.sortTarget = rd.varint() as RangeRequest['sortTarget']; break;
      case 0x38: r.serializable = rd.bool(); break;
      case 0x40: r.keysOnly = rd.bool(); break;
      case 0x48: r.countOnly = rd.bool(); break;
      case 0x50: r.minModRevision = rd.int(); break;
      case 0x58: r.maxModRevision = rd.int(); break;
      case 0x60: r.minCreateRevision = rd.int(); break;
      case 0x68: r.maxCreateRevision = rd.int(); break;
      default: rd.skip(tag & 7);
    }
  }
  return r;
}

const EMPTY = Buffer.alloc(0);

function readPut(rd: Reader): PutRequest {
  const p: PutRequest = { key: EMPTY, value: EMPTY };
  while (!rd.done()) {
    const tag = rd.varint();
    switch (tag) {
      case 0x0a: p.key = rd.bytes(); break;
      case 0x12: p.value = rd.bytes(); break;
      case 0x18: p.lease = rd.int64(); break;
      case 0x20: p.prevKv = rd.bool(); break;
      case 0x28: p.ignoreValue = rd.bool(); break;
      case 0x30: p.ignoreLease = rd.bool(); break;
      default: rd.skip(tag & 7);
    }
  }
  return p;
}

function readDeleteRange(rd: Reader): DeleteRangeRequest {
  const d: DeleteRangeRequest = { key: EMPTY };
  while (!rd.done()) {
    const tag = rd.varint();
    switch (tag) {
      case 0x0a: d.key = rd.bytes(); break;
      case 0x12: d.rangeEnd = rd.bytes(); break;
      case 0x18: d.prevKv = rd.bool(); break;
      default: rd.skip(tag & 7);
    }
  }
  return d;
}

function readCompare(rd: Reader): Compare {
  const c: Compare = { result: 0, target: 0, key: EMPTY };
  while (!rd.done()) {
    const tag = rd.varint();
    switch (tag) {
      case 0x08: c.result = rd.varint() as Compare['result']; break;
      case 0x10: c.target = rd.varint() as Compare['target']; break;
      case 0x1a: c.key = rd.bytes(); break;
      case 0x20: c.version = rd.int(); break;
      case 0x28: c.createRevision = rd.int(); break;
      case 0x30: c.modRevision = rd.int(); break;
      case 0x3a: c.value = rd.bytes(); break;
      case 0x40: c.lease = rd.int64(); break;
      case 0x202: c.rangeEnd = rd.bytes(); break;
      default: rd.skip(tag & 7);
    }
  }
  return c;
}

function readRequestOp(rd: Reader): RequestOp {
  const op: RequestOp = {};
  while (!rd.done()) {
    const tag = rd.varint();
    switch (tag) {
      case 0x0a: op.requestRange = readRange(rd.sub()); break;
      case 0x12: op.requestPut = readPut(rd.sub()); break;
      case 0x1a: op.requestDeleteRange = readDeleteRange(rd.sub()); break;
      case 0x22: op.requestTxn = readTxn(rd.sub()); break;
      default: rd.skip(tag & 7);
    }
  }
  return op;
}

function readTxn(rd: Reader): TxnRequest {
  const t: TxnRequest = { compare: [], success: [], failure: [] };
  while (!rd.done()) {
    const tag = rd.varint();
    switch (tag) {
      case 0x0a: t.compare!.push(readCompare(rd.sub())); break;
      case 0x12: t.success!.push(readRequestOp(rd.sub())); break;
      case 0x1a: t.failure!.push(readRequestOp(rd.sub())); break;
      default: rd.skip(tag & 7);
    }
  }
  return t;
}

function readMemberAttrSet(rd: Reader): MemberAttrSetRequest {
  const m: MemberAttrSetRequest = { memberID: 0n, name: '', clientUrls: [] };
  while (!rd.done()) {
    const tag = rd.varint();
    if (tag === 0x08) m.memberID = rd.uint64();
    else if (tag === 0x12) {
      const a = rd.sub();
      while (!a.done()) {
        const t = a.varint();
        if (t === 0x0a) m.name = a.bytes().toString('utf8');
        else if (t === 0x12) m.clientUrls.push(a.bytes().toString('utf8'));
        else a.skip(t & 7);
      }
    } else rd.skip(tag & 7);
  }
  return m;
}

function readIdInto(rd: Reader, r: InternalRaftRequest): void {
  // Read the uint64 as lo (32 bits) and hi (32 bits) halves.
  const b = rd.buf;
  let lo = 0;
  let hi = 0;
  let shift = 0;
  for (let i = 0; i < 10; i++) {
    if (rd.pos >= rd.end) throw new ProtoDecodeError('proto: unexpected EOF');
    const byte = b[rd.pos++]!;
    const v = byte & 0x7f;
    if (shift < 28) lo += v * 2 ** shift;
    else if (shift === 28) {
      lo += (v & 0x0f) * 2 ** 28;
      hi += v >>> 4;
    } else hi += v * 2 ** (shift - 32);
    shift += 7;
    if (byte < 0x80) break;
  }
  hi = hi % TWO_32;
  r.idPrefix = Math.floor(hi / TWO_16);
  r.id = (hi % TWO_16) * TWO_32 + lo;
}

export function decodeInternalRaftRequest(buf: Uint8Array): InternalRaftRequest {
  const rd = Reader.of(buf);
  const r: InternalRaftRequest = { idPrefix: 0, id: 0 };
  while (!rd.done()) {
    const tag = rd.varint();
    switch (tag) {
      case 0x08: readIdInto(rd, r); break;
      case 0x1a: r.range = readRange(rd.sub()); break;
      case 0x22: r.put = readPut(rd.sub()); break;
      case 0x2a: r.deleteRange = readDeleteRange(rd.sub()); break;
      case 0x32: r.txn = readTxn(rd.sub()); break;
      case 0x3a: {
        const s = rd.sub();
        const c: CompactionRequest = { revision: 0 };
        while (!s.done()) {
          const t = s.varint();
          if (t === 0x08) c.revision = s.int();
          else if (t === 0x10) c.physical = s.bool();
          else s.skip(t & 7);
        }
        r.compaction = c;
        break;
      }
      case 0x42: {
        const s = rd.sub();
        const g: LeaseGrantRequest = { TTL: 0, ID: 0n };
        while (!s.done()) {
          const t = s.varint();
          if (t === 0x08) g.TTL = s.int();
          else if (t === 0x10) g.ID = s.int64();
          else s.skip(t & 7);
        }
        r.leaseGrant = g;
        break;
      }
      case 0x4a: {
        const s = rd.sub();
        const v: LeaseRevokeRequest = { ID: 0n };
        while (!s.done()) {
          const t = s.varint();
          if (t === 0x08) v.ID = s.int64();
          else s.skip(t & 7);
        }
        r.leaseRevoke = v;
        break;
      }
      case 0x52: {
        const s = rd.sub();
        const a: AlarmRequest = { action: 0, memberID: 0n, alarm: 0 };
        while (!s.done()) {
          const t = s.varint();
          if (t === 0x08) a.action = s.varint() as AlarmRequest['action'];
          else if (t === 0x10) a.memberID = s.uint64();
          else if (t === 0x18) a.alarm = s.varint() as AlarmRequest['alarm'];
          else s.skip(t & 7);
        }
        r.alarm = a;
        break;
      }
      case 0x5a: {
        const s = rd.sub();
        const req: LeaseCheckpointRequest = { checkpoints: [] };
        while (!s.done()) {
          const t = s.varint();
          if (t !== 0x0a) {
            s.skip(t & 7);
            continue;
          }
          const c = s.sub();
          const cp = { ID: 0n, remainingTTL: 0 };
          while (!c.done()) {
            const u = c.varint();
            if (u === 0x08) cp.ID = c.int64();
            else if (u === 0x10) cp.remainingTTL = c.int();
            else c.skip(u & 7);
          }
          req.checkpoints.push(cp);
        }
        r.leaseCheckpoint = req;
        break;
      }
      case 1301 * 8 + 2: r.memberAttrSet = readMemberAttrSet(rd.sub()); break;
      case HEADER_FIELD * 8 + 2: r.header = readHeader(rd.sub()); break;
      default:
        if ((tag & 7) === 2 && tag >= 1000 * 8) r.auth = readAuthBody(tag >>> 3, rd.sub()) ?? r.auth;
        else rd.skip(tag & 7);
    }
  }
  return r;
}
