// Hand-written protobuf codec of etcd's authpb messages, the values of the authUsers and
// authRoles buckets: User {name=1, password=2, roles=3, options=4 (UserAddOptions {no_password=1})},
// Role {name=1, keyPermission=2}, Permission {permType=1, key=2, range_end=3}. proto3: empty
// fields are omitted; a present options message is written even when empty, as gogoproto does.

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

export class AuthPbError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuthPbError';
  }
}

// ---- encoding ----

function varintSize(v: number): number {
  let n = 1;
  while (v >= 0x80) {
    v = Math.floor(v / 128);
    n++;
  }
  return n;
}

class Writer {
  readonly buf: Buffer;
  off = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  varint(v: number): void {
    while (v >= 0x80) {
      this.buf[this.off++] = (v & 0x7f) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.off++] = v;
  }
  bytes(field: number, b: Uint8Array): void {
    this.buf[this.off++] = (field << 3) | 2;
    this.varint(b.length);
    this.buf.set(b, this.off);
    this.off += b.length;
  }
}

const bytesFieldSize = (len: number) => 1 + varintSize(len) + len;

function permissionSize(p: Permission): number {
  let n = 0;
  if (p.permType !== 0) n += 1 + varintSize(p.permType);
  if (p.key.length > 0) n += bytesFieldSize(p.key.length);
  if (p.rangeEnd.length > 0) n += bytesFieldSize(p.rangeEnd.length);
  return n;
}

function writePermission(w: Writer, p: Permission): void {
  if (p.permType !== 0) {
    w.buf[w.off++] = 0x08;
    w.varint(p.permType);
  }
  if (p.key.length > 0) w.bytes(2, p.key);
  if (p.rangeEnd.length > 0) w.bytes(3, p.rangeEnd);
}

export function encodePermission(p: Permission): Buffer {
  const w = new Writer(permissionSize(p));
  writePermission(w, p);
  return w.buf;
}

export function encodeUser(u: User): Buffer {
  const name = Buffer.from(u.name);
  const roles = u.roles.map((r) => Buffer.from(r));
  let size = 0;
  if (name.length > 0) size += bytesFieldSize(name.length);
  if (u.password.length > 0) size += bytesFieldSize(u.password.length);
  for (const r of roles) size += bytesFieldSize(r.length);
  const optSize = u.options !== null && u.options.noPassword ? 2 : 0;
  if (u.options !== null) size += bytesFieldSize(optSize);
  const w = new Writer(size);
  if (name.length > 0) w.bytes(1, name);
  if (u.password.length > 0) w.bytes(2, u.password);
  for (const r of roles) w.bytes(3, r);
  if (u.options !== null) {
    w.buf[w.off++] = 0x22;
    w.varint(optSize);
    if (optSize > 0) {
      w.buf[w.off++] = 0x08;
      w.buf[w.off++] = 1;
    }
  }
  return w.buf;
}

export function encodeRole(r: Role): Buffer {
  const name = Buffer.from(r.name);
  const permSizes = r.keyPermission.map(permissionSize);
  let size = name.length > 0 ? bytesFieldSize(name.length) : 0;
  for (const s of permSizes) size += bytesFieldSize(s);
  const w = new Writer(size);
  if (name.length > 0) w.bytes(1, name);
  r.keyPermission.forEach((p, i) => {
    w.buf[w.off++] = 0x12;
    w.varint(permSizes[i]);
    writePermission(w, p);
  });
  return w.buf;
}

// ---- decoding ----

class Reader {
  off: number;
  constructor(
    readonly buf: Uint8Array,
    start: number,
    readonly end: number,
  ) {
    this.off = start;
  }
  varint(): number {
    let v = 0;
    let mul = 1;
    for (;;) {
      if (this.off >= this.end) throw new AuthPbError('authpb: unexpected EOF');
      const b = this.buf[this.off++];
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
      if (mul > 2 ** 70) throw new AuthPbError('authpb: integer overflow');
    }
  }
  /** The bounds of a length-delimited field's payload. */
  span(): [number, number] {
    const len = this.varint();
    const s = this.off;
    if (s + len > this.end) throw new AuthPbError('authpb: unexpected EOF');
    this.off = s + len;
    return [s, s + len];
  }
  skip(wire: number, field: number): void {
    if (wire === 0) this.varint();
    else if (wire === 2) this.span();
    else if (wire === 1) this.off += 8;
    else if (wire === 5) this.off += 4;
    else throw new AuthPbError(`authpb: illegal wireType ${wire} for field ${field}`);
    if (this.off > this.end) throw new AuthPbError('authpb: unexpected EOF');
  }
}

const copy = (buf: Uint8Array, [s, e]: [number, number]) => Buffer.from(buf.subarray(s, e));
const utf8 = (buf: Uint8Array, [s, e]: [number, number]) =>
  Buffer.from(buf.buffer, buf.byteOffset + s, e - s).toString('utf8');

function readPermission(buf: Uint8Array, s: number, e: number): Permission {
  const p: Permission = { permType: 0, key: Buffer.alloc(0), rangeEnd: Buffer.alloc(0) };
  const r = new Reader(buf, s, e);
  while (r.off < e) {
    const tag = r.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 0) p.permType = r.varint() as PermType;
    else if (field === 2 && wire === 2) p.key = copy(buf, r.span());
    else if (field === 3 && wire === 2) p.rangeEnd = copy(buf, r.span());
    else r.skip(wire, field);
  }
  return p;
}

export function decodePermission(buf: Uint8Array): Permission {
  return readPermission(buf, 0, buf.length);
}

export function decodeUser(buf: Uint8Array): User {
  const u: User = { name: '', password: Buffer.alloc(0), roles: [], options: null };
  const r = new Reader(buf, 0, buf.length);
  while (r.off < buf.length) {
    const tag = r.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 2) u.name = utf8(buf, r.span());
    else if (field === 2 && wire === 2) u.password = copy(buf, r.span());
    else if (field === 3 && wire === 2) u.roles.push(utf8(buf, r.span()));
    else if (field === 4 && wire === 2) {
      const [s, e] = r.span();
      const o = new Reader(buf, s, e);
      u.options = { noPassword: false };
      while (o.off < e) {
        const t = o.varint();
        if (t >>> 3 === 1 && (t & 7) === 0) u.options.noPassword = o.varint() !== 0;
        else o.skip(t & 7, t >>> 3);
      }
    } else r.skip(wire, field);
  }
  return u;
}

export function decodeRole(buf: Uint8Array): Role {
  const role: Role = { name: '', keyPermission: [] };
  const r = new Reader(buf, 0, buf.length);
  while (r.off < buf.length) {
    const tag = r.varint();
    const field = tag >>> 3;
    const wire = tag & 7;
    if (field === 1 && wire === 2) role.name = utf8(buf, r.span());
    else if (field === 2 && wire === 2) {
      const [s, e] = r.span();
      role.keyPermission.push(readPermission(buf, s, e));
    } else r.skip(wire, field);
  }
  return role;
}
