// The auth store (etcd's server/auth/store.go): the enabled flag, users, roles, key-range
// permissions and the auth revision, persisted in the auth, authUsers and authRoles buckets, plus
// the permission checks every API call goes through and token issue/lookup via a TokenProvider.
//
// Mutations are applied from raft entries on every member: they are synchronous, write through to
// the backend batch and bump the auth revision, which a request must not be older than. Users and
// roles are also held in memory so checks never touch the backend; each user's permissions are
// merged into an interval cache, rebuilt lazily after any change. Password hashing (bcrypt) is
// slow: the API layer hashes with hashPassword() before proposing and the apply stores the hash.
//
// Management calls throw AuthErrors; the permission checks return an AuthError or null, since a
// denied request is an ordinary outcome on the hot path.

import bcrypt from 'bcryptjs';
import type { BatchTx } from '../storage/backend/backend.js';
import { Bucket } from '../storage/backend/buckets.js';
import { PermType, decodeRole, decodeUser, encodeRole, encodeUser, type Permission, type Role, type User } from './authpb.js';
import {
  ErrAuthFailed,
  ErrAuthNotEnabled,
  ErrAuthOldRevision,
  ErrInvalidAuthMgmt,
  ErrInvalidAuthToken,
  ErrNoPasswordUser,
  ErrPermissionDenied,
  ErrPermissionNotGiven,
  ErrPermissionNotGranted,
  ErrRoleAlreadyExist,
  ErrRoleEmpty,
  ErrRoleNotFound,
  ErrRoleNotGranted,
  ErrRootRoleNotExist,
  ErrRootUserNotExist,
  ErrUserAlreadyExist,
  ErrUserEmpty,
  ErrUserNotFound,
  type AuthError,
} from './errors.js';
import { checkKeyRange, isValidPermissionRange, mergePermissions, type UnifiedRangePermissions } from './rangePermCache.js';
import type { AssignParams, AuthInfo, TokenProvider } from './tokenProvider.js';

export const ROOT_USER = 'root';
export const ROOT_ROLE = 'root';

const AUTH_ENABLED_KEY = Buffer.from('authEnabled');
const AUTH_REVISION_KEY = Buffer.from('authRevision');
const AUTH_ENABLED = Buffer.from([1]);
const AUTH_DISABLED = Buffer.from([0]);

const BCRYPT_MIN_COST = 4;
const BCRYPT_MAX_COST = 31;
export const BCRYPT_DEFAULT_COST = 10;

/** The permission RoleGet reports for the root role: read-write on every key. */
export const ROOT_PERMISSION: Readonly<Permission> = Object.freeze({
  permType: PermType.READWRITE,
  key: Buffer.alloc(0),
  rangeEnd: Buffer.from([0]),
});

/** What the store needs of the backend. */
export type AuthBackend = Pick<BatchTx, 'get' | 'put' | 'delete' | 'forEach'>;

export type AuthLog = (level: 'debug' | 'info' | 'warn' | 'error', msg: string) => void;

export interface AuthStoreOptions {
  /** bcrypt cost (--bcrypt-cost); invalid values fall back to 10 as in etcd. */
  bcryptCost?: number;
  log?: AuthLog;
}

export interface UserAddRequest {
  name: string;
  /** Plain password: only entries from etcd < 3.5 carry it; hashed here (slow). */
  password?: string;
  /** base64 of the bcrypt hash (what the API layer proposes). */
  hashedPassword?: string;
  options?: { noPassword: boolean } | null;
}

export interface UserChangePasswordRequest {
  name: string;
  password?: string;
  hashedPassword?: string;
}

const BASE64_STD = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

export class AuthStore {
  readonly bcryptCost: number;
  private be: AuthBackend;
  private readonly tokenProvider: TokenProvider;
  private readonly log: AuthLog;
  private enabled = false;
  private rev = 0;
  private users = new Map<string, User>();
  private roles = new Map<string, Role>();
  private permCache = new Map<string, UnifiedRangePermissions>();

