// Tests of JWT tokens with keys written to PEM files: RS256/ES256/EdDSA/HS256 round trips, expiry,
// verify-only providers, key mismatch, missing keys and the claim layout etcd uses.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { JwtTokenProvider } from '../../src/auth/jwtToken.js';
import { ErrInvalidAuthOpts, ErrKeyMismatch, ErrMissingKey, ErrVerifyOnly } from '../../src/auth/errors.js';
import { newTokenProvider } from '../../src/auth/newTokenProvider.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsetcd-jwt-'));
test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, data: string | Buffer): string {
  const p = path.join(dir, name);
  fs.writeFileSync(p, data);
  return p;
}

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const rsaPriv = write('rsa.key', rsa.privateKey.export({ type: 'pkcs1', format: 'pem' }));
const rsaPub = write('rsa.pub', rsa.publicKey.export({ type: 'spki', format: 'pem' }));
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ecPriv = write('ec.key', ec.privateKey.export({ type: 'sec1', format: 'pem' }));
const ecPub = write('ec.pub', ec.publicKey.export({ type: 'spki', format: 'pem' }));
const ed = generateKeyPairSync('ed25519');
const edPriv = write('ed.key', ed.privateKey.export({ type: 'pkcs8', format: 'pem' }));
const other = generateKeyPairSync('rsa', { modulusLength: 2048 });
const otherPub = write('other.pub', other.publicKey.export({ type: 'spki', format: 'pem' }));
const hmac = write('hmac.key', 'a shared secret of enough length');

const opts = (o: Record<string, string>) => new Map(Object.entries(o));
const clock = { t: 1_700_000_000_000 };
const provider = (o: Record<string, string>) => JwtTokenProvider.fromOptions(opts(o), { now: () => clock.t });

test('RS256 tokens carry exp, revision and username (sorted, as Go writes them) and verify', async () => {
  const tp = provider({ 'sign-method': 'RS256', 'priv-key': rsaPriv, 'pub-key': rsaPub, ttl: '10m' });
  assert.equal(tp.ttlMs, 600_000);
  const token = await tp.assign('alice', 7, {});
  const [h, p] = token.split('.');
  assert.equal(Buffer.from(h, 'base64url').toString(), '{"alg":"RS256","typ":"JWT"}');
  assert.equal(
    Buffer.from(p, 'base64url').toString(),
    `{"exp":${Math.floor((clock.t + 600_000) / 1000)},"revision":7,"username":"alice"}`,
  );
  assert.deepEqual(await tp.info(token), { username: 'alice', revision: 7 });
  // tampered
  assert.equal(await tp.info(token.slice(0, -2) + (token.endsWith('A') ? 'BB' : 'AA')), null);
  assert.equal(await tp.info('not.a.jwt'), null);
});

test('tokens expire after the ttl (default 5m)', async () => {
  const tp = provider({ 'sign-method': 'ES256', 'priv-key': ecPriv });
  assert.equal(tp.ttlMs, 300_000);
  const token = await tp.assign('bob', 3, {});
  assert.deepEqual(await tp.info(token), { username: 'bob', revision: 3 });
  const saved = clock.t;
  clock.t += 301_000;
  assert.equal(await tp.info(token), null);
  clock.t = saved;
});

test('EdDSA and HS256 round trip; tokens of another method are rejected', async () => {
  const edTp = provider({ 'sign-method': 'EdDSA', 'priv-key': edPriv });
  const t = await edTp.assign('carol', 1, {});
  assert.deepEqual(await edTp.info(t), { username: 'carol', revision: 1 });
  const hs = provider({ 'sign-method': 'HS256', 'priv-key': hmac });
  const th = await hs.assign('dave', 2, {});
  assert.deepEqual(await hs.info(th), { username: 'dave', revision: 2 });
  assert.equal(await hs.info(t), null);
  const hs512 = provider({ 'sign-method': 'HS512', 'priv-key': hmac });
  assert.equal(await hs512.info(th), null, 'alg must match the configured method');
});

test('a public key alone verifies but cannot sign', async () => {
  const signer = provider({ 'sign-method': 'RS256', 'priv-key': rsaPriv });
  const verifier = provider({ 'sign-method': 'RS256', 'pub-key': rsaPub });
  assert.equal(verifier.verifyOnly, true);
  const token = await signer.assign('erin', 5, {});
  assert.deepEqual(await verifier.info(token), { username: 'erin', revision: 5 });
  await assert.rejects(verifier.assign('erin', 5, {}), (e) => e === ErrVerifyOnly);
  const ecVerifier = provider({ 'sign-method': 'ES256', 'pub-key': ecPub });
  assert.equal(ecVerifier.verifyOnly, true);
});

test('key errors: missing, mismatched, wrong type', () => {
  assert.throws(() => provider({ 'sign-method': 'RS256' }), (e) => e === ErrMissingKey);
  assert.throws(() => provider({ 'sign-method': 'HS256' }), (e) => e === ErrMissingKey);
  assert.throws(
    () => provider({ 'sign-method': 'RS256', 'priv-key': rsaPriv, 'pub-key': otherPub }),
    (e) => e === ErrKeyMismatch,
  );
  assert.throws(() => provider({ 'sign-method': 'RS256', 'priv-key': ecPriv }), /not a valid RSA private key/);
  assert.throws(() => provider({ 'sign-method': 'ES256', 'priv-key': hmac }), /PEM encoded/);
  assert.throws(() => provider({ 'sign-method': 'nope', 'priv-key': rsaPriv }), (e) => e === ErrInvalidAuthOpts);
  assert.throws(() => provider({ 'sign-method': 'RS256', 'priv-key': path.join(dir, 'missing') }), (e) => e === ErrInvalidAuthOpts);
});

test('--auth-token jwt,... builds a JWT provider', async () => {
  const tp = newTokenProvider(`jwt,pub-key=${rsaPub},priv-key=${rsaPriv},sign-method=RS256,ttl=10m`, {
    indexWaiter: () => undefined,
  });
  assert.equal(tp.type, 'jwt');
  const token = await tp.assign('root', 1, {});
  assert.deepEqual(await tp.info(token, 99), { username: 'root', revision: 1 });
});
