// Tests of the auth applier: auth requests applied to the store, root-only management, users
// reading themselves and their roles, permission checks of Put/DeleteRange/Txn (every op, nested
// txns)/LeaseRevoke from the entry's RequestHeader, stale auth revisions, Authenticate's token
// named after the entry index, and the InternalRaftRequest encoding of auth requests and headers.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AuthStore,
  ErrAuthOldRevision,
  ErrInvalidAuthMgmt,
  ErrPermissionDenied,
  ErrRootRoleNotExist,
  ErrRootUserNotExist,
  ErrUserAlreadyExist,
  ErrUserEmpty,
  PermType,
  SimpleTokenProvider,
} from '../../src/auth/index.js';
import type { Lessor } from '../../src/lease/index.js';
import type { Applier, ApplyResult } from '../../src/server/apply.js';
import { AuthApplier } from '../../src/server/applyAuth.js';
import type { AuthRaftRequest } from '../../src/server/etcdserverpb/authRequests.js';
import {
  decodeInternalRaftRequest,
  encodeInternalRaftRequest,
  type InternalRaftRequest,
} from '../../src/server/etcdserverpb/raftInternal.js';
import type { ResponseHeader } from '../../src/server/etcdserverpb/rpc.js';
import { MemBackend } from '../support/memBackend.js';

const b = (s: string) => Buffer.from(s);
const HEADER: ResponseHeader = { clusterId: 1n, memberId: 2n, revision: 7, raftTerm: 3 };

interface Setup {
  as: AuthStore;
  aa: AuthApplier;
  /** Requests the base applier was asked to apply. */
  applied: InternalRaftRequest[];
  leaseKeys: Map<bigint, Buffer[]>;
  index: { n: number };
}

function setup(): Setup {
  const tp = new SimpleTokenProvider({ indexWaiter: () => undefined });
  const as = new AuthStore(new MemBackend(), tp, { bcryptCost: 4 });
  const applied: InternalRaftRequest[] = [];
  const base = {
    apply(r: InternalRaftRequest): ApplyResult {
      applied.push(r);
      return { resp: { header: HEADER }, err: null };
    },
  } as unknown as Applier;
  const leaseKeys = new Map<bigint, Buffer[]>();
  const lessor = {
    lookup: (id: bigint) => (leaseKeys.has(id) ? { keys: () => leaseKeys.get(id)! } : undefined),
  } as unknown as Lessor;
  const aa = new AuthApplier(as, base, lessor, { header: () => HEADER });
  return { as, aa, applied, leaseKeys, index: { n: 10 } };
}

/** Applies an auth request as `user` (undefined: no header) at the next index. */
function auth(s: Setup, a: AuthRaftRequest, user?: string): ApplyResult {
  return s.aa.apply(req({ auth: a }, s, user), ++s.index.n);
}

function req(body: Partial<InternalRaftRequest>, s: Setup, user?: string, revision?: number): InternalRaftRequest {
  const r: InternalRaftRequest = { idPrefix: 1, id: 1, ...body };
  if (user !== undefined) r.header = { username: user, authRevision: revision ?? s.as.revision };
  return r;
}

function ok(res: ApplyResult): unknown {
  assert.equal(res.err, null, `unexpected error ${res.err?.message}`);
  return res.resp;
}

async function hashed(s: Setup, pw: string): Promise<string> {
  return s.as.hashPassword(pw);
}

/** root (with the root role) and alice with role rw: readwrite on [dir/, dir0), read on "ro". */
async function enabled(): Promise<Setup> {
  const s = setup();
  ok(auth(s, { op: 'userAdd', name: 'root', password: '', hashedPassword: await hashed(s, 'r'), noPassword: false }));
  ok(auth(s, { op: 'userAdd', name: 'alice', password: '', hashedPassword: await hashed(s, 'a'), noPassword: false }));
  ok(auth(s, { op: 'roleAdd', name: 'root' }));
  ok(auth(s, { op: 'userGrantRole', user: 'root', role: 'root' }));
  ok(auth(s, { op: 'roleAdd', name: 'rw' }));
  const perm = { permType: PermType.READWRITE, key: b('dir/'), rangeEnd: b('dir0') };
  ok(auth(s, { op: 'roleGrantPermission', name: 'rw', perm }));
  ok(auth(s, { op: 'roleGrantPermission', name: 'rw', perm: { permType: PermType.READ, key: b('ro'), rangeEnd: b('') } }));
  ok(auth(s, { op: 'userGrantRole', user: 'alice', role: 'rw' }));
  ok(auth(s, { op: 'authEnable' }));
  assert.equal(s.as.isAuthEnabled(), true);
  return s;
}

