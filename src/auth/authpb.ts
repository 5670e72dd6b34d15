// Hand-written protobuf codec of etcd's authpb messages, the values of the authUsers and
// authRoles buckets: User {name=1, password=2, roles=3, options=4 (UserAddOptions {no_password=1})},
// Role {name=1, keyPermission=2}, Permission {permType=1, key=2, range_end=3}. proto3: empty
// fields are omitted; a present options message is written even when empty, as gogoproto does.

import { Reader, Writer, sizeBytesField, sizeIntField, sizeLenField } from '../pkg/protobuf.js';

export const PermType = { READ: 0, WRITE: 1, READWRITE: 2 } as const;
export type PermType = (typeof PermType)[keyof typeof PermType];

export const PERM_TYPE_NAMES: Record<PermType, string> = { 0: 'READ', 1: 'WRITE', 2: 'READWRITE' };

export interface Permission {
  permType: PermType;
  key: Buffer;
  rangeEnd: Buffer;
}

export interface UserOptions {
  noPassword: boolean;
}

export interface User {
  name: string;
  /** bcrypt hash bytes; empty for users without a password. */
  password: Buffer;
  /** Sorted. */
  roles: string[];
  /** null for users written by etcd before 3.4 (no options message). */
  options: UserOptions | null;
}

export interface Role {
  name: string;
  /** Sorted by key. */
  keyPermission: Permission[];
}

// ---- encoding ----

function permissionSize(p: Permission): number {
  return sizeIntField(p.permType) + sizeBytesField(p.key.length) + sizeBytesField(p.rangeEnd.length);
}

function writePermission(w: Writer, p: Permission): void {
  w.int(1, p.permType);
  w.bytes(2, p.key);
  w.bytes(3, p.rangeEnd);
}

export function encodePermission(p: Permission): Buffer {
  const w = new Writer(permissionSize(p));
  writePermission(w, p);
  return w.buf;
}

export function encodeUser(u: User): Buffer {
  const name = Buffer.from(u.name);
  const roles = u.roles.map((r) => Buffer.from(r));
  let size = sizeBytesField(name.length) + sizeBytesField(u.password.length);
  for (const r of roles) size += sizeLenField(r.length);
  const optSize = u.options !== null && u.options.noPassword ? 2 : 0;
  if (u.options !== null) size += sizeLenField(optSize);
  const w = new Writer(size);
  w.bytes(1, name);
  w.bytes(2, u.password);
  for (const r of roles) w.bytesField(3, r);
  if (u.options !== null) {
    w.lenField(4, optSize);
    w.bool(1, u.options.noPassword);
  }
  return w.buf;
}

export function encodeRole(r: Role): Buffer {
  const name = Buffer.from(r.name);
  const permSizes = r.keyPermission.map(permissionSize);
  let size = sizeBytesField(name.length);
  for (const s of permSizes) size += sizeLenField(s);
  const w = new Writer(size);
  w.bytes(1, name);
  r.keyPermission.forEach((p, i) => {
    w.lenField(2, permSizes[i]);
    writePermission(w, p);
  });
  return w.buf;
}

// ---- decoding ----

/** Stored bytes are copied: the bucket's buffer is only valid inside its transaction. */
const copy = (r: Reader): Buffer => Buffer.from(r.bytes());
const utf8 = (r: Reader): string => r.bytes().toString('utf8');

function readPermission(r: Reader): Permission {
  const p: Permission = { permType: 0, key: Buffer.alloc(0), rangeEnd: Buffer.alloc(0) };
  while (!r.done()) {
    const tag = r.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 0) p.permType = r.varint() as PermType;
    else if (field === 2 && wire === 2) p.key = copy(r);
    else if (field === 3 && wire === 2) p.rangeEnd = copy(r);
    else r.skip(wire);
  }
  return p;
}

export function decodePermission(buf: Uint8Array): Permission {
  return readPermission(Reader.of(buf));
}

export function decodeUser(buf: Uint8Array): User {
  const u: User = { name: '', password: Buffer.alloc(0), roles: [], options: null };
  const r = Reader.of(buf);
  while (!r.done()) {
    const tag = r.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 2) u.name = utf8(r);
    else if (field === 2 && wire === 2) u.password = copy(r);
    else if (field === 3 && wire === 2) u.roles.push(utf8(r));
    else if (field === 4 && wire === 2) {
      const o = r.sub();
      u.options = { noPassword: false };
      while (!o.done()) {
        const t = o.varint();
        if (t === 0x08) u.options.noPassword = o.bool();
        else o.skip(t & 7);
      }
    } else r.skip(wire);
  }
  return u;
}

export function decodeRole(buf: Uint8Array): Role {
  const role: Role = { name: '', keyPermission: [] };
  const r = Reader.of(buf);
  while (!r.done()) {
    const tag = r.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 2) role.name = utf8(r);
    else if (field === 2 && wire === 2) role.keyPermission.push(readPermission(r.sub()));
    else r.skip(wire);
  }
  return role;
}
