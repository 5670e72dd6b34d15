// The auth members of InternalRaftRequest (raft_internal.proto: auth_enable = 1000 … and the
// RequestHeader at field 100 carrying the proposer's user name and auth revision), with their
// protobuf encoding. Auth requests are rare, so this favours plain code over the hand-tuned
// layout of the KV requests in raftInternal.ts; the header is only present when a token was sent.
import type { Permission, PermType } from '../../auth/authpb.js';
import { Reader, Writer, sizeBytesField, sizeIntField, sizeVarint } from '../../pkg/protobuf.js';

/** etcd's RequestHeader minus the ID (ours travels in InternalRaftRequest.ID). */
export interface RequestHeader {
  username: string;
  authRevision: number;
}

export type AuthRaftRequest =
  | { op: 'authEnable' }
  | { op: 'authDisable' }
  | { op: 'authStatus' }
  | { op: 'authenticate'; name: string; password: string; simpleToken: string }
  | { op: 'userAdd'; name: string; password: string; hashedPassword: string; noPassword: boolean }
  | { op: 'userDelete'; name: string }
  | { op: 'userGet'; name: string }
  | { op: 'userChangePassword'; name: string; password: string; hashedPassword: string }
  | { op: 'userGrantRole'; user: string; role: string }
  | { op: 'userRevokeRole'; name: string; role: string }
  | { op: 'userList' }
  | { op: 'roleList' }
  | { op: 'roleAdd'; name: string }
  | { op: 'roleDelete'; role: string }
  | { op: 'roleGet'; role: string }
  | { op: 'roleGrantPermission'; name: string; perm: Permission | null }
  | { op: 'roleRevokePermission'; role: string; key: Buffer; rangeEnd: Buffer };

export type AuthOp = AuthRaftRequest['op'];

/** InternalRaftRequest field numbers (raft_internal.proto). */
export const AUTH_FIELDS: Readonly<Record<AuthOp, number>> = {
  authEnable: 1000,
  authDisable: 1011,
  authenticate: 1012,
  authStatus: 1013,
  userAdd: 1100,
  userDelete: 1101,
  userGet: 1102,
  userChangePassword: 1103,
  userGrantRole: 1104,
  userRevokeRole: 1105,
  userList: 1106,
  roleList: 1107,
  roleAdd: 1200,
  roleDelete: 1201,
  roleGet: 1202,
  roleGrantPermission: 1203,
  roleRevokePermission: 1204,
};

const OP_BY_FIELD = new Map<number, AuthOp>(Object.entries(AUTH_FIELDS).map(([op, f]) => [f, op as AuthOp]));

export const HEADER_FIELD = 100;

// ---- body fields ------------------------------------------------------------------------------

/** One field of a body: number and value (string, bytes, bool, nested Permission). */
type Field = [number, string | Buffer | boolean | Permission | null];

function fieldsOf(a: AuthRaftRequest): Field[] {
  switch (a.op) {
    case 'authEnable':
    case 'authDisable':
    case 'authStatus':
    case 'userList':
    case 'roleList':
      return [];
    case 'authenticate':
      return [[1, a.name], [2, a.password], [3, a.simpleToken]];
    case 'userAdd':
      // options (3) is always present, as etcdctl sends it; hashedPassword is field 4.
      return [[1, a.name], [2, a.password], [3, a.noPassword], [4, a.hashedPassword]];
    case 'userDelete':
    case 'userGet':
    case 'roleAdd':
      return [[1, a.name]];
    case 'userChangePassword':
      return [[1, a.name], [2, a.password], [3, a.hashedPassword]];
    case 'userGrantRole':
      return [[1, a.user], [2, a.role]];
    case 'userRevokeRole':
      return [[1, a.name], [2, a.role]];
    case 'roleDelete':
    case 'roleGet':
      return [[1, a.role]];
    case 'roleGrantPermission':
      return [[1, a.name], [2, a.perm]];
    case 'roleRevokePermission':
      return [[1, a.role], [2, a.key], [3, a.rangeEnd]];
  }
}

const strLen = (s: string): number => Buffer.byteLength(s);

function permSize(p: Permission): number {
  return sizeIntField(p.permType) + sizeBytesField(p.key.length) + sizeBytesField(p.rangeEnd.length);
}

function fieldSize(a: AuthRaftRequest, [num, v]: Field): number {
  if (typeof v === 'string') return sizeBytesField(strLen(v));
  if (Buffer.isBuffer(v)) return sizeBytesField(v.length);
  if (typeof v === 'boolean') {
    // userAdd's options message: {no_password = 1}.
    const inner = v ? 2 : 0;
    return a.op === 'userAdd' && num === 3 ? 1 + sizeVarint(inner) + inner : 0;
  }
  if (v === null) return 0;
  const n = permSize(v);
  return 1 + sizeVarint(n) + n;
}

