// JWT tokens (etcd's jwt.go and options.go) signed and verified with `jose`: claims
// {exp, revision, username}; options sign-method (required), pub-key / priv-key (PEM files),
// ttl (a Go duration, default 5m). With only a public key the provider verifies but cannot sign.

import fs from 'node:fs';
import { createPrivateKey, createPublicKey, createSecretKey, type KeyObject } from 'node:crypto';
import { SignJWT, jwtVerify } from 'jose';
import { parseGoDuration } from '../pkg/duration.js';
import { ErrInvalidAuthMethod, ErrInvalidAuthOpts, ErrKeyMismatch, ErrMissingKey, ErrVerifyOnly } from './errors.js';
import type { AssignParams, AuthInfo, TokenProvider } from './tokenProvider.js';

export const DEFAULT_JWT_TTL_MS = 5 * 60 * 1000;

type KeyFamily = 'rsa' | 'rsa-pss' | 'ec' | 'ed25519' | 'hmac';

const METHODS: Record<string, KeyFamily> = {
  RS256: 'rsa',
  RS384: 'rsa',
  RS512: 'rsa',
  PS256: 'rsa-pss',
  PS384: 'rsa-pss',
  PS512: 'rsa-pss',
  ES256: 'ec',
  ES384: 'ec',
  ES512: 'ec',
  EdDSA: 'ed25519',
  HS256: 'hmac',
  HS384: 'hmac',
  HS512: 'hmac',
};

const KNOWN_OPTIONS = new Set(['sign-method', 'pub-key', 'priv-key', 'ttl']);

export interface JwtOptions {
  signMethod: string;
  publicKey: Buffer | null;
  privateKey: Buffer | null;
  ttlMs: number;
}

/** Reads the jwt options as etcd's ParseWithDefaults does; an unknown method is ErrInvalidAuthMethod. */
export function parseJwtOptions(opts: Map<string, string>): JwtOptions {
  const ttl = opts.get('ttl') ?? '';
  const pub = opts.get('pub-key') ?? '';
  const priv = opts.get('priv-key') ?? '';
  const method = opts.get('sign-method') ?? '';
  const out: JwtOptions = {
    signMethod: method,
    publicKey: pub !== '' ? fs.readFileSync(pub) : null,
    privateKey: priv !== '' ? fs.readFileSync(priv) : null,
    ttlMs: ttl !== '' ? parseGoDuration(ttl) : DEFAULT_JWT_TTL_MS,
  };
  if (!Object.hasOwn(METHODS, method)) throw ErrInvalidAuthMethod;
  return out;
}

/** Names of options etcd does not know (it warns about them and goes on). */
export function unknownJwtOptions(opts: Map<string, string>): string[] {
  return [...opts.keys()].filter((k) => !KNOWN_OPTIONS.has(k));
}

interface JwtKeys {
  /** null when only a public key was given. */
  sign: KeyObject | null;
  verify: KeyObject;
}

const ASYMMETRIC_TYPE: Record<Exclude<KeyFamily, 'hmac'>, string[]> = {
  rsa: ['rsa'],
  'rsa-pss': ['rsa', 'rsa-pss'],
  ec: ['ec'],
  ed25519: ['ed25519'],
};

const KEY_NAME: Record<Exclude<KeyFamily, 'hmac'>, string> = {
  rsa: 'RSA',
  'rsa-pss': 'RSA',
  ec: 'ECDSA',
  ed25519: 'Ed25519',
};

/** The signing and verification keys for the options' method, checked as etcd checks them. */
export function jwtKeys(o: JwtOptions): JwtKeys {
  const family = METHODS[o.signMethod];
  if (family === 'hmac') {
    if (o.privateKey === null || o.privateKey.length === 0) throw ErrMissingKey;
    const k = createSecretKey(o.privateKey);
    return { sign: k, verify: k };
  }
  const types = ASYMMETRIC_TYPE[family];
  let priv: KeyObject | null = null;
  let pub: KeyObject | null = null;
  if (o.privateKey !== null && o.privateKey.length > 0) {
    priv = parseKey(() => createPrivateKey(o.privateKey!));
    if (!types.includes(priv.asymmetricKeyType ?? '')) {
      throw new Error(`key is not a valid ${KEY_NAME[family]} private key`);
    }
  }
  if (o.publicKey !== null && o.publicKey.length > 0) {
    pub = parseKey(() => createPublicKey(o.publicKey!));
    if (!types.includes(pub.asymmetricKeyType ?? '')) {
      throw new Error(`key is not a valid ${KEY_NAME[family]} public key`);
    }
  }
  if (priv === null) {
    if (pub === null) throw ErrMissingKey;
    return { sign: null, verify: pub };
  }
  const derived = createPublicKey(priv);
  if (pub !== null && !pub.equals(derived)) throw ErrKeyMismatch;
  return { sign: priv, verify: derived };
}

function parseKey(f: () => KeyObject): KeyObject {
  try {
    return f();
  } catch {
    throw new Error('invalid key: Key must be a PEM encoded PKCS1 or PKCS8 key');
  }
}

export interface JwtProviderOptions {
  now?: () => number;
  log?: (msg: string) => void;
}

export class JwtTokenProvider implements TokenProvider {
  readonly type = 'jwt';
  readonly signMethod: string;
  readonly ttlMs: number;
  readonly verifyOnly: boolean;
  private readonly keys: JwtKeys;
  private readonly now: () => number;
  private readonly log: (msg: string) => void;

  constructor(o: JwtOptions, opts: JwtProviderOptions = {}) {
    this.signMethod = o.signMethod;
    this.ttlMs = o.ttlMs;
    this.keys = jwtKeys(o);
    this.verifyOnly = this.keys.sign === null;
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? (() => {});
  }

  /** Builds a provider from the `jwt,...` option map; bad options are ErrInvalidAuthOpts. */
  static fromOptions(opts: Map<string, string>, popts: JwtProviderOptions = {}): JwtTokenProvider {
    let o: JwtOptions;
    try {
      o = parseJwtOptions(opts);
    } catch (err) {
      popts.log?.(`problem loading JWT options: ${(err as Error).message}`);
      throw ErrInvalidAuthOpts;
    }
    const unknown = unknownJwtOptions(opts);
    if (unknown.length > 0) popts.log?.(`unknown JWT options: ${unknown.join(',')}`);
    return new JwtTokenProvider(o, popts);
  }

  enable(): void {}
  disable(): void {}
  invalidateUser(): void {}
  genTokenPrefix(): string {
    return '';
  }

  async assign(username: string, revision: number, _params: AssignParams): Promise<string> {
    if (this.keys.sign === null) throw ErrVerifyOnly;
    // Claims in the order Go's encoding/json writes a map: sorted by name.
    const exp = Math.floor((this.now() + this.ttlMs) / 1000);
    return new SignJWT({ exp, revision, username })
      .setProtectedHeader({ alg: this.signMethod, typ: 'JWT' })
      .sign(this.keys.sign);
  }

  async info(token: string): Promise<AuthInfo | null> {
    try {
      const { payload } = await jwtVerify(token, this.keys.verify, {
        algorithms: [this.signMethod],
        currentDate: new Date(this.now()),
      });
      const username = payload['username'];
      const revision = payload['revision'];
      if (typeof username !== 'string') {
        this.log('failed to obtain user claims from jwt token');
        return null;
      }
      if (typeof revision !== 'number') {
        this.log('failed to obtain revision claims from jwt token');
        return null;
      }
      return { username, revision: Math.trunc(revision) };
    } catch (err) {
      this.log(`failed to parse a JWT token: ${(err as Error).message}`);
      return null;
    }
  }
}
