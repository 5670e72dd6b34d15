// Simple tokens (etcd's simple_token.go): "<16 random letters>.<raft index>" mapped to a user in
// memory on every member. A token lives for its TTL (default 300 s) after its last use; a sweep
// every second forgets expired ones. A token is only valid once this member has applied the
// Authenticate entry of its index (the index waiter), since that is where it was assigned.

import { randomInt } from 'node:crypto';
import type { AssignParams, AuthInfo, TokenProvider } from './tokenProvider.js';

const LETTERS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';
const TOKEN_PREFIX_LENGTH = 16;
export const DEFAULT_SIMPLE_TOKEN_TTL_MS = 300_000;
const SWEEP_INTERVAL_MS = 1000;

/** Resolves once the raft index is applied locally; undefined when it already is. */
export type IndexWaiter = (index: number) => Promise<void> | undefined;

export interface SimpleTokenOptions {
  indexWaiter: IndexWaiter;
  /** Token TTL after last use (etcd --auth-token-ttl); default 300 s. */
  ttlMs?: number;
  now?: () => number;
}

interface TokenEntry {
  username: string;
  expiry: number;
}

export class SimpleTokenProvider implements TokenProvider {
  readonly type = 'simple';
  private readonly indexWaiter: IndexWaiter;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private tokens = new Map<string, TokenEntry>();
  private enabled = false;
  private timer: NodeJS.Timeout | null = null;

  constructor(opts: SimpleTokenOptions) {
    this.indexWaiter = opts.indexWaiter;
    this.ttlMs = opts.ttlMs !== undefined && opts.ttlMs > 0 ? opts.ttlMs : DEFAULT_SIMPLE_TOKEN_TTL_MS;
    this.now = opts.now ?? Date.now;
  }

  get size(): number {
    return this.tokens.size;
  }

  genTokenPrefix(): string {
    let s = '';
    for (let i = 0; i < TOKEN_PREFIX_LENGTH; i++) s += LETTERS[randomInt(LETTERS.length)];
    return s;
  }

  enable(): void {
    if (this.enabled) return;
    this.enabled = true;
    this.timer = setInterval(() => this.sweep(), SWEEP_INTERVAL_MS);
    this.timer.unref();
  }

  /** Forgets every token and stops the sweep. */
  disable(): void {
    this.enabled = false;
    this.tokens = new Map();
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Deletes expired tokens (runs every second while enabled). */
  sweep(): void {
    const now = this.now();
    for (const [t, e] of this.tokens) if (now > e.expiry) this.tokens.delete(t);
  }

  invalidateUser(username: string): void {
    for (const [t, e] of this.tokens) if (e.username === username) this.tokens.delete(t);
  }

  assign(username: string, _revision: number, params: AssignParams): Promise<string> {
    if (params.index === undefined || params.simpleTokenPrefix === undefined) {
      return Promise.reject(new Error('failed to assign'));
    }
    const token = `${params.simpleTokenPrefix}.${params.index}`;
    if (this.enabled) {
      // Each Authenticate entry has its own index, so a collision is a bug (etcd panics).
      if (this.tokens.has(token)) return Promise.reject(new Error('failed to assign already-used simple token to a user'));
      this.tokens.set(token, { username, expiry: this.now() + this.ttlMs });
    }
    return Promise.resolve(token);
  }

  async info(token: string, revision: number): Promise<AuthInfo | null> {
    const dot = token.indexOf('.');
    if (dot < 0 || token.indexOf('.', dot + 1) >= 0) return null;
    const idx = token.slice(dot + 1);
    if (!/^\d+$/.test(idx)) return null;
    const index = Number(idx);
    if (!Number.isSafeInteger(index)) return null;
    const wait = this.indexWaiter(index);
    if (wait !== undefined) await wait;
    const e = this.tokens.get(token);
    if (e === undefined) return null;
    const now = this.now();
    if (now > e.expiry) {
      this.tokens.delete(token);
      return null;
    }
    e.expiry = now + this.ttlMs; // renewed on use
    return { username: e.username, revision };
  }
}
