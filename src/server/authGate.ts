// The request side of auth (etcd's v3_server.go auth parts): a call's token becomes an AuthInfo
// (proposals carry it as the RequestHeader, checked when applied — see applyAuth.ts), reads served
// locally are checked before they run (doSerialize), lease and admin calls are checked here, the
// Auth service's requests are prepared (passwords hashed, tokens named) and proposed, and watch
// creates are checked against the watched range.
//
// With auth disabled every check is a synchronous no-op, so the hot paths pay one boolean test.
import {
  ErrAuthNotEnabled,
  ErrAuthOldRevision,
  ErrUserEmpty,
  type AuthInfo,
  type AuthStore,
  type Permission,
} from '../auth/index.js';
import type { Lessor } from '../lease/index.js';
import type { AuthRaftRequest, RequestHeader } from './etcdserverpb/authRequests.js';
import type { InternalRaftRequest } from './etcdserverpb/raftInternal.js';
import type { ResponseHeader } from './etcdserverpb/rpc.js';
import type { ServerLogger } from './config.js';
import type { ServerWatchStream, WatchParams } from './watchStream.js';
import type { WatchResponse } from '../storage/mvcc/watcher.js';

/** Per-call credentials (the API layer's RequestContext). */
export interface AuthContext {
  readonly token: string | undefined;
  /** The verified client certificate's common name (gRPC over TLS with client-cert-auth). */
  readonly certCN?: string | undefined;
}

/** Requests the server makes itself (revoking expired leases) act as root, as etcd's WithRoot. */
export const ROOT_CONTEXT: AuthContext = Object.freeze({ token: undefined });

const NO_USER: AuthInfo = Object.freeze({ username: '', revision: 0 });
const OPEN_END = Buffer.from([0]);

/** What the gate needs of the server. */
export interface AuthGateServer {
  propose(body: Omit<InternalRaftRequest, 'idPrefix' | 'id'>, ctx?: AuthContext): Promise<unknown>;
  linearizableReadNotify(): Promise<void>;
  readonly lessor: Lessor;
}

/** Every Auth response: a header plus the fields of the request's kind. */
export interface AuthResponse {
  header?: ResponseHeader;
  enabled?: boolean;
  authRevision?: number;
  token?: string;
  roles?: string[];
  users?: string[];
  perm?: Permission[];
}

export class AuthGate {
  constructor(
    readonly store: AuthStore,
    private readonly srv: AuthGateServer,
    private readonly lg: ServerLogger,
  ) {}

  /**
   * The caller's identity: from the token, else from the client certificate's common name (etcd's
   * AuthInfoFromTLS); null without either or with auth disabled; rejects on a bad token.
   */
  authInfo(ctx: AuthContext | undefined): Promise<AuthInfo | null> | null {
    if (ctx === undefined || !this.store.isAuthEnabled()) return null;
    if (ctx.token !== undefined) return this.store.authInfoFromToken(ctx.token);
    if (ctx.certCN !== undefined) return Promise.resolve(this.store.authInfoFromCommonName(ctx.certCN));
    return null;
  }

  /**
   * Sets the proposal's RequestHeader from the caller's token (not for Authenticate); undefined
   * when there is nothing to wait for (no token, auth disabled), so writes need no extra await.
   */
  stamp(body: { header?: RequestHeader; auth?: AuthRaftRequest }, ctx: AuthContext | undefined): Promise<void> | undefined {
    if (ctx === ROOT_CONTEXT) {
      if (this.store.isAuthEnabled()) body.header = { username: 'root', authRevision: this.store.revision };
      return undefined;
    }
    if (body.auth?.op === 'authenticate') return undefined;
    const p = this.authInfo(ctx);
    if (p === null) return undefined;
    return p.then((ai) => {
      if (ai !== null) body.header = { username: ai.username, authRevision: ai.revision };
    });
  }

  /** etcd's doSerialize: checks a locally served read before running it. */
  async serialize<T>(ctx: AuthContext | undefined, chk: (ai: AuthInfo) => Error | null, get: () => T): Promise<T> {
    if (!this.store.isAuthEnabled()) return get();
    const p = this.authInfo(ctx);
    const ai = (p === null ? null : await p) ?? NO_USER;
    const err = chk(ai);
    if (err !== null) throw err;
    return get();
  }

