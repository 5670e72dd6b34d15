// mvccpb.KeyValue and mvccpb.Event: the stored value of every revision in the key bucket, encoded
// by hand as protobuf (key=1, create_revision=2, mod_revision=3, version=4, value=5, lease=6),
// zero fields omitted as gogo/protobuf does, so the bytes (and HashKV) match etcd's.

import { Reader, Writer, sizeBytesField, sizeInt64Field, sizeIntField, sizeLenField } from '../../pkg/protobuf.js';

export interface KeyValue {
  key: Buffer;
  createRevision: number;
  modRevision: number;
  version: number;
  value: Buffer;
  /** Lease ID (int64); 0n when the key has no lease. */
  lease: bigint;
}

export const EventType = { PUT: 0, DELETE: 1 } as const;
export type EventType = (typeof EventType)[keyof typeof EventType];

export interface Event {
  type: EventType;
  kv: KeyValue;
  prevKv?: KeyValue;
}

export const EMPTY = Buffer.alloc(0);
export const NO_LEASE = 0n;

/** Protobuf-encoded size of a KeyValue. */
export function keyValueSize(kv: KeyValue): number {
  return (
    sizeBytesField(kv.key.length) +
    sizeIntField(kv.createRevision) +
    sizeIntField(kv.modRevision) +
    sizeIntField(kv.version) +
    sizeBytesField(kv.value.length) +
    sizeInt64Field(kv.lease)
  );
}

/** Protobuf-encoded size of an Event (type=1, kv=2, prev_kv=3). */
export function eventSize(ev: Event): number {
  let n = sizeIntField(ev.type) + sizeLenField(keyValueSize(ev.kv));
  if (ev.prevKv !== undefined) n += sizeLenField(keyValueSize(ev.prevKv));
  return n;
}

export function encodeKeyValue(kv: KeyValue): Buffer {
  const w = new Writer(keyValueSize(kv));
  w.bytes(1, kv.key);
  w.int(2, kv.createRevision);
  w.int(3, kv.modRevision);
  w.int(4, kv.version);
  w.bytes(5, kv.value);
  w.int64(6, kv.lease);
  return w.buf;
}

/**
 * Decodes a KeyValue. Key and value are views into `b` (no copy): `b` must not be reused.
 * Unknown fields are skipped, as protobuf requires.
 */
export function decodeKeyValue(b: Buffer): KeyValue {
  const kv: KeyValue = { key: EMPTY, createRevision: 0, modRevision: 0, version: 0, value: EMPTY, lease: NO_LEASE };
  const r = new Reader(b);
  while (!r.done()) {
    const tag = r.varint();
    switch (tag) {
      case 0x0a: kv.key = r.bytes(); break;
      case 0x10: kv.createRevision = r.varint(); break;
      case 0x18: kv.modRevision = r.varint(); break;
      case 0x20: kv.version = r.varint(); break;
      case 0x2a: kv.value = r.bytes(); break;
      case 0x30: kv.lease = r.int64(); break;
      default: r.skip(tag & 7);
    }
  }
  return kv;
}
