// Tests of the auth store on an in-memory backend: enable/disable rules, users, roles,
// permissions, the auth revision, password checks, tokens and permission checks.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AuthStore,
  ErrAuthFailed,
  ErrAuthNotEnabled,
  ErrAuthOldRevision,
  ErrInvalidAuthMgmt,
  ErrInvalidAuthToken,
  ErrNoPasswordUser,
  ErrPermissionDenied,
  ErrPermissionNotGiven,
  ErrPermissionNotGranted,
  ErrRoleAlreadyExist,
  ErrRoleEmpty,
  ErrRoleNotFound,
  ErrRoleNotGranted,
  ErrRootRoleNotExist,
  ErrRootUserNotExist,
  ErrUserAlreadyExist,
  ErrUserEmpty,
  ErrUserNotFound,
  PermType,
  ROOT_PERMISSION,
  SimpleTokenProvider,
  type Permission,
} from '../../src/auth/index.js';
import { MemBackend } from '../support/memBackend.js';

const b = (s: string) => Buffer.from(s);
const perm = (permType: Permission['permType'], key: string, rangeEnd = ''): Permission => ({
  permType,
  key: b(key),
  rangeEnd: rangeEnd === '\0' ? Buffer.from([0]) : b(rangeEnd),
});

function setup(be = new MemBackend()) {
  const tp = new SimpleTokenProvider({ indexWaiter: () => undefined });
  const as = new AuthStore(be, tp, { bcryptCost: 4 });
  return { as, be, tp };
}

async function withRoot(as: AuthStore) {
  as.userAdd({ name: 'root', hashedPassword: await as.hashPassword('rootpw') });
  as.roleAdd('root');
  as.userGrantRole('root', 'root');
}

test('a new store starts at auth revision 1 and persists it', () => {
  const { as, be } = setup();
  assert.equal(as.revision, 1);
  assert.equal(as.isAuthEnabled(), false);
  const again = new AuthStore(be, new SimpleTokenProvider({ indexWaiter: () => undefined }), { bcryptCost: 4 });
  assert.equal(again.revision, 1);
});

test('an invalid bcrypt cost falls back to 10', () => {
  const as = new AuthStore(new MemBackend(), new SimpleTokenProvider({ indexWaiter: () => undefined }), { bcryptCost: 99 });
  assert.equal(as.bcryptCost, 10);
});

test('enable needs a root user with the root role', async () => {
  const { as } = setup();
  assert.throws(() => as.authEnable(), (e) => e === ErrRootUserNotExist);
  as.userAdd({ name: 'root', hashedPassword: await as.hashPassword('x') });
  assert.throws(() => as.authEnable(), (e) => e === ErrRootRoleNotExist);
  as.userGrantRole('root', 'root'); // the root role need not exist as a role
  const rev = as.revision;
  as.authEnable();
  assert.ok(as.isAuthEnabled());
  assert.equal(as.revision, rev, 'enable does not bump the revision');
  as.authEnable(); // ignored
  as.authDisable();
  assert.ok(!as.isAuthEnabled());
  assert.equal(as.revision, rev + 1, 'disable bumps the revision');
  as.authDisable(); // ignored
  assert.equal(as.revision, rev + 1);
  as.close();
});

