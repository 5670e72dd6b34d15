// Tests of the authpb codec (User, Role, Permission) against hand-computed protobuf bytes.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  PermType,
  decodePermission,
  decodeRole,
  decodeUser,
  encodePermission,
  encodeRole,
  encodeUser,
} from '../../src/auth/authpb.js';

test('Permission bytes: permType=1 (omitted when READ), key=2, range_end=3', () => {
  const p = { permType: PermType.WRITE, key: Buffer.from('a'), rangeEnd: Buffer.from('b') };
  assert.deepEqual([...encodePermission(p)], [0x08, 0x01, 0x12, 0x01, 0x61, 0x1a, 0x01, 0x62]);
  assert.deepEqual(decodePermission(encodePermission(p)), p);
  const read = { permType: PermType.READ, key: Buffer.from('k'), rangeEnd: Buffer.alloc(0) };
  assert.deepEqual([...encodePermission(read)], [0x12, 0x01, 0x6b]);
  assert.deepEqual(decodePermission(encodePermission(read)), read);
});

test('User bytes: name=1, password=2, roles=3, options=4', () => {
  const u = { name: 'u', password: Buffer.from('p'), roles: ['r1', 'r2'], options: { noPassword: false } };
  assert.deepEqual(
    [...encodeUser(u)],
    [0x0a, 0x01, 0x75, 0x12, 0x01, 0x70, 0x1a, 0x02, 0x72, 0x31, 0x1a, 0x02, 0x72, 0x32, 0x22, 0x00],
  );
  assert.deepEqual(decodeUser(encodeUser(u)), u);
  const np = { name: 'n', password: Buffer.alloc(0), roles: [], options: { noPassword: true } };
  assert.deepEqual([...encodeUser(np)], [0x0a, 0x01, 0x6e, 0x22, 0x02, 0x08, 0x01]);
  assert.deepEqual(decodeUser(encodeUser(np)), np);
  const legacy = { name: 'old', password: Buffer.from('h'), roles: [], options: null };
  assert.deepEqual(decodeUser(encodeUser(legacy)), legacy);
});

test('Role bytes: name=1, repeated keyPermission=2; UTF-8 names', () => {
  const r = {
    name: 'rôle',
    keyPermission: [
      { permType: PermType.READWRITE, key: Buffer.from('a'), rangeEnd: Buffer.from([0]) },
      { permType: PermType.READ, key: Buffer.from('b'), rangeEnd: Buffer.alloc(0) },
    ],
  };
  const enc = encodeRole(r);
  assert.deepEqual([...enc.subarray(0, 2)], [0x0a, 5]);
  assert.deepEqual(decodeRole(enc), r);
});

test('decoding skips unknown fields and rejects truncation', () => {
  const u = encodeUser({ name: 'x', password: Buffer.alloc(0), roles: [], options: null });
  const withUnknown = Buffer.concat([u, Buffer.from([0x28, 0x05, 0x35, 1, 2, 3, 4])]);
  assert.equal(decodeUser(withUnknown).name, 'x');
  assert.throws(() => decodeUser(Buffer.from([0x0a, 0x05, 0x61])), /unexpected EOF/);
  assert.throws(() => decodeRole(Buffer.from([0x12, 0x03, 0x12, 0x05, 0x00])), /unexpected EOF/);
});

test('User and Role keep their exact bytes (empty options message, empty range end omitted)', () => {
  const u = { name: 'root', password: Buffer.from('$2a$10$hash'), roles: ['r1', 'root'], options: { noPassword: true } };
  assert.equal(encodeUser(u).toString('hex'), '0a04726f6f74120b24326124313024686173681a0272311a04726f6f7422020801');
  assert.equal(encodeUser({ name: 'x', password: Buffer.alloc(0), roles: [], options: null }).toString('hex'), '0a0178');
  assert.equal(encodeUser({ name: 'x', password: Buffer.alloc(0), roles: [], options: { noPassword: false } }).toString('hex'), '0a01782200');
  const role = {
    name: 'r',
    keyPermission: [
      { permType: PermType.READWRITE, key: Buffer.from('a'), rangeEnd: Buffer.from([0]) },
      { permType: PermType.READ, key: Buffer.from('k'), rangeEnd: Buffer.alloc(0) },
    ],
  };
  assert.equal(encodeRole(role).toString('hex'), '0a0172120808021201611a0100120312016b');
});
