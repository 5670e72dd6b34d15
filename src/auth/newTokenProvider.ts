// Builds the token provider named by --auth-token, as etcd's NewTokenProvider: "simple",
// "jwt,<options>", or "" (no tokens at all).

import { ErrInvalidAuthOpts } from './errors.js';
import { JwtTokenProvider } from './jwtToken.js';
import { SimpleTokenProvider, type IndexWaiter } from './simpleToken.js';
import { NopTokenProvider, decomposeOpts, type TokenProvider } from './tokenProvider.js';

export interface TokenProviderConfig {
  indexWaiter: IndexWaiter;
  /** Simple token TTL (--auth-token-ttl, seconds in etcd); default 300 s. */
  simpleTokenTtlMs?: number;
  now?: () => number;
  log?: (msg: string) => void;
}

export function newTokenProvider(tokenOpts: string, cfg: TokenProviderConfig): TokenProvider {
  const { tokenType, opts } = decomposeOpts(tokenOpts);
  switch (tokenType) {
    case 'simple':
      cfg.log?.('simple token is not cryptographically signed');
      return new SimpleTokenProvider({ indexWaiter: cfg.indexWaiter, ttlMs: cfg.simpleTokenTtlMs, now: cfg.now });
    case 'jwt':
      return JwtTokenProvider.fromOptions(opts, { now: cfg.now, log: cfg.log });
    case '':
      return new NopTokenProvider();
    default:
      cfg.log?.(`unknown token type: ${tokenType}`);
      throw ErrInvalidAuthOpts;
  }
}