test('user management and its errors, each change one revision', async () => {
  const { as } = setup();
  const hp = await as.hashPassword('pw');
  assert.throws(() => as.userAdd({ name: '', hashedPassword: hp }), (e) => e === ErrUserEmpty);
  let rev = as.revision;
  as.userAdd({ name: 'foo', hashedPassword: hp });
  assert.equal(as.revision, ++rev);
  assert.throws(() => as.userAdd({ name: 'foo', hashedPassword: hp }), (e) => e === ErrUserAlreadyExist);
  assert.throws(() => as.userAdd({ name: 'bad', hashedPassword: '!!notbase64' }), (e) => e === ErrNoPasswordUser);
  as.userAdd({ name: 'bar', options: { noPassword: true } });
  as.userAdd({ name: 'Zed', password: 'legacy' }); // pre-3.5 entry: hashed on apply
  rev = as.revision;
  assert.deepEqual(as.userList(), ['Zed', 'bar', 'foo']);
  assert.throws(() => as.userGrantRole('nobody', 'r'), (e) => e === ErrUserNotFound);
  assert.throws(() => as.userGrantRole('foo', 'r'), (e) => e === ErrRoleNotFound);
  as.roleAdd('r2');
  as.roleAdd('r1');
  as.userGrantRole('foo', 'r2');
  as.userGrantRole('foo', 'r1');
  assert.deepEqual(as.userGet('foo'), ['r1', 'r2']);
  rev = as.revision;
  as.userGrantRole('foo', 'r1'); // duplicate: ignored, no revision
  assert.equal(as.revision, rev);
  assert.ok(as.hasRole('foo', 'r1'));
  assert.ok(!as.hasRole('nobody', 'r1'));
  assert.throws(() => as.userGet('nobody'), (e) => e === ErrUserNotFound);
  assert.throws(() => as.userRevokeRole('foo', 'r3'), (e) => e === ErrRoleNotGranted);
  assert.throws(() => as.userRevokeRole('nobody', 'r1'), (e) => e === ErrUserNotFound);
  as.userRevokeRole('foo', 'r1');
  assert.deepEqual(as.userGet('foo'), ['r2']);
  assert.throws(() => as.userDelete('nobody'), (e) => e === ErrUserNotFound);
  as.userDelete('bar');
  assert.deepEqual(as.userList(), ['Zed', 'foo']);
  assert.throws(() => as.userChangePassword({ name: 'nobody', hashedPassword: hp }), (e) => e === ErrUserNotFound);
});

test('role management: permissions sorted by key, updates in place, root role reports everything', () => {
  const { as } = setup();
  assert.throws(() => as.roleAdd(''), (e) => e === ErrRoleEmpty);
  as.roleAdd('r');
  assert.throws(() => as.roleAdd('r'), (e) => e === ErrRoleAlreadyExist);
  assert.throws(() => as.roleGrantPermission('r', null), (e) => e === ErrPermissionNotGiven);
  assert.throws(() => as.roleGrantPermission('x', perm(PermType.READ, 'a')), (e) => e === ErrRoleNotFound);
  assert.throws(() => as.roleGrantPermission('r', perm(PermType.READ, 'b', 'a')), (e) => e === ErrInvalidAuthMgmt);
  assert.throws(() => as.roleGrantPermission('r', perm(PermType.READ, '')), (e) => e === ErrInvalidAuthMgmt);
  as.roleGrantPermission('r', perm(PermType.READ, 'm', 'n'));
  as.roleGrantPermission('r', perm(PermType.WRITE, 'a'));
  const rev = as.revision;
  as.roleGrantPermission('r', perm(PermType.READWRITE, 'm', 'n'));
  assert.equal(as.revision, rev + 1);
  assert.deepEqual(as.roleGet('r'), [perm(PermType.WRITE, 'a'), perm(PermType.READWRITE, 'm', 'n')]);
  assert.throws(() => as.roleRevokePermission('r', b('m'), b('o')), (e) => e === ErrPermissionNotGranted);
  assert.throws(() => as.roleRevokePermission('x', b('m'), b('n')), (e) => e === ErrRoleNotFound);
  as.roleRevokePermission('r', b('m'), b('n'));
  assert.deepEqual(as.roleGet('r'), [perm(PermType.WRITE, 'a')]);
  as.roleAdd('root');
  assert.deepEqual(as.roleGet('root'), [ROOT_PERMISSION]);
  assert.deepEqual(as.roleList(), ['r', 'root']);
  assert.throws(() => as.roleGet('x'), (e) => e === ErrRoleNotFound);
});

test('deleting a role removes it from its users', async () => {
  const { as } = setup();
  as.roleAdd('r');
  as.userAdd({ name: 'u', hashedPassword: await as.hashPassword('p') });
  as.userGrantRole('u', 'r');
  assert.throws(() => as.roleDelete('x'), (e) => e === ErrRoleNotFound);
  as.roleDelete('r');
  assert.deepEqual(as.userGet('u'), []);
  assert.deepEqual(as.roleList(), []);
});