const put = (key: string, extra: object = {}) => ({ put: { key: b(key), value: b('v'), ...extra } });

describe('AuthApplier', () => {
  test('auth management applies to the store and answers with a header', async () => {
    const s = setup();
    const pw = await hashed(s, 'pw');
    assert.deepEqual(ok(auth(s, { op: 'userAdd', name: 'u', password: '', hashedPassword: pw, noPassword: false })), {
      header: HEADER,
    });
    assert.equal(auth(s, { op: 'userAdd', name: 'u', password: '', hashedPassword: pw, noPassword: false }).err, ErrUserAlreadyExist);
    ok(auth(s, { op: 'roleAdd', name: 'r' }));
    ok(auth(s, { op: 'userGrantRole', user: 'u', role: 'r' }));
    assert.deepEqual(ok(auth(s, { op: 'userGet', name: 'u' })), { header: HEADER, roles: ['r'] });
    assert.deepEqual(ok(auth(s, { op: 'userList' })), { header: HEADER, users: ['u'] });
    assert.deepEqual(ok(auth(s, { op: 'roleList' })), { header: HEADER, roles: ['r'] });
    ok(auth(s, { op: 'roleGrantPermission', name: 'r', perm: { permType: PermType.WRITE, key: b('k'), rangeEnd: b('') } }));
    assert.deepEqual(ok(auth(s, { op: 'roleGet', role: 'r' })), {
      header: HEADER,
      perm: [{ permType: PermType.WRITE, key: b('k'), rangeEnd: b('') }],
    });
    ok(auth(s, { op: 'roleRevokePermission', role: 'r', key: b('k'), rangeEnd: b('') }));
    ok(auth(s, { op: 'userRevokeRole', name: 'u', role: 'r' }));
    ok(auth(s, { op: 'roleDelete', role: 'r' }));
    ok(auth(s, { op: 'userDelete', name: 'u' }));
    assert.deepEqual(ok(auth(s, { op: 'userList' })), { header: HEADER, users: [] });
    const st = ok(auth(s, { op: 'authStatus' })) as { enabled: boolean; authRevision: number };
    assert.equal(st.enabled, false);
    assert.equal(st.authRevision, s.as.revision);
  });

  test('auth enable needs root with the root role', async () => {
    const s = setup();
    assert.equal(auth(s, { op: 'authEnable' }).err, ErrRootUserNotExist);
    ok(auth(s, { op: 'userAdd', name: 'root', password: '', hashedPassword: await hashed(s, 'r'), noPassword: false }));
    assert.equal(auth(s, { op: 'authEnable' }).err, ErrRootRoleNotExist);
    ok(auth(s, { op: 'roleAdd', name: 'root' }));
    ok(auth(s, { op: 'userGrantRole', user: 'root', role: 'root' }));
    ok(auth(s, { op: 'authEnable' }));
    assert.equal(s.as.isAuthEnabled(), true);
  });

  test('with auth enabled, management needs the root role', async () => {
    const s = await enabled();
    const mgmt: AuthRaftRequest[] = [
      { op: 'authDisable' },
      { op: 'authStatus' },
      { op: 'userList' },
      { op: 'roleList' },
      { op: 'roleAdd', name: 'x' },
      { op: 'userDelete', name: 'alice' },
      { op: 'userGrantRole', user: 'alice', role: 'root' },
    ];
    for (const a of mgmt) {
      assert.equal(auth(s, a).err, ErrUserEmpty, `${a.op} without a user`);
      assert.equal(auth(s, a, 'alice').err, ErrPermissionDenied, `${a.op} as alice`);
    }
    assert.equal(s.as.isAuthEnabled(), true);
    assert.deepEqual(s.as.userGet('alice'), ['rw']);
    ok(auth(s, { op: 'roleAdd', name: 'x' }, 'root'));
    // root cannot lose its role or be deleted while auth is on.
    assert.equal(auth(s, { op: 'userRevokeRole', name: 'root', role: 'root' }, 'root').err, ErrInvalidAuthMgmt);
    ok(auth(s, { op: 'authDisable' }, 'root'));
    assert.equal(s.as.isAuthEnabled(), false);
  });

  test('a user reads itself and the roles it has, nothing else', async () => {
    const s = await enabled();
    assert.deepEqual((ok(auth(s, { op: 'userGet', name: 'alice' }, 'alice')) as { roles: string[] }).roles, ['rw']);
    assert.equal(auth(s, { op: 'userGet', name: 'root' }, 'alice').err, ErrPermissionDenied);
    assert.equal((ok(auth(s, { op: 'roleGet', role: 'rw' }, 'alice')) as { perm: unknown[] }).perm.length, 2);
    assert.equal(auth(s, { op: 'roleGet', role: 'root' }, 'alice').err, ErrPermissionDenied);
    assert.equal(auth(s, { op: 'roleGet', role: 'rw' }).err, ErrUserEmpty);
  });

  test('Put, DeleteRange and Range are checked against the header user', async () => {
    const s = await enabled();
    const at = () => ++s.index.n;
    ok(s.aa.apply(req(put('dir/a'), s, 'alice'), at()));
    assert.equal(s.aa.apply(req(put('foo'), s, 'alice'), at()).err, ErrPermissionDenied);
    assert.equal(s.aa.apply(req(put('ro'), s, 'alice'), at()).err, ErrPermissionDenied);
    assert.equal(s.aa.apply(req(put('dir/a'), s), at()).err, ErrUserEmpty);
    ok(s.aa.apply(req(put('foo'), s, 'root'), at()));
    // prev_kv needs read permission too
    ok(s.aa.apply(req(put('dir/a', { prevKv: true }), s, 'alice'), at()));
    const del = (key: string, rangeEnd: string, prevKv = false) => ({ deleteRange: { key: b(key), rangeEnd: b(rangeEnd), prevKv } });
    ok(s.aa.apply(req(del('dir/', 'dir0'), s, 'alice'), at()));
    assert.equal(s.aa.apply(req(del('dir/', 'dir1'), s, 'alice'), at()).err, ErrPermissionDenied);
    assert.equal(s.aa.apply(req(del('ro', ''), s, 'alice'), at()).err, ErrPermissionDenied);
    ok(s.aa.apply(req({ range: { key: b('ro') } }, s, 'alice'), at()));
    assert.equal(s.aa.apply(req({ range: { key: b('a'), rangeEnd: b('z') } }, s, 'alice'), at()).err, ErrPermissionDenied);
    // Only the permitted requests reached the base applier.
    assert.equal(s.applied.length, 5);
  });

  test('a stale auth revision in the header is refused', async () => {
    const s = await enabled();
    const old = s.as.revision;
    ok(auth(s, { op: 'roleAdd', name: 'other' }, 'root'));
    assert.equal(s.aa.apply(req(put('dir/a'), s, 'alice', old), ++s.index.n).err, ErrAuthOldRevision);
    ok(s.aa.apply(req(put('dir/a'), s, 'alice'), ++s.index.n));
  });

  test('every op of a txn is checked, nested txns and compares included', async () => {
    const s = await enabled();
    const txn = (t: object) => s.aa.apply(req({ txn: { compare: [], success: [], failure: [], ...t } }, s, 'alice'), ++s.index.n);
    const rput = (k: string) => ({ requestPut: { key: b(k), value: b('v') } });
    const rrange = (k: string) => ({ requestRange: { key: b(k) } });
    ok(txn({ success: [rput('dir/a'), rrange('ro')], failure: [rrange('dir/b')] }));
    assert.equal(txn({ success: [rput('dir/a')], failure: [rput('foo')] }).err, ErrPermissionDenied);
    assert.equal(txn({ success: [rput('ro')] }).err, ErrPermissionDenied);
    assert.equal(txn({ compare: [{ result: 0, target: 3, key: b('foo'), value: b('x') }] }).err, ErrPermissionDenied);
    ok(txn({ compare: [{ result: 0, target: 3, key: b('ro'), value: b('x') }], success: [rput('dir/x')] }));
    const nested = { requestTxn: { compare: [], success: [rput('foo')], failure: [] } };
    assert.equal(txn({ success: [nested] }).err, ErrPermissionDenied);
    const delPrev = { requestDeleteRange: { key: b('ro'), prevKv: true } };
    assert.equal(txn({ success: [delPrev] }).err, ErrPermissionDenied);
  });

  test('lease revoke and lease puts need write permission on the lease keys', async () => {
    const s = await enabled();
    s.leaseKeys.set(5n, [b('dir/a'), b('dir/b')]);
    s.leaseKeys.set(6n, [b('dir/a'), b('foo')]);
    ok(s.aa.apply(req({ leaseRevoke: { ID: 5n } }, s, 'alice'), ++s.index.n));
    assert.equal(s.aa.apply(req({ leaseRevoke: { ID: 6n } }, s, 'alice'), ++s.index.n).err, ErrPermissionDenied);
    ok(s.aa.apply(req({ leaseRevoke: { ID: 6n } }, s, 'root'), ++s.index.n));
    assert.equal(s.aa.apply(req(put('dir/c', { lease: 6n }), s, 'alice'), ++s.index.n).err, ErrPermissionDenied);
    ok(s.aa.apply(req(put('dir/c', { lease: 5n }), s, 'alice'), ++s.index.n));
  });

  test('with auth disabled nothing is checked', () => {
    const s = setup();
    ok(s.aa.apply(req(put('anything'), s), 1));
    ok(s.aa.apply(req({ leaseRevoke: { ID: 9n } }, s), 2));
    assert.equal(s.applied.length, 2);
  });

  test('authenticate issues a simple token named after the entry index', async () => {
    const s = await enabled();
    const res = s.aa.apply(req({ auth: { op: 'authenticate', name: 'alice', password: '', simpleToken: 'abcdefghijklmnop' } }, s), 42);
    const resp = (await ok(res)) as { header: ResponseHeader; token: string };
    assert.equal(resp.token, 'abcdefghijklmnop.42');
    assert.deepEqual(resp.header, HEADER);
    assert.deepEqual(await s.as.authInfoFromToken(resp.token), { username: 'alice', revision: s.as.revision });
    // An unknown user gets a rejected result that nobody need await.
    const bad = s.aa.apply(req({ auth: { op: 'authenticate', name: 'nobody', password: '', simpleToken: 'x' } }, s), 43);
    await assert.rejects(bad.resp as Promise<unknown>);
  });
});

