// Tests of a key's generations: get, since, tombstone, compact and keep (etcd's key_index_test).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KeyIndex } from '../../../src/storage/mvcc/keyIndex.js';

// put(2) put(4) del(6) put(8) put(10) del(12) put(14.0) put(14.1) put(16)
function newTestKeyIndex(): KeyIndex {
  const ki = new KeyIndex('foo');
  ki.put(2, 0);
  ki.put(4, 0);
  ki.tombstone(6, 0);
  ki.put(8, 0);
  ki.put(10, 0);
  ki.tombstone(12, 0);
  ki.put(14, 0);
  ki.put(14, 1);
  ki.put(16, 0);
  return ki;
}

function gens(ki: KeyIndex): string {
  return ki.generations
    .map((g) => `[${Array.from({ length: g.count }, (_, i) => `${g.main(i)}.${g.sub(i)}`).join(' ')}]v${g.ver}c${g.createdMain}`)
    .join(' ');
}

test('get finds the revision, creation and version at a revision', () => {
  const ki = newTestKeyIndex();
  const cases: [number, string | null][] = [
    [17, '16.0 c14 v3'],
    [16, '16.0 c14 v3'],
    [15, '14.1 c14 v2'],
    [14, '14.1 c14 v2'],
    [13, null],
    [12, null],
    [11, '10.0 c8 v2'],
    [8, '8.0 c8 v1'],
    [7, null],
    [6, null],
    [5, '4.0 c2 v2'],
    [2, '2.0 c2 v1'],
    [1, null],
  ];
  for (const [rev, want] of cases) {
    const r = ki.get(rev);
    assert.equal(r === null ? null : `${r.modMain}.${r.modSub} c${r.createdMain} v${r.ver}`, want, `at ${rev}`);
  }
});

test('since returns revisions from rev, one per main revision', () => {
  const ki = newTestKeyIndex();
  const s = (rev: number) => ki.since(rev).map((r) => `${r.main}.${r.sub}`).join(' ');
  assert.equal(s(1), '2.0 4.0 6.0 8.0 10.0 12.0 14.1 16.0');
  assert.equal(s(14), '14.1 16.0');
  assert.equal(s(13), '14.1 16.0');
  assert.equal(s(9), '10.0 12.0 14.1 16.0');
  assert.equal(s(17), '');
});

test('tombstone on a deleted key reports failure', () => {
  const ki = new KeyIndex('k');
  ki.put(5, 0);
  assert.equal(ki.tombstone(7, 0), true);
  assert.equal(ki.tombstone(9, 0), false);
  assert.throws(() => ki.put(7, 0), /smaller revision/);
});

test('compact keeps the newest revision at or below the compaction and drops empty generations', () => {
  const steps: [number, string, string[]][] = [
    [1, '[2.0 4.0 6.0]v3c2 [8.0 10.0 12.0]v3c8 [14.0 14.1 16.0]v3c14', []],
    [2, '[2.0 4.0 6.0]v3c2 [8.0 10.0 12.0]v3c8 [14.0 14.1 16.0]v3c14', ['2']],
    [3, '[2.0 4.0 6.0]v3c2 [8.0 10.0 12.0]v3c8 [14.0 14.1 16.0]v3c14', ['2']],
    [4, '[4.0 6.0]v3c2 [8.0 10.0 12.0]v3c8 [14.0 14.1 16.0]v3c14', ['4']],
    [6, '[6.0]v3c2 [8.0 10.0 12.0]v3c8 [14.0 14.1 16.0]v3c14', ['6']],
    [7, '[8.0 10.0 12.0]v3c8 [14.0 14.1 16.0]v3c14', []],
    [11, '[10.0 12.0]v3c8 [14.0 14.1 16.0]v3c14', ['10']],
    [14, '[14.1 16.0]v3c14', ['14.1']],
    [16, '[16.0]v3c14', ['16']],
    [17, '[16.0]v3c14', ['16']],
  ];
  for (const [rev, want, kept] of steps) {
    // compacting afresh and incrementally must agree
    const fresh = newTestKeyIndex();
    const avail = new Set<string>();
    fresh.compact(rev, avail);
    assert.equal(gens(fresh), want, `fresh compact(${rev})`);
    assert.deepEqual([...avail], kept, `kept at ${rev}`);
  }
  const inc = newTestKeyIndex();
  for (const [rev, want] of steps) {
    inc.compact(rev, new Set());
    assert.equal(gens(inc), want, `incremental compact(${rev})`);
  }
  const ki = new KeyIndex('x');
  ki.put(1, 0);
  ki.tombstone(2, 0);
  ki.compact(3, new Set());
  assert.ok(ki.isEmpty(), 'a key whose history is all compacted is empty');
});

test('keep does not keep a tombstone that ends a generation', () => {
  const avail = new Set<string>();
  newTestKeyIndex().keep(6, avail);
  assert.deepEqual([...avail], []);
  const avail2 = new Set<string>();
  const ki = newTestKeyIndex();
  ki.keep(16, avail2);
  assert.deepEqual([...avail2], ['16']);
  assert.equal(gens(ki), gens(newTestKeyIndex()), 'keep does not modify');
  const compactAvail = new Set<string>();
  newTestKeyIndex().compact(6, compactAvail);
  assert.deepEqual([...compactAvail], ['6'], 'compact keeps the tombstone at the compaction revision');
});
