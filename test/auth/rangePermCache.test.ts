// Tests of the merged key-range permissions (etcd's range_perm_cache_test cases plus the point,
// open-ended and "\0" conventions).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PermType, type Permission } from '../../src/auth/authpb.js';
import { KeyRanges, checkKeyRange, isValidPermissionRange, mergePermissions } from '../../src/auth/rangePermCache.js';

const b = (s: string) => Buffer.from(s);
const iv = (begin: string, end: string | null) => ({ begin: b(begin), end: end === null ? null : b(end) });
const perm = (permType: Permission['permType'], key: string, rangeEnd = ''): Permission => ({
  permType,
  key: b(key),
  rangeEnd: rangeEnd === '\0' ? Buffer.from([0]) : b(rangeEnd),
});

test('range containment over merged intervals (etcd TestRangePermission)', () => {
  const cases: [ReturnType<typeof iv>[], string, string, boolean][] = [
    [[iv('a', 'c'), iv('x', 'z')], 'a', 'z', false],
    [[iv('a', 'f'), iv('c', 'd'), iv('f', 'z')], 'a', 'z', true],
    [[iv('a', 'd'), iv('a', 'b'), iv('c', 'f')], 'a', 'f', true],
    [[iv('a', 'd'), iv('a', 'b'), iv('c', 'f')], 'b', 'e', true],
    [[iv('a', 'd'), iv('a', 'b'), iv('c', 'f')], 'a', 'g', false],
    [[iv('b', 'd')], 'a', 'c', false],
  ];
  for (const [ivs, begin, end, want] of cases) {
    assert.equal(KeyRanges.build(ivs).containsRange(b(begin), b(end)), want, `${begin}-${end}`);
  }
});

test('key containment (etcd TestKeyPermission)', () => {
  const cases: [ReturnType<typeof iv>[], string, boolean][] = [
    [[iv('a', 'c'), iv('x', 'z')], 'f', false],
    [[iv('a', 'f'), iv('c', 'd'), iv('f', 'z')], 'b', true],
    [[iv('a', 'd'), iv('a', 'b'), iv('c', 'f')], 'd', true],
    [[iv('a', 'd'), iv('a', 'b'), iv('c', 'f')], 'f', false],
    [[iv('a', 'd')], '0', false],
  ];
  for (const [ivs, key, want] of cases) {
    assert.equal(KeyRanges.build(ivs).containsKey(b(key)), want, key);
  }
});

test('merging collapses overlapping and touching intervals and open ends', () => {
  assert.equal(KeyRanges.build([iv('a', 'c'), iv('c', 'e'), iv('b', 'd')]).size, 1);
  assert.equal(KeyRanges.build([iv('a', 'c'), iv('d', 'e')]).size, 2);
  const open = KeyRanges.build([iv('m', null), iv('n', 'o'), iv('a', 'b')]);
  assert.equal(open.size, 2);
  assert.ok(open.containsRange(b('m'), null));
  assert.ok(open.containsKey(b('zzzz')));
  assert.ok(!open.containsRange(b('a'), null));
  assert.ok(!open.containsRange(b('b'), b('a')), 'a reversed range is never covered');
});

test('permissions: a single key, a range, an open end, and read/write separation', () => {
  const perms = mergePermissions([
    {
      name: 'r1',
      keyPermission: [perm(PermType.READ, 'foo'), perm(PermType.WRITE, 'w/', 'w0'), perm(PermType.READWRITE, 'z', '\0')],
    },
  ]);
  assert.ok(checkKeyRange(perms, b('foo'), null, PermType.READ));
  assert.ok(!checkKeyRange(perms, b('foo'), null, PermType.WRITE));
  assert.ok(!checkKeyRange(perms, b('foo1'), null, PermType.READ));
  // a range exactly equal to the single key [foo, foo\0)
  assert.ok(checkKeyRange(perms, b('foo'), Buffer.from('foo\0'), PermType.READ));
  assert.ok(!checkKeyRange(perms, b('foo'), b('fop'), PermType.READ));
  assert.ok(checkKeyRange(perms, b('w/a'), b('w/b'), PermType.WRITE));
  assert.ok(!checkKeyRange(perms, b('w/a'), b('w/b'), PermType.READ));
  assert.ok(checkKeyRange(perms, b('zz'), Buffer.from([0]), PermType.READ), 'open-ended request inside open perm');
  assert.ok(checkKeyRange(perms, b('zz'), Buffer.from([0]), PermType.WRITE));
  assert.ok(!checkKeyRange(perms, b('y'), Buffer.from([0]), PermType.READ));
  const all = mergePermissions([{ name: 'all', keyPermission: [perm(PermType.READ, '\0', '\0')] }]);
  assert.ok(checkKeyRange(all, Buffer.from([0]), Buffer.from([0]), PermType.READ), 'the whole keyspace');
  assert.ok(checkKeyRange(all, b('anything'), null, PermType.READ));
});

test('permissions of several roles combine', () => {
  const perms = mergePermissions([
    { name: 'a', keyPermission: [perm(PermType.READ, 'a', 'm')] },
    { name: 'b', keyPermission: [perm(PermType.READ, 'm', 'z')] },
  ]);
  assert.ok(checkKeyRange(perms, b('b'), b('y'), PermType.READ));
  assert.ok(!checkKeyRange(perms, b('b'), b('zz'), PermType.READ));
});

test('isValidPermissionRange follows etcd', () => {
  assert.ok(!isValidPermissionRange(b(''), b('')));
  assert.ok(isValidPermissionRange(b('a'), b('')));
  assert.ok(isValidPermissionRange(b('a'), b('b')));
  assert.ok(!isValidPermissionRange(b('b'), b('a')));
  assert.ok(!isValidPermissionRange(b('a'), b('a')));
  assert.ok(isValidPermissionRange(b('a'), Buffer.from([0])));
  assert.ok(isValidPermissionRange(Buffer.from([0]), Buffer.from([0])));
});