describe('auth requests in InternalRaftRequest', () => {
  const perm = { permType: PermType.READWRITE, key: b('k'), rangeEnd: b('\u00ff') };
  const cases: AuthRaftRequest[] = [
    { op: 'authEnable' },
    { op: 'authDisable' },
    { op: 'authStatus' },
    { op: 'authenticate', name: 'alice', password: '', simpleToken: 'tok' },
    { op: 'userAdd', name: 'ü', password: '', hashedPassword: 'aGFzaA==', noPassword: false },
    { op: 'userAdd', name: 'np', password: '', hashedPassword: '', noPassword: true },
    { op: 'userDelete', name: 'u' },
    { op: 'userGet', name: 'u' },
    { op: 'userChangePassword', name: 'u', password: '', hashedPassword: 'eA==' },
    { op: 'userGrantRole', user: 'u', role: 'r' },
    { op: 'userRevokeRole', name: 'u', role: 'r' },
    { op: 'userList' },
    { op: 'roleList' },
    { op: 'roleAdd', name: 'r' },
    { op: 'roleDelete', role: 'r' },
    { op: 'roleGet', role: 'r' },
    { op: 'roleGrantPermission', name: 'r', perm },
    { op: 'roleGrantPermission', name: 'r', perm: null },
    { op: 'roleRevokePermission', role: 'r', key: b('a'), rangeEnd: b('b') },
  ];
  for (const a of cases) {
    test(`${a.op} round-trips with and without a header`, () => {
      for (const header of [undefined, { username: 'alice', authRevision: 300 }]) {
        const r: InternalRaftRequest = { idPrefix: 0xbeef, id: 123456789, auth: a, ...(header ? { header } : {}) };
        const d = decodeInternalRaftRequest(encodeInternalRaftRequest(r));
        assert.deepEqual(d, r);
      }
    });
  }

  test('field numbers are etcd raft_internal.proto ones', () => {
    // auth_enable = 1000: tag (1000 << 3 | 2) = 8002 = varint c2 3e, empty body.
    const enc = encodeInternalRaftRequest({ idPrefix: 0, id: 1, auth: { op: 'authEnable' } });
    assert.deepEqual([...enc], [0x08, 0x01, 0xc2, 0x3e, 0x00]);
    // header = 100: tag 802 = a2 06; username "u" (field 2), auth_revision 5 (field 3).
    const h = encodeInternalRaftRequest({ idPrefix: 0, id: 1, put: { key: b('k'), value: b('') }, header: { username: 'u', authRevision: 5 } });
    assert.deepEqual([...h.subarray(h.length - 8)], [0xa2, 0x06, 0x05, 0x12, 0x01, 0x75, 0x18, 0x05]);
  });
});
