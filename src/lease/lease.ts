// One lease: its ID, granted TTL, last checkpointed remaining TTL, expiry on the lessor's clock
// and the keys attached to it (etcd's server/lease/lease.go). Keys are indexed by their bytes as a
// latin1 string, whose UTF-16 order is the byte order etcd sorts them in.

/** The absence of a lease (etcd's NoLease). */
export const NO_LEASE = 0n;

/** Expiry of a lease on a non-primary lessor: it never expires there. */
export const FOREVER = Number.POSITIVE_INFINITY;

function keyBytes(skey: string): Buffer {
  return Buffer.from(skey, 'latin1');
}

export class Lease {
  readonly id: bigint;
  /** Granted time to live in seconds. */
  ttl: number;
  /** Remaining TTL in seconds from the last checkpoint; 0 means unset (use the full TTL). */
  remainingTtl: number;
  /** Expiry in milliseconds of the clock; FOREVER when not managed by a primary. */
  expiry = FOREVER;
  /** Attached keys as latin1 strings (bytes are made when asked for: revokes, TimeToLive). */
  readonly items = new Set<string>();

  private readonly now: () => number;
  private revokedFlag = false;
  private revokeWaiters: (() => void)[] | null = null;

  constructor(id: bigint, ttl: number, remainingTtl: number, now: () => number) {
    this.id = id;
    this.ttl = ttl;
    this.remainingTtl = remainingTtl;
    this.now = now;
  }

  /** The TTL to count down from: the checkpointed remainder when set, else the full TTL. */
  getRemainingTtl(): number {
    return this.remainingTtl > 0 ? this.remainingTtl : this.ttl;
  }

  /** Sets the expiry to now + extend + the remaining TTL. */
  refresh(extendMs: number): void {
    this.expiry = this.now() + extendMs + this.getRemainingTtl() * 1000;
  }

  forever(): void {
    this.expiry = FOREVER;
  }

  /** True when the expiry was reset to forever (the lessor is not primary). */
  demoted(): boolean {
    return this.expiry === FOREVER;
  }

  /** Milliseconds until expiry (negative once past it); Infinity when it never expires. */
  remaining(): number {
    return this.expiry === FOREVER ? FOREVER : this.expiry - this.now();
  }

  expired(): boolean {
    return this.remaining() <= 0;
  }

  /** The remaining time as etcd's LeaseTimeToLive reports it: whole seconds, truncated. */
  remainingSeconds(): number {
    const ms = this.remaining();
    // Go's int64(time.Duration(math.MaxInt64).Seconds()) for a lease that never expires here.
    if (ms === FOREVER) return 9223372036;
    return Math.trunc(ms / 1000);
  }

  /** Attached keys in unspecified order. */
  keys(): Uint8Array[] {
    return Array.from(this.items, keyBytes);
  }

  /** Attached keys in byte order (deletes happen in the same order on every member). */
  sortedKeys(): Uint8Array[] {
    return [...this.items].sort().map(keyBytes);
  }

  get revoked(): boolean {
    return this.revokedFlag;
  }

  /** Resolves once the lease has been revoked. */
  waitRevoked(): Promise<void> {
    if (this.revokedFlag) return Promise.resolve();
    return new Promise((resolve) => (this.revokeWaiters ??= []).push(resolve));
  }

  /** Marks the lease revoked and wakes its waiters (called by the lessor). */
  markRevoked(): void {
    this.revokedFlag = true;
    const w = this.revokeWaiters;
    this.revokeWaiters = null;
    if (w !== null) for (const f of w) f();
  }
}
