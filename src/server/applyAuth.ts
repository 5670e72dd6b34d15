// Applying committed entries with auth (etcd's authApplierV3 and the auth part of
// applierV3backend): the proposer's user and auth revision come from the entry's RequestHeader;
// auth management needs the root role; KV writes, every op of a txn and lease revokes are checked
// against the user's key permissions before the base Applier runs them; auth requests themselves
// (AuthEnable, UserAdd, Authenticate …) are applied to the AuthStore here. The checks run on every
// member at apply time, so a permission change committed before a write is always seen by it.
import type { AuthInfo, AuthStore } from '../auth/index.js';
import { PermType } from '../auth/index.js';
import type { Lessor } from '../lease/index.js';
import type { Applier, ApplyResult } from './apply.js';
import type { AuthRaftRequest } from './etcdserverpb/authRequests.js';
import type { InternalRaftRequest } from './etcdserverpb/raftInternal.js';
import type { RequestOp, ResponseHeader, TxnRequest } from './etcdserverpb/rpc.js';

/** What the auth applier reads of the server: a response header at the current KV revision. */
export interface AuthHeaderSource {
  header(): ResponseHeader;
}

/** Range permission on every compare and read, write permission on every write, nested txns too. */
export function checkTxnAuth(as: AuthStore, ai: AuthInfo, rt: TxnRequest): Error | null {
  for (const c of rt.compare ?? []) {
    const err = as.isRangePermitted(ai, c.key, c.rangeEnd);
    if (err !== null) return err;
  }
  return checkOps(as, ai, rt.success) ?? checkOps(as, ai, rt.failure);
}

function checkOps(as: AuthStore, ai: AuthInfo, ops: RequestOp[] | undefined): Error | null {
  if (ops === undefined) return null;
  for (const op of ops) {
    let err: Error | null = null;
    if (op.requestRange) err = as.isRangePermitted(ai, op.requestRange.key, op.requestRange.rangeEnd);
    else if (op.requestPut) err = as.isPutPermitted(ai, op.requestPut.key);
    else if (op.requestDeleteRange) {
      const d = op.requestDeleteRange;
      if (d.prevKv) err = as.isRangePermitted(ai, d.key, d.rangeEnd);
      err ??= as.isDeleteRangePermitted(ai, d.key, d.rangeEnd);
    } else if (op.requestTxn) err = checkTxnAuth(as, ai, op.requestTxn);
    if (err !== null) return err;
  }
  return null;
}

/** Requests only a user with the root role may make (etcd's needAdminPermission). */
const ADMIN_OPS = new Set<AuthRaftRequest['op']>([
  'authEnable',
  'authDisable',
  'authStatus',
  'userAdd',
  'userDelete',
  'userChangePassword',
  'userGrantRole',
  'userRevokeRole',
  'roleAdd',
  'roleGrantPermission',
  'roleRevokePermission',
  'roleDelete',
  'userList',
  'roleList',
]);

const NO_USER: AuthInfo = Object.freeze({ username: '', revision: 0 });

export class AuthApplier {
  constructor(
    private readonly as: AuthStore,
    private readonly base: Applier,
    private readonly lessor: Lessor,
    private readonly hs: AuthHeaderSource,
  ) {}

  /** Applies the entry at raft `index` (simple tokens are named after it). */
  apply(r: InternalRaftRequest, index: number): ApplyResult {
    const ai: AuthInfo = r.header !== undefined ? { username: r.header.username, revision: r.header.authRevision } : NO_USER;
    if (r.auth !== undefined) return this.applyAuth(r.auth, ai, index);
    // Nothing to check while auth is off: the base applier alone (the hot path).
    if (!this.as.isAuthEnabled()) return this.base.apply(r);
    const err = this.check(r, ai);
    if (err !== null) return { resp: null, err };
    return this.base.apply(r);
  }

