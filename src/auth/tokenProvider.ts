// What the auth store needs of a token provider (etcd's TokenProvider), the no-op provider used
// when --auth-token is empty, and the parsing of the --auth-token option string
// ("simple" or "jwt,pub-key=...,priv-key=...,sign-method=RS256,ttl=10m").

import { ErrAuthFailed, ErrInvalidAuthOpts } from './errors.js';

export interface AuthInfo {
  username: string;
  /** The auth revision the token was issued at (JWT) or the current one (simple tokens). */
  revision: number;
}

/** Values the Authenticate request carries through raft, needed by simple tokens. */
export interface AssignParams {
  /** Raft index of the Authenticate entry. */
  index?: number;
  /** Random prefix generated before proposing (genTokenPrefix). */
  simpleTokenPrefix?: string;
}

export interface TokenProvider {
  readonly type: 'simple' | 'jwt' | 'nop';
  /** The user a token belongs to, or null when the token is not valid. */
  info(token: string, revision: number): Promise<AuthInfo | null>;
  /** Issues a token for a user. */
  assign(username: string, revision: number, params: AssignParams): Promise<string>;
  enable(): void;
  disable(): void;
  invalidateUser(username: string): void;
  /** A random prefix for a simple token; empty for other providers. */
  genTokenPrefix(): string;
}

export class NopTokenProvider implements TokenProvider {
  readonly type = 'nop';
  info(): Promise<AuthInfo | null> {
    return Promise.resolve(null);
  }
  assign(): Promise<string> {
    return Promise.reject(ErrAuthFailed);
  }
  enable(): void {}
  disable(): void {}
  invalidateUser(): void {}
  genTokenPrefix(): string {
    return '';
  }
}

/** Splits "type,k1=v1,k2=v2" as etcd's decomposeOpts; malformed or repeated options are rejected. */
export function decomposeOpts(optstr: string): { tokenType: string; opts: Map<string, string> } {
  const parts = optstr.split(',');
  const opts = new Map<string, string>();
  for (let i = 1; i < parts.length; i++) {
    const pair = parts[i].split('=');
    if (pair.length !== 2) throw ErrInvalidAuthOpts;
    if (opts.has(pair[0])) throw ErrInvalidAuthOpts;
    opts.set(pair[0], pair[1]);
  }
  return { tokenType: parts[0], opts };
}