  constructor(be: AuthBackend, tokenProvider: TokenProvider, opts: AuthStoreOptions = {}) {
    this.log = opts.log ?? (() => {});
    let cost = opts.bcryptCost ?? BCRYPT_DEFAULT_COST;
    if (!Number.isInteger(cost) || cost < BCRYPT_MIN_COST || cost > BCRYPT_MAX_COST) {
      this.log('warn', `use default bcrypt cost instead of the invalid given cost given-cost=${cost}`);
      cost = BCRYPT_DEFAULT_COST;
    }
    this.bcryptCost = cost;
    this.be = be;
    this.tokenProvider = tokenProvider;
    this.load();
    if (this.enabled) this.tokenProvider.enable();
    if (this.rev === 0) this.commitRevision();
  }

  // ---- state ----

  get revision(): number {
    return this.rev;
  }

  isAuthEnabled(): boolean {
    return this.enabled;
  }

  /** Reloads everything from the backend (after a snapshot is installed). */
  recover(be: AuthBackend): void {
    this.be = be;
    const wasEnabled = this.enabled;
    this.load();
    if (this.enabled && !wasEnabled) this.tokenProvider.enable();
    else if (!this.enabled && wasEnabled) this.tokenProvider.disable();
  }

  private load(): void {
    const en = this.be.get(Bucket.Auth, AUTH_ENABLED_KEY);
    this.enabled = en !== undefined && en.length === 1 && en[0] === 1;
    const rev = this.be.get(Bucket.Auth, AUTH_REVISION_KEY);
    this.rev = rev !== undefined && rev.length === 8 ? Number(rev.readBigUInt64BE(0)) : 0;
    this.users = new Map();
    this.roles = new Map();
    this.be.forEach(Bucket.AuthUsers, (_k, v) => {
      const u = decodeUser(v);
      this.users.set(u.name, u);
    });
    this.be.forEach(Bucket.AuthRoles, (_k, v) => {
      const r = decodeRole(v);
      this.roles.set(r.name, r);
    });
    this.permCache.clear();
  }

  private commitRevision(): void {
    this.rev++;
    const b = Buffer.allocUnsafe(8);
    b.writeBigUInt64BE(BigInt(this.rev));
    this.be.put(Bucket.Auth, AUTH_REVISION_KEY, b);
  }

  private putUser(u: User): void {
    this.users.set(u.name, u);
    this.be.put(Bucket.AuthUsers, Buffer.from(u.name), encodeUser(u));
  }

  private putRole(r: Role): void {
    this.roles.set(r.name, r);
    this.be.put(Bucket.AuthRoles, Buffer.from(r.name), encodeRole(r));
  }

  /** Records a change: a new revision, and every cached permission set is stale. */
  private changed(): void {
    this.commitRevision();
    this.permCache.clear();
  }

  // ---- enable / disable ----

  authEnable(): void {
    if (this.enabled) {
      this.log('info', 'authentication is already enabled; ignored auth enable request');
      return;
    }
    const u = this.users.get(ROOT_USER);
    if (u === undefined) throw ErrRootUserNotExist;
    if (!hasRootRole(u)) throw ErrRootRoleNotExist;
    this.be.put(Bucket.Auth, AUTH_ENABLED_KEY, AUTH_ENABLED);
    this.enabled = true;
    this.tokenProvider.enable();
    this.permCache.clear();
    this.log('info', 'enabled authentication');
  }

  authDisable(): void {
    if (!this.enabled) return;
    this.be.put(Bucket.Auth, AUTH_ENABLED_KEY, AUTH_DISABLED);
    this.commitRevision();
    this.enabled = false;
    this.tokenProvider.disable();
    this.log('info', 'disabled authentication');
  }

  /** Stops the token provider's timers. */
  close(): void {
    if (this.enabled) this.tokenProvider.disable();
  }

  // ---- authentication ----