test('root user and role are protected while auth is enabled', async () => {
  const { as } = setup();
  await withRoot(as);
  as.authEnable();
  assert.throws(() => as.userDelete('root'), (e) => e === ErrInvalidAuthMgmt);
  assert.throws(() => as.roleDelete('root'), (e) => e === ErrInvalidAuthMgmt);
  assert.throws(() => as.userRevokeRole('root', 'root'), (e) => e === ErrInvalidAuthMgmt);
  as.authDisable();
  as.userRevokeRole('root', 'root');
  as.roleDelete('root');
  as.userDelete('root');
  assert.deepEqual(as.userList(), []);
});

test('checkPassword: not enabled, unknown user, wrong password, no-password user, right password', async () => {
  const { as } = setup();
  await withRoot(as);
  as.userAdd({ name: 'np', options: { noPassword: true } });
  await assert.rejects(as.checkPassword('root', 'rootpw'), (e) => e === ErrAuthNotEnabled);
  as.authEnable();
  await assert.rejects(as.checkPassword('nobody', 'x'), (e) => e === ErrAuthFailed);
  await assert.rejects(as.checkPassword('root', 'wrong'), (e) => e === ErrAuthFailed);
  await assert.rejects(as.checkPassword('np', ''), (e) => e === ErrNoPasswordUser);
  assert.equal(await as.checkPassword('root', 'rootpw'), as.revision);
  // changing the password takes effect and invalidates the user's tokens
  const token = await as.authenticate('root', { index: 1, simpleTokenPrefix: as.genTokenPrefix() });
  assert.equal((await as.authInfoFromToken(token))!.username, 'root');
  as.userChangePassword({ name: 'root', hashedPassword: await as.hashPassword('new') });
  await assert.rejects(as.checkPassword('root', 'rootpw'), (e) => e === ErrAuthFailed);
  assert.equal(await as.checkPassword('root', 'new'), as.revision);
  await assert.rejects(as.authInfoFromToken(token), (e) => e === ErrInvalidAuthToken);
  as.close();
});

test('authenticate issues tokens only when enabled and for password users', async () => {
  const { as } = setup();
  await withRoot(as);
  as.userAdd({ name: 'np', options: { noPassword: true } });
  await assert.rejects(as.authenticate('root', { index: 1, simpleTokenPrefix: 'p' }), (e) => e === ErrAuthNotEnabled);
  assert.equal(await as.authInfoFromToken('p.1'), null, 'disabled: tokens are ignored');
  assert.equal(await as.rootToken(), null);
  as.authEnable();
  await assert.rejects(as.authenticate('nobody', { index: 2, simpleTokenPrefix: 'p' }), (e) => e === ErrAuthFailed);
  await assert.rejects(as.authenticate('np', { index: 3, simpleTokenPrefix: 'p' }), (e) => e === ErrAuthFailed);
  const t = await as.authenticate('root', { index: 4, simpleTokenPrefix: 'p' });
  assert.equal(t, 'p.4');
  assert.deepEqual(await as.authInfoFromToken(t), { username: 'root', revision: as.revision });
  assert.equal(await as.authInfoFromToken(undefined), null);
  await assert.rejects(as.authInfoFromToken('p.5'), (e) => e === ErrInvalidAuthToken);
  const rt = await as.rootToken();
  assert.match(rt!, /^[a-zA-Z]{16}\.0$/);
  assert.equal((await as.authInfoFromToken(rt))!.username, 'root');
  // deleting a user invalidates its tokens
  as.userAdd({ name: 'u', hashedPassword: await as.hashPassword('p') });
  const tu = await as.authenticate('u', { index: 6, simpleTokenPrefix: 'p' });
  as.userDelete('u');
  await assert.rejects(as.authInfoFromToken(tu), (e) => e === ErrInvalidAuthToken);
  // disabling forgets every token
  as.authDisable();
  as.authEnable();
  await assert.rejects(as.authInfoFromToken(t), (e) => e === ErrInvalidAuthToken);
  as.close();
});

