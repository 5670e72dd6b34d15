// Member/cluster ID derivation must reproduce etcd's well-known IDs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeClusterId, computeMemberId, idToString } from '../../../src/server/membership/ids.js';

test('default single member has the IDs etcd gives it', () => {
  const id = computeMemberId(['http://localhost:2380'], 'etcd-cluster');
  assert.equal(idToString(id), '8e9e05c52164694d');
  assert.equal(idToString(computeClusterId([id])), 'cdf818194e3a8c32');
});

test('peer URL order does not matter; token and time do', () => {
  const a = computeMemberId(['http://b:2380', 'http://a:2380'], 't');
  const b = computeMemberId(['http://a:2380', 'http://b:2380'], 't');
  assert.equal(a, b);
  assert.notEqual(a, computeMemberId(['http://a:2380', 'http://b:2380'], 'u'));
  assert.notEqual(a, computeMemberId(['http://a:2380', 'http://b:2380'], 't', 1700000000));
});