export function authBodySize(a: AuthRaftRequest): number {
  let n = 0;
  for (const f of fieldsOf(a)) n += fieldSize(a, f);
  return n;
}

export function authField(a: AuthRaftRequest): number {
  return AUTH_FIELDS[a.op];
}

export function writeAuthBody(w: Writer, a: AuthRaftRequest): void {
  for (const [num, v] of fieldsOf(a)) {
    if (typeof v === 'string') {
      if (v.length === 0) continue;
      const n = strLen(v);
      w.lenField(num, n);
      w.buf.write(v, w.pos, 'utf8');
      w.pos += n;
    } else if (Buffer.isBuffer(v)) {
      w.bytes(num, v);
    } else if (typeof v === 'boolean') {
      w.lenField(num, v ? 2 : 0);
      w.bool(1, v);
    } else if (v !== null) {
      w.lenField(num, permSize(v));
      w.int(1, v.permType);
      w.bytes(2, v.key);
      w.bytes(3, v.rangeEnd);
    }
  }
}

export function headerSize(h: RequestHeader): number {
  return sizeBytesField(strLen(h.username)) + sizeIntField(h.authRevision);
}

export function writeHeader(w: Writer, h: RequestHeader): void {
  const n = strLen(h.username);
  if (n > 0) {
    w.lenField(2, n);
    w.buf.write(h.username, w.pos, 'utf8');
    w.pos += n;
  }
  w.int(3, h.authRevision);
}

// ---- readers ----------------------------------------------------------------------------------

export function readHeader(rd: Reader): RequestHeader {
  const h: RequestHeader = { username: '', authRevision: 0 };
  while (!rd.done()) {
    const tag = rd.varint();
    if (tag === 0x12) h.username = rd.bytes().toString('utf8');
    else if (tag === 0x18) h.authRevision = rd.int();
    else rd.skip(tag & 7);
  }
  return h;
}

function readPermission(rd: Reader): Permission {
  const p: Permission = { permType: 0, key: Buffer.alloc(0), rangeEnd: Buffer.alloc(0) };
  while (!rd.done()) {
    const tag = rd.varint();
    if (tag === 0x08) p.permType = rd.varint() as PermType;
    else if (tag === 0x12) p.key = Buffer.from(rd.bytes());
    else if (tag === 0x1a) p.rangeEnd = Buffer.from(rd.bytes());
    else rd.skip(tag & 7);
  }
  return p;
}

/** The auth request of InternalRaftRequest field `field`, or undefined for other fields. */
export function readAuthBody(field: number, rd: Reader): AuthRaftRequest | undefined {
  const op = OP_BY_FIELD.get(field);
  if (op === undefined) return undefined;
  const s: string[] = ['', '', '', '', ''];
  let b2 = Buffer.alloc(0);
  let b3 = Buffer.alloc(0);
  let flag = false;
  let perm: Permission | null = null;
  while (!rd.done()) {
    const tag = rd.varint();
    const num = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire !== 2 || num < 1 || num > 4) {
      rd.skip(wire);
      continue;
    }
    if (op === 'userAdd' && num === 3) {
      const o = rd.sub();
      while (!o.done()) {
        const t = o.varint();
        if (t === 0x08) flag = o.bool();
        else o.skip(t & 7);
      }
    } else if (op === 'roleGrantPermission' && num === 2) {
      perm = readPermission(rd.sub());
    } else if (op === 'roleRevokePermission' && num > 1) {
      const v = Buffer.from(rd.bytes());
      if (num === 2) b2 = v;
      else b3 = v;
    } else {
      s[num] = rd.bytes().toString('utf8');
    }
  }
  switch (op) {
    case 'authEnable':
    case 'authDisable':
    case 'authStatus':
    case 'userList':
    case 'roleList':
      return { op };
    case 'authenticate':
      return { op, name: s[1], password: s[2], simpleToken: s[3] };
    case 'userAdd':
      return { op, name: s[1], password: s[2], noPassword: flag, hashedPassword: s[4] };
    case 'userDelete':
    case 'userGet':
    case 'roleAdd':
      return { op, name: s[1] };
    case 'userChangePassword':
      return { op, name: s[1], password: s[2], hashedPassword: s[3] };
    case 'userGrantRole':
      return { op, user: s[1], role: s[2] };
    case 'userRevokeRole':
      return { op, name: s[1], role: s[2] };
    case 'roleDelete':
    case 'roleGet':
      return { op, role: s[1] };
    case 'roleGrantPermission':
      return { op, name: s[1], perm };
    case 'roleRevokePermission':
      return { op, role: s[1], key: b2, rangeEnd: b3 };
  }
}
