// Tests of the interval map's stabbing query against a brute-force scan.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IntervalMap } from '../../../src/storage/mvcc/intervalMap.js';

test('stab finds exactly the intervals containing a point, through inserts and deletes', () => {
  let seed = 42;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const key = () => String.fromCharCode(...Array.from({ length: 1 + rnd(3) }, () => 97 + rnd(6)));
  const m = new IntervalMap<string>();
  const live = new Map<string, [string, string]>();
  for (let round = 0; round < 300; round++) {
    const a = key();
    const b = rnd(5) === 0 ? '' : key();
    const id = `${a}|${b}`;
    if (rnd(4) === 0 && live.size > 0) {
      const [k, [s, e]] = [...live][rnd(live.size)];
      assert.equal(m.delete(s, e), true);
      live.delete(k);
    } else if (b === '' || a < b) {
      m.set(a, b, id);
      live.set(id, [a, b]);
    }
    for (let q = 0; q < 5; q++) {
      const p = key();
      const got: string[] = [];
      m.stab(p, got);
      const want = [...live].filter(([, [s, e]]) => s <= p && (e === '' || p < e)).map(([k]) => k);
      assert.deepEqual(got.sort(), want.sort(), `point ${p}`);
      assert.equal(m.intersects(p), want.length > 0);
    }
  }
  assert.equal(m.size, live.size);
});
