// The auth store over the real LMDB backend: etcd's bucket layout (authEnabled, authRevision as
// 8-byte big-endian, users and roles keyed by name) and state surviving a restart.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Backend } from '../../src/storage/backend/backend.js';
import { Bucket } from '../../src/storage/backend/buckets.js';
import { AuthStore, PermType, SimpleTokenProvider, decodeRole, decodeUser } from '../../src/auth/index.js';

const newTp = () => new SimpleTokenProvider({ indexWaiter: () => undefined });

test('auth state is stored as etcd stores it and survives a restart', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsetcd-auth-'));
  try {
    const file = path.join(dir, 'db');
    let be = Backend.open(file, { noSync: true });
    const as = new AuthStore(be.batchTx, newTp(), { bcryptCost: 4 });
    as.userAdd({ name: 'root', hashedPassword: await as.hashPassword('secret') });
    as.userGrantRole('root', 'root');
    as.roleAdd('r');
    as.roleGrantPermission('r', { permType: PermType.READ, key: Buffer.from('a'), rangeEnd: Buffer.from('b') });
    as.authEnable();
    const rev = as.revision;
    as.close();

    assert.deepEqual([...be.readTx.get(Bucket.Auth, Buffer.from('authEnabled'))!], [1]);
    const revBytes = be.readTx.get(Bucket.Auth, Buffer.from('authRevision'))!;
    assert.equal(revBytes.length, 8);
    assert.equal(Number(revBytes.readBigUInt64BE(0)), rev);
    const root = decodeUser(be.readTx.get(Bucket.AuthUsers, Buffer.from('root'))!);
    assert.deepEqual(root.roles, ['root']);
    assert.match(root.password.toString('latin1'), /^\$2[aby]\$04\$/);
    assert.equal(decodeRole(be.readTx.get(Bucket.AuthRoles, Buffer.from('r'))!).keyPermission.length, 1);
    await be.close();

    be = Backend.open(file, { noSync: true });
    const again = new AuthStore(be.batchTx, newTp(), { bcryptCost: 4 });
    assert.ok(again.isAuthEnabled());
    assert.equal(again.revision, rev);
    assert.equal(await again.checkPassword('root', 'secret'), rev);
    assert.deepEqual(again.roleList(), ['r']);
    again.close();
    await be.close();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
