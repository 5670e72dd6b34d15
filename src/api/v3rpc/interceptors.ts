// etcd's v3rpc interceptors, applied around each handler at registration (etcd 3.4 semantics):
// - learner: a learner serves Status and serializable Range only; every other unary call and
//   every stream is refused with "rpc not supported for learner" (Unavailable, so clients move on).
// - require leader (clientv3.WithRequireLeader sends the metadata `hasleader: true`): such a call
//   fails with "etcdserver: no leader" while the member knows no leader, and such a stream is
//   cancelled with that error once the member has gone 3 election timeouts without one
//   (LeaderMonitor), so the client reconnects to a member that still has a leader. Existing
//   streams get more patience than new calls: reconnecting costs far more than a refusal.

import { ErrGRPCNoLeader, ErrGRPCNotSupportedForLearner, type GrpcError } from '../errors.js';
import type { CallHeaders, StreamCall, StreamHandler, UnaryCall } from '../grpc/server.js';
import type { EtcdServerApi } from '../types.js';

type Unary = (req: any, call: UnaryCall) => Promise<unknown>;

/** Consecutive leaderless checks (one per election timeout) before leader-bound streams go. */
export const MAX_NO_LEADER_COUNT = 3;
/** etcd's default election timeout (10 ticks of 100 ms), for servers that do not say theirs. */
const DEFAULT_ELECTION_MS = 1000;
const NO_LEADER = 0n;

function supportedForLearner(method: string, req: unknown): boolean {
  if (method === 'Status') return true;
  if (method === 'Range') return (req as { serializable?: boolean }).serializable === true;
  return false;
}

/** The call carries clientv3's require-leader metadata. */
export function requiresLeader(headers: CallHeaders): boolean {
  const v = headers['hasleader'];
  return (typeof v === 'string' ? v : v?.[0]) === 'true';
}

/** `h` behind the learner and require-leader checks; `h` itself when the server offers neither. */
export function interceptUnary(s: EtcdServerApi, method: string, h: Unary): Unary {
  const learner = s.isLearner !== undefined;
  const leader = s.leader !== undefined;
  if (!learner && !leader) return h;
  return (req, call) => {
    if (learner && s.isLearner!() && !supportedForLearner(method, req)) return Promise.reject(ErrGRPCNotSupportedForLearner);
    if (leader && s.leader === NO_LEADER && requiresLeader(call.headers)) return Promise.reject(ErrGRPCNoLeader);
    return h(req, call);
  };
}

/**
 * `h` behind the learner and require-leader checks; with a monitor, a stream that required a leader
 * is also cancelled when the member loses it. `h` itself when the server offers neither check.
 */
export function interceptStream<Req, Res>(
  s: EtcdServerApi,
  monitor: LeaderMonitor | undefined,
  h: StreamHandler<Req, Res>,
): StreamHandler<Req, Res> {
  const learner = s.isLearner !== undefined;
  const leader = s.leader !== undefined;
  if (!learner && !leader) return h;
  return (call: StreamCall<Req, Res>) => {
    if (learner && s.isLearner!()) return call.end(ErrGRPCNotSupportedForLearner);
    if (!leader || !requiresLeader(call.headers)) return h(call);
    if (s.leader === NO_LEADER) return call.end(ErrGRPCNoLeader);
    h(monitor !== undefined ? monitor.track(call) : call);
  };
}

/**
 * Watches the member's leader once per election timeout; after MAX_NO_LEADER_COUNT leaderless
 * checks in a row it cancels every stream that required a leader (etcd's monitorLeader). Their
 * handlers learn it through onCancel, as when the client goes away.
 */
export class LeaderMonitor {
  private readonly calls = new Set<LeaderBoundCall<any, any>>();
  private timer: NodeJS.Timeout | undefined;
  private noLeaderCount = 0;
  readonly periodMs: number;

  /** undefined when the server does not expose its leader (nothing to monitor). */
  static for(s: EtcdServerApi): LeaderMonitor | undefined {
    return s.leader === undefined ? undefined : new LeaderMonitor(s, s.electionTimeoutMs ?? DEFAULT_ELECTION_MS);
  }

  constructor(
    private readonly s: Pick<EtcdServerApi, 'leader'>,
    periodMs: number,
  ) {
    this.periodMs = Math.max(1, periodMs);
  }

  start(): void {
    if (this.timer !== undefined) return;
    this.timer = setInterval(() => this.check(), this.periodMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
    this.noLeaderCount = 0;
  }

  /** Streams currently bound to the leader. */
  get size(): number {
    return this.calls.size;
  }

  /** The call as its handler sees it: registered until it ends, cancelled if the leader stays lost. */
  track<Req, Res>(call: StreamCall<Req, Res>): StreamCall<Req, Res> {
    const c = new LeaderBoundCall(call, this.calls);
    this.calls.add(c);
    return c;
  }

  private check(): void {
    if (this.s.leader === NO_LEADER) this.noLeaderCount++;
    else this.noLeaderCount = 0;
    if (this.noLeaderCount < MAX_NO_LEADER_COUNT || this.calls.size === 0) return;
    const calls = [...this.calls];
    this.calls.clear();
    for (const c of calls) c.cancel(ErrGRPCNoLeader);
  }
}

/**
 * A stream call that leaves the monitor's set when it ends, whichever side ends it. Messages,
 * writes and flow control go straight to the underlying call.
 */
class LeaderBoundCall<Req, Res> implements StreamCall<Req, Res> {
  onCancel: () => void = () => {};
  readonly drained?: () => Promise<void>;
  readonly blocked?: () => boolean;

  constructor(
    private readonly inner: StreamCall<Req, Res>,
    private readonly set: Set<LeaderBoundCall<Req, Res>>,
  ) {
    inner.onCancel = () => {
      set.delete(this);
      this.onCancel();
    };
    if (inner.drained !== undefined) this.drained = () => inner.drained!();
    if (inner.blocked !== undefined) this.blocked = () => inner.blocked!();
  }

  get headers(): CallHeaders {
    return this.inner.headers;
  }

  get ctx(): StreamCall<Req, Res>['ctx'] {
    return this.inner.ctx;
  }

  get onMessage(): (req: Req) => void {
    return this.inner.onMessage;
  }

  set onMessage(f: (req: Req) => void) {
    this.inner.onMessage = f;
  }

  get onHalfClose(): () => void {
    return this.inner.onHalfClose;
  }

  set onHalfClose(f: () => void) {
    this.inner.onHalfClose = f;
  }

  get ended(): boolean {
    return this.inner.ended;
  }

  write(res: Res): boolean {
    return this.inner.write(res);
  }

  end(err?: GrpcError): void {
    this.set.delete(this);
    this.inner.end(err);
  }

  /** Ends the call from the server side; the handler cleans up through onCancel. */
  cancel(err: GrpcError): void {
    if (this.inner.ended) return;
    this.set.delete(this);
    this.inner.end(err);
    this.onCancel();
  }
}