  /** etcd's requireAuthInfo: with auth enabled, a call must carry a valid token. */
  async requireAuthInfo(ctx: AuthContext | undefined): Promise<AuthInfo | null> {
    if (!this.store.isAuthEnabled()) return null;
    const p = this.authInfo(ctx);
    const ai = p === null ? null : await p;
    if (ai === null) throw ErrUserEmpty;
    return ai;
  }

  /** Admin calls (maintenance, membership): the root role when auth is enabled. */
  async checkAdmin(ctx: AuthContext | undefined): Promise<void> {
    if (!this.store.isAuthEnabled()) return;
    const p = this.authInfo(ctx);
    const err = this.store.isAdminPermitted(p === null ? null : await p);
    if (err !== null) throw err;
  }

  /**
   * etcd's checkLeaseRenew / checkLeaseTimeToLive / checkLeaseLeases: non-root users need a
   * permission on every key attached to the leases (write to renew, read to list keys).
   */
  async checkLeaseKeys(ctx: AuthContext | undefined, ids: bigint[] | null, write: boolean): Promise<void> {
    const as = this.store;
    if (!as.isAuthEnabled()) return;
    const rev = as.revision;
    const ai = await this.requireAuthInfo(ctx);
    if (as.isAdminPermitted(ai) === null) return;
    const leases = ids === null ? this.srv.lessor.leases() : ids.map((id) => this.srv.lessor.lookup(id));
    for (const l of leases) {
      if (l === undefined) continue;
      for (const k of l.keys()) {
        const err = write ? as.isPutPermitted(ai, k) : as.isRangePermitted(ai, k, null);
        if (err !== null) throw err;
      }
    }
    if (rev !== as.revision) throw ErrAuthOldRevision;
  }

  /** A watch stream whose creates are checked against the watched range. */
  guardWatch(ws: ServerWatchStream, ctx: AuthContext | undefined): AuthWatchStream {
    return new AuthWatchStream(ws, this, ctx);
  }

  // ---- the Auth service -------------------------------------------------------------------------

  private async run(auth: AuthRaftRequest, ctx: AuthContext | undefined): Promise<AuthResponse> {
    return (await this.srv.propose({ auth }, ctx)) as AuthResponse;
  }

  authEnable(ctx?: AuthContext): Promise<AuthResponse> {
    return this.run({ op: 'authEnable' }, ctx);
  }

  authDisable(ctx?: AuthContext): Promise<AuthResponse> {
    return this.run({ op: 'authDisable' }, ctx);
  }

  authStatus(ctx?: AuthContext): Promise<AuthResponse> {
    return this.run({ op: 'authStatus' }, ctx);
  }

  /**
   * Checks the password here (bcrypt off the apply path), then proposes the token's issue; retried
   * when the auth store changed in between, as etcd does.
   */
  async authenticate(r: { name: string; password: string }, ctx?: AuthContext): Promise<AuthResponse> {
    await this.srv.linearizableReadNotify();
    for (;;) {
      let checked: number;
      try {
        checked = await this.store.checkPassword(r.name, r.password);
      } catch (err) {
        if (err !== ErrAuthNotEnabled) {
          this.lg.warn({ user: r.name, error: (err as Error).message }, 'invalid authentication was requested');
        }
        throw err;
      }
      const simpleToken = this.store.genTokenPrefix();
      const resp = await this.run({ op: 'authenticate', name: r.name, password: '', simpleToken }, ctx);
      if (checked === this.store.revision) return resp;
      this.lg.info({}, 'revision when password checked became stale; retrying');
    }
  }

  async userAdd(r: { name: string; password: string; options?: { noPassword: boolean } | null }, ctx?: AuthContext): Promise<AuthResponse> {
    const noPassword = r.options?.noPassword === true;
    const hashedPassword = noPassword ? '' : await this.store.hashPassword(r.password);
    return this.run({ op: 'userAdd', name: r.name, password: '', hashedPassword, noPassword }, ctx);
  }

  userDelete(r: { name: string }, ctx?: AuthContext): Promise<AuthResponse> {
    return this.run({ op: 'userDelete', name: r.name }, ctx);
  }

  userGet(r: { name: string }, ctx?: AuthContext): Promise<AuthResponse> {
    return this.run({ op: 'userGet', name: r.name }, ctx);
  }

  userList(ctx?: AuthContext): Promise<AuthResponse> {
    return this.run({ op: 'userList' }, ctx);
  }

  async userChangePassword(r: { name: string; password: string }, ctx?: AuthContext): Promise<AuthResponse> {
    const hashedPassword = r.password !== '' ? await this.store.hashPassword(r.password) : '';
    return this.run({ op: 'userChangePassword', name: r.name, password: '', hashedPassword }, ctx);
  }

