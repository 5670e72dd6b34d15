// Protobuf encoding of raftpb, wire-compatible with etcd's raftpb (gogoproto, proto2): same field
// numbers, and fields written the way gogoproto's non-nullable fields are (always, in field order),
// so WAL records and peer messages are byte-compatible in shape with etcd's. Hand-written because
// this is the hot path of every WAL append and peer message: sizes are computed first and each
// message is written into one exactly-sized buffer, with no intermediate objects.
//
// Decoded byte fields (entry data, contexts, snapshot data) are views into the input buffer, not
// copies: callers must not reuse the input buffer while the decoded values are alive.

import {
  ConfChange,
  ConfChangeSingle,
  ConfChangeTransition,
  ConfChangeType,
  ConfChangeV2,
  ConfState,
  EMPTY_BYTES,
  Entry,
  EntryType,
  HardState,
  Message,
  MessageType,
  NodeId,
  Snapshot,
  emptyConfState,
  newMessage,
} from './types.js';
import { Reader, Writer, sizeLenField, sizeVarint, sizeVarintBig } from '../../pkg/protobuf.js';

// ---- sizes ----------------------------------------------------------------------------------

export function entrySize(e: Entry): number {
  let n = 3 + sizeVarint(e.type) + sizeVarint(e.term) + sizeVarint(e.index);
  if (e.data.length > 0) n += sizeLenField(e.data.length);
  return n;
}

function hardStateSize(hs: HardState): number {
  return 3 + sizeVarint(hs.term) + sizeVarintBig(hs.vote) + sizeVarint(hs.commit);
}

function idListSize(ids: NodeId[]): number {
  let n = 0;
  for (const id of ids) n += 1 + sizeVarintBig(id);
  return n;
}

function confStateSize(cs: ConfState): number {
  return (
    idListSize(cs.voters) +
    idListSize(cs.learners) +
    idListSize(cs.votersOutgoing) +
    idListSize(cs.learnersNext) +
    2
  );
}

function snapshotMetadataSize(s: Snapshot): number {
  const cs = confStateSize(s.metadata.confState);
  return sizeLenField(cs) + 2 + sizeVarint(s.metadata.index) + sizeVarint(s.metadata.term);
}

function snapshotSize(s: Snapshot): number {
  let n = sizeLenField(snapshotMetadataSize(s));
  if (s.data.length > 0) n += sizeLenField(s.data.length);
  return n;
}

function messageSize(m: Message): number {
  let n =
    1 + sizeVarint(m.type) +
    1 + sizeVarintBig(m.to) +
    1 + sizeVarintBig(m.from) +
    1 + sizeVarint(m.term) +
    1 + sizeVarint(m.logTerm) +
    1 + sizeVarint(m.index) +
    1 + sizeVarint(m.commit) +
    2 + // reject
    1 + sizeVarint(m.rejectHint) +
    1 + sizeVarintBig(m.vote);
  for (const e of m.entries) n += sizeLenField(entrySize(e));
  if (m.snapshot) n += sizeLenField(snapshotSize(m.snapshot));
  if (m.context.length > 0) n += sizeLenField(m.context.length);
  for (const r of m.responses) n += sizeLenField(messageSize(r));
  return n;
}

// ---- writer ---------------------------------------------------------------------------------

function writeEntry(w: Writer, e: Entry): void {
  w.uintField(1, e.type);
  w.uintField(2, e.term);
  w.uintField(3, e.index);
  if (e.data.length > 0) w.bytesField(4, e.data);
}

function writeHardState(w: Writer, hs: HardState): void {
  w.uintField(1, hs.term);
  w.uint64Field(2, hs.vote);
  w.uintField(3, hs.commit);
}

function writeConfState(w: Writer, cs: ConfState): void {
  for (const id of cs.voters) w.uint64Field(1, id);
  for (const id of cs.learners) w.uint64Field(2, id);
  for (const id of cs.votersOutgoing) w.uint64Field(3, id);
  for (const id of cs.learnersNext) w.uint64Field(4, id);
  w.uintField(5, cs.autoLeave ? 1 : 0);
}

function writeSnapshot(w: Writer, s: Snapshot): void {
  if (s.data.length > 0) w.bytesField(1, s.data);
  w.lenField(2, snapshotMetadataSize(s));
  w.lenField(1, confStateSize(s.metadata.confState));
  writeConfState(w, s.metadata.confState);
  w.uintField(2, s.metadata.index);
  w.uintField(3, s.metadata.term);
}