  /** Issues a token for a user whose password the API layer has already checked. */
  authenticate(username: string, params: AssignParams = {}): Promise<string> {
    if (!this.enabled) return Promise.reject(ErrAuthNotEnabled);
    const user = this.users.get(username);
    if (user === undefined) return Promise.reject(ErrAuthFailed);
    if (user.options !== null && user.options.noPassword) return Promise.reject(ErrAuthFailed);
    return this.tokenProvider.assign(username, this.rev, params);
  }

  /** Checks a password without blocking the event loop; resolves to the auth revision. */
  async checkPassword(username: string, password: string): Promise<number> {
    if (!this.enabled) throw ErrAuthNotEnabled;
    const user = this.users.get(username);
    if (user === undefined) throw ErrAuthFailed;
    if (user.options !== null && user.options.noPassword) throw ErrNoPasswordUser;
    const revision = this.rev;
    let ok = false;
    try {
      ok = await bcrypt.compare(password, user.password.toString('latin1'));
    } catch {
      ok = false;
    }
    if (!ok) {
      this.log('info', `invalid password user-name=${username}`);
      throw ErrAuthFailed;
    }
    return revision;
  }

  /** bcrypt hash of a password at the store's cost, base64 encoded as AuthUserAddRequest carries it. */
  async hashPassword(password: string): Promise<string> {
    const hash = await bcrypt.hash(password, this.bcryptCost);
    return Buffer.from(hash, 'latin1').toString('base64');
  }

  genTokenPrefix(): string {
    return this.tokenProvider.genTokenPrefix();
  }

  /**
   * The user behind a request's token; null when auth is disabled or no token was sent.
   * Throws ErrInvalidAuthToken for an unknown or expired token.
   */
  async authInfoFromToken(token: string | undefined | null): Promise<AuthInfo | null> {
    if (!this.enabled || token === undefined || token === null) return null;
    const info = await this.tokenProvider.info(token, this.rev);
    if (info === null) {
      this.log('warn', 'invalid auth token');
      throw ErrInvalidAuthToken;
    }
    return info;
  }

  /** The user named by a verified client certificate's common name. */
  authInfoFromCommonName(commonName: string): AuthInfo {
    return { username: commonName, revision: this.rev };
  }

  /** A token with root's rights for requests the server makes itself (e.g. lease revokes). */
  async rootToken(): Promise<string | null> {
    if (!this.enabled) return null;
    const params: AssignParams =
      this.tokenProvider.type === 'simple' ? { index: 0, simpleTokenPrefix: this.tokenProvider.genTokenPrefix() } : {};
    try {
      return await this.tokenProvider.assign(ROOT_USER, this.rev, params);
    } catch (err) {
      this.log('error', `failed to assign token for lease revoking: ${(err as Error).message}`);
      return null;
    }
  }

  // ---- users ----

  private selectPassword(password: string | undefined, hashedPassword: string | undefined): Buffer {
    if (password && !hashedPassword) {
      // Entries proposed by etcd < 3.5 carry the plain password.
      return Buffer.from(bcrypt.hashSync(password, this.bcryptCost), 'latin1');
    }
    const h = hashedPassword ?? '';
    if (!BASE64_STD.test(h)) throw ErrNoPasswordUser;
    return Buffer.from(h, 'base64');
  }

  userAdd(r: UserAddRequest): void {
    if (r.name.length === 0) throw ErrUserEmpty;
    if (this.users.has(r.name)) throw ErrUserAlreadyExist;
    const options = r.options ?? { noPassword: false };
    const password = options.noPassword ? Buffer.alloc(0) : this.selectPassword(r.password, r.hashedPassword);
    this.putUser({ name: r.name, password, roles: [], options: { noPassword: options.noPassword } });
    this.changed();
    this.log('info', `added a user user-name=${r.name}`);
  }

  userDelete(name: string): void {
    if (this.enabled && name === ROOT_USER) throw ErrInvalidAuthMgmt;
    if (!this.users.has(name)) throw ErrUserNotFound;
    this.users.delete(name);
    this.be.delete(Bucket.AuthUsers, Buffer.from(name));
    this.changed();
    this.tokenProvider.invalidateUser(name);
    this.log('info', `deleted a user user-name=${name}`);
  }