  userGrantRole(r: { user: string; role: string }, ctx?: AuthContext): Promise<AuthResponse> {
    return this.run({ op: 'userGrantRole', user: r.user, role: r.role }, ctx);
  }

  userRevokeRole(r: { name: string; role: string }, ctx?: AuthContext): Promise<AuthResponse> {
    return this.run({ op: 'userRevokeRole', name: r.name, role: r.role }, ctx);
  }

  roleAdd(r: { name: string }, ctx?: AuthContext): Promise<AuthResponse> {
    return this.run({ op: 'roleAdd', name: r.name }, ctx);
  }

  roleGet(r: { role: string }, ctx?: AuthContext): Promise<AuthResponse> {
    return this.run({ op: 'roleGet', role: r.role }, ctx);
  }

  roleList(ctx?: AuthContext): Promise<AuthResponse> {
    return this.run({ op: 'roleList' }, ctx);
  }

  roleDelete(r: { role: string }, ctx?: AuthContext): Promise<AuthResponse> {
    return this.run({ op: 'roleDelete', role: r.role }, ctx);
  }

  roleGrantPermission(r: { name: string; perm?: Permission | null }, ctx?: AuthContext): Promise<AuthResponse> {
    const p = r.perm ?? null;
    // Copies: the request's buffers view the gRPC frame.
    const perm = p === null ? null : { permType: p.permType, key: Buffer.from(p.key), rangeEnd: Buffer.from(p.rangeEnd) };
    return this.run({ op: 'roleGrantPermission', name: r.name, perm }, ctx);
  }

  roleRevokePermission(r: { role: string; key: Buffer; rangeEnd: Buffer }, ctx?: AuthContext): Promise<AuthResponse> {
    return this.run(
      { op: 'roleRevokePermission', role: r.role, key: Buffer.from(r.key), rangeEnd: Buffer.from(r.rangeEnd) },
      ctx,
    );
  }
}

const INVALID: AuthInfo = Object.freeze({ username: '', revision: -1 });

/** etcd sends the whole gRPC status text of ErrGRPCPermissionDenied as the cancel reason. */
export const ErrWatchPermissionDenied = new Error('rpc error: code = PermissionDenied desc = etcdserver: permission denied');

/**
 * A watch stream with etcd's isWatchPermitted: a create needs read permission on the watched
 * range. The caller's token is resolved before requests are handled (ready()), again whenever the
 * auth store changed; a bad token refuses every create.
 */
export class AuthWatchStream {
  private info: AuthInfo | null = null;
  private resolvedRev = -1;
  private resolving: Promise<void> | null = null;

  constructor(
    private readonly ws: ServerWatchStream,
    private readonly gate: AuthGate,
    private readonly ctx: AuthContext | undefined,
  ) {}

  /** undefined when requests can be handled now; otherwise wait for the promise first. */
  ready(): Promise<void> | undefined {
    const as = this.gate.store;
    if (!as.isAuthEnabled() || this.resolvedRev === as.revision) return undefined;
    return (this.resolving ??= this.resolve());
  }

  private async resolve(): Promise<void> {
    const rev = this.gate.store.revision;
    try {
      const p = this.gate.authInfo(this.ctx);
      this.info = p === null ? null : await p;
    } catch {
      this.info = INVALID;
    }
    this.resolvedRev = rev;
    this.resolving = null;
  }

  watch(p: WatchParams): number {
    const as = this.gate.store;
    if (as.isAuthEnabled()) {
      // A watch on every key >= key (empty range end) needs the open-ended range.
      const end = p.rangeEnd === null ? null : p.rangeEnd.length === 0 ? OPEN_END : p.rangeEnd;
      const ai = this.info ?? NO_USER;
      if (ai === INVALID || as.isRangePermitted(ai, p.key, end) !== null) throw ErrWatchPermissionDenied;
    }
    return this.ws.watch(p);
  }

  cancel(id: number): void {
    this.ws.cancel(id);
  }

  requestProgress(id: number): void {
    this.ws.requestProgress(id);
  }

  requestProgressAll(): void {
    this.ws.requestProgressAll();
  }

  rev(): number {
    return this.ws.rev();
  }

  onResponse(cb: (r: WatchResponse) => void): void {
    this.ws.onResponse(cb);
  }

  pause(): void {
    this.ws.pause();
  }

  resume(): void {
    this.ws.resume();
  }

  close(): void {
    this.ws.close();
  }
}
