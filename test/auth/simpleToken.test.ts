// Tests of simple tokens: format, index waiting, TTL renewed on use, sweep, invalidation.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimpleTokenProvider } from '../../src/auth/simpleToken.js';
import { decomposeOpts, NopTokenProvider } from '../../src/auth/tokenProvider.js';
import { newTokenProvider } from '../../src/auth/newTokenProvider.js';
import { ErrAuthFailed, ErrInvalidAuthOpts } from '../../src/auth/errors.js';

function setup(applied = 100) {
  const clock = { t: 0 };
  const state = { applied };
  const waiters: { index: number; resolve: () => void }[] = [];
  const tp = new SimpleTokenProvider({
    ttlMs: 300_000,
    now: () => clock.t,
    indexWaiter: (index) =>
      index <= state.applied ? undefined : new Promise<void>((resolve) => waiters.push({ index, resolve })),
  });
  const apply = (i: number) => {
    state.applied = i;
    for (const w of waiters.splice(0)) if (w.index <= i) w.resolve();
  };
  return { tp, clock, apply };
}

test('prefixes are 16 letters and tokens are prefix.index', async () => {
  const { tp } = setup();
  const prefix = tp.genTokenPrefix();
  assert.match(prefix, /^[a-zA-Z]{16}$/);
  assert.notEqual(prefix, tp.genTokenPrefix());
  tp.enable();
  const token = await tp.assign('alice', 1, { index: 42, simpleTokenPrefix: prefix });
  assert.equal(token, `${prefix}.42`);
  assert.deepEqual(await tp.info(token, 7), { username: 'alice', revision: 7 });
  await assert.rejects(tp.assign('alice', 1, { index: 42, simpleTokenPrefix: prefix }), /already-used/);
  await assert.rejects(tp.assign('alice', 1, {}), /failed to assign/);
  tp.disable();
});

test('malformed tokens are invalid', async () => {
  const { tp } = setup();
  tp.enable();
  for (const t of ['abc', 'a.b.1', 'abc.x1', 'abc.-1', 'abc.', '']) assert.equal(await tp.info(t, 1), null, t);
  assert.equal(await tp.info('unknownprefixxxx.5', 1), null);
  tp.disable();
});

test('a token is only valid once its index is applied locally', async () => {
  const { tp, apply } = setup(10);
  tp.enable();
  const token = await tp.assign('bob', 1, { index: 20, simpleTokenPrefix: 'p' });
  let result: unknown = 'pending';
  const p = tp.info(token, 1).then((r) => (result = r));
  await new Promise((r) => setImmediate(r));
  assert.equal(result, 'pending');
  apply(20);
  await p;
  assert.deepEqual(result, { username: 'bob', revision: 1 });
  tp.disable();
});

test('tokens expire after the TTL unless used; use renews them; sweep deletes', async () => {
  const { tp, clock } = setup();
  tp.enable();
  const t1 = await tp.assign('a', 1, { index: 1, simpleTokenPrefix: 'x' });
  const t2 = await tp.assign('a', 1, { index: 2, simpleTokenPrefix: 'x' });
  clock.t += 200_000;
  assert.ok(await tp.info(t1, 1)); // renewed to 500 000
  clock.t += 200_000;
  tp.sweep();
  assert.equal(tp.size, 1);
  assert.equal(await tp.info(t2, 1), null);
  assert.ok(await tp.info(t1, 1));
  clock.t += 300_001;
  assert.equal(await tp.info(t1, 1), null);
  tp.disable();
});

test('invalidateUser and disable forget tokens; a disabled provider stores nothing', async () => {
  const { tp } = setup();
  tp.enable();
  const ta = await tp.assign('a', 1, { index: 1, simpleTokenPrefix: 'x' });
  const tb = await tp.assign('b', 1, { index: 2, simpleTokenPrefix: 'x' });
  tp.invalidateUser('a');
  assert.equal(await tp.info(ta, 1), null);
  assert.ok(await tp.info(tb, 1));
  tp.disable();
  assert.equal(await tp.info(tb, 1), null);
  const tc = await tp.assign('c', 1, { index: 3, simpleTokenPrefix: 'x' });
  assert.equal(tc, 'x.3');
  assert.equal(await tp.info(tc, 1), null);
});

test('--auth-token parsing and provider selection', async () => {
  assert.deepEqual(decomposeOpts('simple'), { tokenType: 'simple', opts: new Map() });
  assert.deepEqual(decomposeOpts('jwt,sign-method=HS256,ttl=1m').opts, new Map([['sign-method', 'HS256'], ['ttl', '1m']]));
  assert.throws(() => decomposeOpts('jwt,sign-method'), (e) => e === ErrInvalidAuthOpts);
  assert.throws(() => decomposeOpts('jwt,a=1,a=2'), (e) => e === ErrInvalidAuthOpts);
  const cfg = { indexWaiter: () => undefined };
  assert.equal(newTokenProvider('simple', cfg).type, 'simple');
  const nop = newTokenProvider('', cfg);
  assert.ok(nop instanceof NopTokenProvider);
  assert.equal(await nop.info(), null);
  await assert.rejects(nop.assign(), (e) => e === ErrAuthFailed);
  assert.throws(() => newTokenProvider('oauth', cfg), (e) => e === ErrInvalidAuthOpts);
  assert.throws(() => newTokenProvider('jwt,sign-method=XX999', cfg), (e) => e === ErrInvalidAuthOpts);
  assert.throws(() => newTokenProvider('jwt,sign-method=RS256,ttl=banana', cfg), (e) => e === ErrInvalidAuthOpts);
});