  userChangePassword(r: UserChangePasswordRequest): void {
    const user = this.users.get(r.name);
    if (user === undefined) throw ErrUserNotFound;
    const noPassword = user.options !== null && user.options.noPassword;
    const password = noPassword ? Buffer.alloc(0) : this.selectPassword(r.password, r.hashedPassword);
    this.putUser({ name: r.name, password, roles: user.roles, options: user.options });
    this.changed();
    this.tokenProvider.invalidateUser(r.name);
    this.log('info', `changed a password of a user user-name=${r.name}`);
  }

  userGrantRole(userName: string, role: string): void {
    const user = this.users.get(userName);
    if (user === undefined) throw ErrUserNotFound;
    if (role !== ROOT_ROLE && !this.roles.has(role)) throw ErrRoleNotFound;
    if (user.roles.includes(role)) {
      this.log('warn', `ignored grant role request to a user user-name=${userName} duplicate-role-name=${role}`);
      return;
    }
    const roles = [...user.roles, role].sort(cmpStrings);
    this.putUser({ ...user, roles });
    this.changed();
    this.log('info', `granted a role to a user user-name=${userName} added-role-name=${role}`);
  }

  /** The roles of a user. */
  userGet(name: string): string[] {
    const user = this.users.get(name);
    if (user === undefined) throw ErrUserNotFound;
    return [...user.roles];
  }

  /** All user names in byte order. */
  userList(): string[] {
    return [...this.users.keys()].sort(cmpStrings);
  }

  userRevokeRole(name: string, role: string): void {
    if (this.enabled && name === ROOT_USER && role === ROOT_ROLE) throw ErrInvalidAuthMgmt;
    const user = this.users.get(name);
    if (user === undefined) throw ErrUserNotFound;
    const roles = user.roles.filter((r) => r !== role);
    if (roles.length === user.roles.length) throw ErrRoleNotGranted;
    this.putUser({ ...user, roles });
    this.changed();
    this.log('info', `revoked a role from a user user-name=${name} revoked-role-name=${role}`);
  }

  hasRole(user: string, role: string): boolean {
    const u = this.users.get(user);
    if (u === undefined) {
      this.log('warn', `'has-role' requested for non-existing user user-name=${user} role-name=${role}`);
      return false;
    }
    return u.roles.includes(role);
  }

  // ---- roles ----

  roleAdd(name: string): void {
    if (name.length === 0) throw ErrRoleEmpty;
    if (this.roles.has(name)) throw ErrRoleAlreadyExist;
    this.putRole({ name, keyPermission: [] });
    this.commitRevision();
    this.log('info', `created a role role-name=${name}`);
  }

  /** The permissions of a role; the root role reports read-write on everything. */
  roleGet(name: string): Permission[] {
    const role = this.roles.get(name);
    if (role === undefined) throw ErrRoleNotFound;
    if (role.name === ROOT_ROLE) return [ROOT_PERMISSION];
    return [...role.keyPermission];
  }

  /** All role names in byte order. */
  roleList(): string[] {
    return [...this.roles.keys()].sort(cmpStrings);
  }