  private check(r: InternalRaftRequest, ai: AuthInfo): Error | null {
    const as = this.as;
    if (r.put) {
      const p = r.put;
      return (
        as.isPutPermitted(ai, p.key) ??
        this.checkLeasePuts(ai, p.lease ?? 0n) ??
        (p.prevKv ? as.isRangePermitted(ai, p.key, null) : null)
      );
    }
    if (r.deleteRange) {
      const d = r.deleteRange;
      return as.isDeleteRangePermitted(ai, d.key, d.rangeEnd) ?? (d.prevKv ? as.isRangePermitted(ai, d.key, d.rangeEnd) : null);
    }
    if (r.txn) return checkTxnAuth(as, ai, r.txn);
    if (r.range) return as.isRangePermitted(ai, r.range.key, r.range.rangeEnd);
    if (r.leaseRevoke) return this.checkLeasePuts(ai, r.leaseRevoke.ID);
    return null;
  }

  /** Write permission on every key attached to a lease (revoking it deletes them). */
  private checkLeasePuts(ai: AuthInfo, id: bigint): Error | null {
    if (id === 0n) return null;
    const l = this.lessor.lookup(id);
    if (l === undefined) return null;
    for (const k of l.keys()) {
      const err = this.as.isPutPermitted(ai, k);
      if (err !== null) return err;
    }
    return null;
  }

  private header(): ResponseHeader {
    return this.hs.header();
  }

  private applyAuth(a: AuthRaftRequest, ai: AuthInfo, index: number): ApplyResult {
    const as = this.as;
    try {
      if (ADMIN_OPS.has(a.op)) {
        const err = as.isAdminPermitted(ai);
        if (err !== null) return { resp: null, err };
      }
      switch (a.op) {
        case 'authEnable':
          as.authEnable();
          return this.ok({});
        case 'authDisable':
          as.authDisable();
          return this.ok({});
        case 'authStatus':
          return this.ok({ enabled: as.isAuthEnabled(), authRevision: as.revision });
        case 'authenticate': {
          const header = this.header();
          const token = as.authenticate(a.name, { index, simpleTokenPrefix: a.simpleToken });
          // Only the proposer awaits the result: other members must not see an unhandled rejection.
          token.catch(() => {});
          return { resp: token.then((t) => ({ header, token: t })), err: null };
        }
        case 'userAdd':
          as.userAdd({
            name: a.name,
            password: a.password,
            hashedPassword: a.hashedPassword,
            options: { noPassword: a.noPassword },
          });
          return this.ok({});
        case 'userDelete':
          as.userDelete(a.name);
          return this.ok({});
        case 'userChangePassword':
          as.userChangePassword({ name: a.name, password: a.password, hashedPassword: a.hashedPassword });
          return this.ok({});
        case 'userGrantRole':
          as.userGrantRole(a.user, a.role);
          return this.ok({});
        case 'userRevokeRole':
          as.userRevokeRole(a.name, a.role);
          return this.ok({});
        case 'userGet': {
          // A user may read itself without the root role.
          const err = as.isAdminPermitted(ai);
          if (err !== null && a.name !== ai.username) return { resp: null, err };
          return this.ok({ roles: as.userGet(a.name) });
        }
        case 'userList':
          return this.ok({ users: as.userList() });
        case 'roleAdd':
          as.roleAdd(a.name);
          return this.ok({});
        case 'roleDelete':
          as.roleDelete(a.role);
          return this.ok({});
        case 'roleGet': {
          // A user may read the roles it has without the root role.
          const err = as.isAdminPermitted(ai);
          if (err !== null && !as.hasRole(ai.username, a.role)) return { resp: null, err };
          return this.ok({ perm: as.roleGet(a.role).map(copyPermission) });
        }
        case 'roleList':
          return this.ok({ roles: as.roleList() });
        case 'roleGrantPermission':
          as.roleGrantPermission(a.name, a.perm);
          return this.ok({});
        case 'roleRevokePermission':
          as.roleRevokePermission(a.role, a.key, a.rangeEnd);
          return this.ok({});
      }
    } catch (err) {
      return { resp: null, err: err as Error };
    }
  }

  private ok(fields: object): ApplyResult {
    return { resp: { header: this.header(), ...fields }, err: null };
  }
}

function copyPermission(p: { permType: PermType; key: Buffer; rangeEnd: Buffer }) {
  return { permType: p.permType, key: p.key, rangeEnd: p.rangeEnd };
}