function writeMessage(w: Writer, m: Message): void {
  w.uintField(1, m.type);
  w.uint64Field(2, m.to);
  w.uint64Field(3, m.from);
  w.uintField(4, m.term);
  w.uintField(5, m.logTerm);
  w.uintField(6, m.index);
  for (const e of m.entries) {
    w.lenField(7, entrySize(e));
    writeEntry(w, e);
  }
  w.uintField(8, m.commit);
  if (m.snapshot) {
    w.lenField(9, snapshotSize(m.snapshot));
    writeSnapshot(w, m.snapshot);
  }
  w.uintField(10, m.reject ? 1 : 0);
  w.uintField(11, m.rejectHint);
  if (m.context.length > 0) w.bytesField(12, m.context);
  w.uint64Field(13, m.vote);
  for (const r of m.responses) {
    w.lenField(14, messageSize(r));
    writeMessage(w, r);
  }
}

function encodeWith<T>(v: T, size: (v: T) => number, write: (w: Writer, v: T) => void): Buffer {
  const w = new Writer(size(v));
  write(w, v);
  return w.buf;
}

export const encodeEntry = (e: Entry): Buffer => encodeWith(e, entrySize, writeEntry);
export const encodeHardState = (hs: HardState): Buffer =>
  encodeWith(hs, hardStateSize, writeHardState);
export const encodeConfState = (cs: ConfState): Buffer =>
  encodeWith(cs, confStateSize, writeConfState);
export const encodeSnapshot = (s: Snapshot): Buffer => encodeWith(s, snapshotSize, writeSnapshot);
export const encodeMessage = (m: Message): Buffer => encodeWith(m, messageSize, writeMessage);
export const messageEncodedSize = messageSize;

export function encodeConfChange(cc: ConfChange): Buffer {
  const size =
    2 + sizeVarintBig(cc.id) + sizeVarint(cc.type) + 1 + sizeVarintBig(cc.nodeId) +
    (cc.context.length > 0 ? sizeLenField(cc.context.length) : 0);
  const w = new Writer(size);
  w.uint64Field(1, cc.id);
  w.uintField(2, cc.type);
  w.uint64Field(3, cc.nodeId);
  if (cc.context.length > 0) w.bytesField(4, cc.context);
  return w.buf;
}

function confChangeSingleSize(c: ConfChangeSingle): number {
  return 2 + sizeVarint(c.type) + sizeVarintBig(c.nodeId);
}

export function encodeConfChangeV2(cc: ConfChangeV2): Buffer {
  let size = 1 + sizeVarint(cc.transition);
  for (const c of cc.changes) size += sizeLenField(confChangeSingleSize(c));
  if (cc.context.length > 0) size += sizeLenField(cc.context.length);
  const w = new Writer(size);
  w.uintField(1, cc.transition);
  for (const c of cc.changes) {
    w.lenField(2, confChangeSingleSize(c));
    w.uintField(1, c.type);
    w.uint64Field(2, c.nodeId);
  }
  if (cc.context.length > 0) w.bytesField(3, cc.context);
  return w.buf;
}

// ---- reader ---------------------------------------------------------------------------------

function readEntry(r: Reader): Entry {
  const e: Entry = { term: 0, index: 0, type: EntryType.EntryNormal, data: EMPTY_BYTES };
  while (!r.done()) {
    const key = r.varint();
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 1 && wire === 0) e.type = r.varint();
    else if (field === 2 && wire === 0) e.term = r.varint();
    else if (field === 3 && wire === 0) e.index = r.varint();
    else if (field === 4 && wire === 2) e.data = r.bytes();
    else r.skip(wire);
  }
  return e;
}

function readHardState(r: Reader): HardState {
  const hs: HardState = { term: 0, vote: 0n, commit: 0 };
  while (!r.done()) {
    const key = r.varint();
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 1 && wire === 0) hs.term = r.varint();
    else if (field === 2 && wire === 0) hs.vote = r.uint64();
    else if (field === 3 && wire === 0) hs.commit = r.varint();
    else r.skip(wire);
  }
  return hs;
}

function readConfState(r: Reader): ConfState {
  const cs = emptyConfState();
  while (!r.done()) {
    const key = r.varint();
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 1) r.uint64s(wire, cs.voters);
    else if (field === 2) r.uint64s(wire, cs.learners);
    else if (field === 3) r.uint64s(wire, cs.votersOutgoing);
    else if (field === 4) r.uint64s(wire, cs.learnersNext);
    else if (field === 5 && wire === 0) cs.autoLeave = r.varint() !== 0;
    else r.skip(wire);
  }
  return cs;
}