test('permission checks: disabled, no user, old revision, unknown user, root, ranges', async () => {
  const { as } = setup();
  await withRoot(as);
  as.userAdd({ name: 'u', hashedPassword: await as.hashPassword('p') });
  as.roleAdd('reader');
  as.roleGrantPermission('reader', perm(PermType.READ, 'foo/', 'foo0'));
  as.roleAdd('writer');
  as.roleGrantPermission('writer', perm(PermType.WRITE, 'bar'));
  as.userGrantRole('u', 'reader');
  // disabled: everything is allowed
  assert.equal(as.isPutPermitted(null, b('anything')), null);
  assert.equal(as.isAdminPermitted(null), null);
  as.authEnable();
  let u = { username: 'u', revision: as.revision };
  assert.equal(as.isRangePermitted(null, b('foo/a')), ErrUserEmpty);
  assert.equal(as.isRangePermitted({ username: '', revision: 0 }, b('foo/a')), ErrUserEmpty);
  assert.equal(as.isRangePermitted({ username: 'ghost', revision: as.revision }, b('foo/a')), ErrPermissionDenied);
  assert.equal(as.isRangePermitted(u, b('foo/a')), null);
  assert.equal(as.isRangePermitted(u, b('foo/'), b('foo0')), null);
  assert.equal(as.isRangePermitted(u, b('foo/'), Buffer.from([0])), ErrPermissionDenied);
  assert.equal(as.isPutPermitted(u, b('foo/a')), ErrPermissionDenied);
  assert.equal(as.isDeleteRangePermitted(u, b('foo/a'), b('foo/b')), ErrPermissionDenied);
  assert.equal(as.isPutPermitted(u, b('bar')), ErrPermissionDenied);
  // granting a role bumps the revision: tokens issued before are now too old
  as.userGrantRole('u', 'writer');
  assert.equal(as.isPutPermitted(u, b('bar')), ErrAuthOldRevision);
  u = { username: 'u', revision: as.revision };
  assert.equal(as.isPutPermitted(u, b('bar')), null, 'the cache was refreshed');
  assert.equal(as.isPutPermitted(u, b('bar1')), ErrPermissionDenied);
  // a newer revision than ours is fine
  assert.equal(as.isPutPermitted({ username: 'u', revision: as.revision + 5 }, b('bar')), null);
  // changing a role's permissions takes effect
  as.roleRevokePermission('writer', b('bar'), b(''));
  u = { username: 'u', revision: as.revision };
  assert.equal(as.isPutPermitted(u, b('bar')), ErrPermissionDenied);
  // root bypasses everything
  const root = { username: 'root', revision: as.revision };
  assert.equal(as.isDeleteRangePermitted(root, Buffer.from([0]), Buffer.from([0])), null);
  // admin
  assert.equal(as.isAdminPermitted(root), null);
  assert.equal(as.isAdminPermitted(u), ErrPermissionDenied);
  assert.equal(as.isAdminPermitted({ username: 'ghost', revision: 1 }), ErrUserNotFound);
  assert.equal(as.isAdminPermitted({ username: '', revision: 1 }), ErrUserEmpty);
  as.close();
});

test('state is rebuilt from the backend by a new store and by recover()', async () => {
  const { as, be } = setup();
  await withRoot(as);
  as.roleAdd('r');
  as.roleGrantPermission('r', perm(PermType.READWRITE, 'k', '\0'));
  as.userAdd({ name: 'u', options: { noPassword: true } });
  as.userGrantRole('u', 'r');
  as.authEnable();
  const rev = as.revision;
  as.close();
  const { as: as2 } = setup(be);
  assert.ok(as2.isAuthEnabled());
  assert.equal(as2.revision, rev);
  assert.deepEqual(as2.userList(), ['root', 'u']);
  assert.deepEqual(as2.roleGet('r'), [perm(PermType.READWRITE, 'k', '\0')]);
  assert.equal(as2.isPutPermitted({ username: 'u', revision: rev }, b('kz')), null);
  assert.equal(await as2.checkPassword('root', 'rootpw'), rev);
  // recover from an empty backend: auth off, nothing left
  as2.recover(new MemBackend());
  assert.ok(!as2.isAuthEnabled());
  assert.deepEqual(as2.userList(), []);
  assert.equal(as2.revision, 0);
  as2.close();
});