  roleGrantPermission(name: string, perm: Permission | null | undefined): void {
    if (perm == null) throw ErrPermissionNotGiven;
    if (!isValidPermissionRange(perm.key, perm.rangeEnd)) throw ErrInvalidAuthMgmt;
    const role = this.roles.get(name);
    if (role === undefined) throw ErrRoleNotFound;
    const perms = role.keyPermission.map((p) => ({ ...p }));
    // Binary search for the first permission with key >= perm.key, as etcd does.
    let lo = 0;
    let hi = perms.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (Buffer.compare(perms[mid].key, perm.key) < 0) lo = mid + 1;
      else hi = mid;
    }
    if (lo < perms.length && perms[lo].key.equals(perm.key) && perms[lo].rangeEnd.equals(perm.rangeEnd)) {
      perms[lo].permType = perm.permType;
    } else {
      perms.push({ permType: perm.permType, key: Buffer.from(perm.key), rangeEnd: Buffer.from(perm.rangeEnd) });
      perms.sort((a, b) => Buffer.compare(a.key, b.key));
    }
    this.putRole({ name: role.name, keyPermission: perms });
    this.changed();
    this.log('info', `granted/updated a permission to a user user-name=${name}`);
  }

  roleRevokePermission(name: string, key: Uint8Array, rangeEnd: Uint8Array): void {
    const role = this.roles.get(name);
    if (role === undefined) throw ErrRoleNotFound;
    const perms = role.keyPermission.filter(
      (p) => Buffer.compare(p.key, key) !== 0 || Buffer.compare(p.rangeEnd, rangeEnd) !== 0,
    );
    if (perms.length === role.keyPermission.length) throw ErrPermissionNotGranted;
    this.putRole({ name: role.name, keyPermission: perms });
    this.changed();
    this.log('info', `revoked a permission on range role-name=${name}`);
  }

  roleDelete(name: string): void {
    if (this.enabled && name === ROOT_ROLE) throw ErrInvalidAuthMgmt;
    if (!this.roles.has(name)) throw ErrRoleNotFound;
    this.roles.delete(name);
    this.be.delete(Bucket.AuthRoles, Buffer.from(name));
    for (const u of [...this.users.values()]) {
      if (!u.roles.includes(name)) continue;
      this.putUser({ ...u, roles: u.roles.filter((r) => r !== name) });
    }
    this.changed();
    this.log('info', `deleted a role role-name=${name}`);
  }

  // ---- permission checks ----

  private isOpPermitted(
    info: AuthInfo | null | undefined,
    key: Uint8Array,
    rangeEnd: Uint8Array | null | undefined,
    permType: typeof PermType.READ | typeof PermType.WRITE,
  ): AuthError | null {
    if (!this.enabled) return null;
    // Revision 0 only comes from a request without a user.
    if (info == null || info.revision === 0) return ErrUserEmpty;
    if (info.revision < this.rev) {
      this.log('warn', `request auth revision is less than current node auth revision current=${this.rev} request=${info.revision}`);
      return ErrAuthOldRevision;
    }
    const user = this.users.get(info.username);
    if (user === undefined) {
      this.log('error', `cannot find a user for permission check user-name=${info.username}`);
      return ErrPermissionDenied;
    }
    if (hasRootRole(user)) return null;
    let perms = this.permCache.get(user.name);
    if (perms === undefined) {
      const roles: Role[] = [];
      for (const r of user.roles) {
        const role = this.roles.get(r);
        if (role !== undefined) roles.push(role);
      }
      perms = mergePermissions(roles);
      this.permCache.set(user.name, perms);
    }
    return checkKeyRange(perms, key, rangeEnd, permType) ? null : ErrPermissionDenied;
  }

  isPutPermitted(info: AuthInfo | null | undefined, key: Uint8Array): AuthError | null {
    return this.isOpPermitted(info, key, null, PermType.WRITE);
  }

  isRangePermitted(info: AuthInfo | null | undefined, key: Uint8Array, rangeEnd?: Uint8Array | null): AuthError | null {
    return this.isOpPermitted(info, key, rangeEnd, PermType.READ);
  }

  isDeleteRangePermitted(
    info: AuthInfo | null | undefined,
    key: Uint8Array,
    rangeEnd?: Uint8Array | null,
  ): AuthError | null {
    return this.isOpPermitted(info, key, rangeEnd, PermType.WRITE);
  }

  /** Admin operations (auth management, member changes, defrag …) need the root role. */
  isAdminPermitted(info: AuthInfo | null | undefined): AuthError | null {
    if (!this.enabled) return null;
    if (info == null || info.username === '') return ErrUserEmpty;
    const u = this.users.get(info.username);
    if (u === undefined) return ErrUserNotFound;
    if (!hasRootRole(u)) return ErrPermissionDenied;
    return null;
  }
}

function hasRootRole(u: User): boolean {
  return u.roles.includes(ROOT_ROLE);
}

/** Byte order of the UTF-8 encodings, the order of the backend's buckets. */
function cmpStrings(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