function readSnapshot(r: Reader): Snapshot {
  const s: Snapshot = { data: EMPTY_BYTES, metadata: { confState: emptyConfState(), index: 0, term: 0 } };
  while (!r.done()) {
    const key = r.varint();
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 1 && wire === 2) s.data = r.bytes();
    else if (field === 2 && wire === 2) {
      const m = r.sub();
      while (!m.done()) {
        const k = m.varint();
        const f = k >>> 3;
        const wt = k & 7;
        if (f === 1 && wt === 2) s.metadata.confState = readConfState(m.sub());
        else if (f === 2 && wt === 0) s.metadata.index = m.varint();
        else if (f === 3 && wt === 0) s.metadata.term = m.varint();
        else m.skip(wt);
      }
    } else r.skip(wire);
  }
  return s;
}

function readMessage(r: Reader): Message {
  const m = newMessage({});
  while (!r.done()) {
    const key = r.varint();
    const field = key >>> 3;
    const wire = key & 7;
    switch (wire === 0 || wire === 2 ? field : 0) {
      case 1: m.type = r.varint() as MessageType; break;
      case 2: m.to = r.uint64(); break;
      case 3: m.from = r.uint64(); break;
      case 4: m.term = r.varint(); break;
      case 5: m.logTerm = r.varint(); break;
      case 6: m.index = r.varint(); break;
      case 7: m.entries.push(readEntry(r.sub())); break;
      case 8: m.commit = r.varint(); break;
      case 9: m.snapshot = readSnapshot(r.sub()); break;
      case 10: m.reject = r.varint() !== 0; break;
      case 11: m.rejectHint = r.varint(); break;
      case 12: m.context = r.bytes(); break;
      case 13: m.vote = r.uint64(); break;
      case 14: m.responses.push(readMessage(r.sub())); break;
      default: r.skip(wire);
    }
  }
  return m;
}

function decodeWith<T>(buf: Uint8Array, read: (r: Reader) => T): T {
  return read(Reader.of(buf));
}

export const decodeEntry = (buf: Uint8Array): Entry => decodeWith(buf, readEntry);
export const decodeHardState = (buf: Uint8Array): HardState => decodeWith(buf, readHardState);
export const decodeConfState = (buf: Uint8Array): ConfState => decodeWith(buf, readConfState);
export const decodeSnapshot = (buf: Uint8Array): Snapshot => decodeWith(buf, readSnapshot);
export const decodeMessage = (buf: Uint8Array): Message => decodeWith(buf, readMessage);

export function decodeConfChange(buf: Uint8Array): ConfChange {
  const r = Reader.of(buf);
  const cc: ConfChange = {
    type: ConfChangeType.ConfChangeAddNode,
    nodeId: 0n,
    context: EMPTY_BYTES,
    id: 0n,
  };
  while (!r.done()) {
    const key = r.varint();
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 1 && wire === 0) cc.id = r.uint64();
    else if (field === 2 && wire === 0) cc.type = r.varint();
    else if (field === 3 && wire === 0) cc.nodeId = r.uint64();
    else if (field === 4 && wire === 2) cc.context = r.bytes();
    else r.skip(wire);
  }
  return cc;
}

export function decodeConfChangeV2(buf: Uint8Array): ConfChangeV2 {
  const r = Reader.of(buf);
  const cc: ConfChangeV2 = {
    transition: ConfChangeTransition.ConfChangeTransitionAuto,
    changes: [],
    context: EMPTY_BYTES,
  };
  while (!r.done()) {
    const key = r.varint();
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 1 && wire === 0) cc.transition = r.varint();
    else if (field === 2 && wire === 2) {
      const s = r.sub();
      const c: ConfChangeSingle = { type: ConfChangeType.ConfChangeAddNode, nodeId: 0n };
      while (!s.done()) {
        const k = s.varint();
        const f = k >>> 3;
        const wt = k & 7;
        if (f === 1 && wt === 0) c.type = s.varint();
        else if (f === 2 && wt === 0) c.nodeId = s.uint64();
        else s.skip(wt);
      }
      cc.changes.push(c);
    } else if (field === 3 && wire === 2) cc.context = r.bytes();
    else r.skip(wire);
  }
  return cc;
}
