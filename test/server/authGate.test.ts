// The auth gate's view of a caller: a token names the user; without one, the verified client
// certificate's common name does (etcd's AuthInfoFromTLS), at the store's current auth revision;
// with neither, writes carry no user and locally served reads are refused as "user name is empty".

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AuthStore, ErrUserEmpty, PermType, SimpleTokenProvider } from '../../src/auth/index.js';
import type { Lessor } from '../../src/lease/index.js';
import { AuthGate, type AuthGateServer } from '../../src/server/authGate.js';
import type { ServerLogger } from '../../src/server/config.js';
import { MemBackend } from '../support/memBackend.js';

async function enabledStore(): Promise<AuthStore> {
  const as = new AuthStore(new MemBackend(), new SimpleTokenProvider({ indexWaiter: () => undefined }), { bcryptCost: 4 });
  as.userAdd({ name: 'root', password: '', hashedPassword: await as.hashPassword('r'), options: { noPassword: false } });
  as.userGrantRole('root', 'root');
  as.userAdd({ name: 'alice', password: '', hashedPassword: await as.hashPassword('a'), options: { noPassword: false } });
  as.roleAdd('reader');
  as.roleGrantPermission('reader', { permType: PermType.READ, key: Buffer.from('a'), rangeEnd: Buffer.from('b') });
  as.userGrantRole('alice', 'reader');
  as.authEnable();
  return as;
}

function gate(as: AuthStore): AuthGate {
  const srv = { lessor: {} as Lessor } as AuthGateServer;
  return new AuthGate(as, srv, {} as ServerLogger);
}

test('a client certificate common name is the user when no token is given', async () => {
  const as = await enabledStore();
  const g = gate(as);
  const ai = await g.authInfo({ token: undefined, certCN: 'alice' });
  assert.deepEqual(ai, { username: 'alice', revision: as.revision });

  // Writes are stamped with that user; reads are checked against its permissions.
  const body: { header?: { username: string; authRevision: number } } = {};
  await g.stamp(body, { token: undefined, certCN: 'alice' });
  assert.deepEqual(body.header, { username: 'alice', authRevision: as.revision });
  const allowed = (ai2: Parameters<AuthStore['isRangePermitted']>[0], key: string) => as.isRangePermitted(ai2, Buffer.from(key), null);
  assert.equal(await g.serialize({ token: undefined, certCN: 'alice' }, (a) => allowed(a, 'a1'), () => 'read'), 'read');
  await assert.rejects(g.serialize({ token: undefined, certCN: 'alice' }, (a) => allowed(a, 'z'), () => 'read'), /permission denied/);
});

test('a token wins over the certificate; neither means no user', async () => {
  const as = await enabledStore();
  const g = gate(as);
  const token = await as.authenticate('root', { index: 5, simpleTokenPrefix: as.genTokenPrefix() });
  const ai = await g.authInfo({ token, certCN: 'alice' });
  assert.equal(ai?.username, 'root');
  assert.equal(g.authInfo({ token: undefined }), null);
  await assert.rejects(g.requireAuthInfo({ token: undefined }), (e) => e === ErrUserEmpty);
});

test('with auth disabled the certificate is not consulted', async () => {
  const as = await enabledStore();
  as.authDisable();
  assert.equal(gate(as).authInfo({ token: undefined, certCN: 'alice' }), null);
});
