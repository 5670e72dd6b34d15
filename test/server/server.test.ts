import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { b, startServer, tempDir } from './helpers.js';

test('single member: put, get, delete, txn through EtcdServer', async () => {
  const dir = tempDir();
  const s = await startServer(dir);
  try {
    const p = await s.put({ key: b('foo'), value: b('bar') });
    assert.equal(p.header!.memberId, s.id);
    assert.equal(p.header!.clusterId, s.clusterId);
    assert.ok(p.header!.raftTerm >= 1);
    const rev1 = p.header!.revision;
    assert.ok(rev1 >= 2);
    const g = await s.range({ key: b('foo') });
    assert.equal(g.kvs.length, 1);
    assert.equal(g.kvs[0]!.value.toString(), 'bar');
    assert.equal(g.header!.revision, rev1);
    const p2 = await s.put({ key: b('foo'), value: b('baz'), prevKv: true });
    assert.equal(p2.prevKv?.value.toString(), 'bar');
    assert.equal(p2.header!.revision, rev1 + 1);
    const t = await s.txn({
      compare: [{ key: b('foo'), result: 0, target: 3, value: b('baz') }],
      success: [{ requestPut: { key: b('k2'), value: b('v2') } }, { requestRange: { key: b('foo') } }],
      failure: [],
    });
    assert.equal(t.succeeded, true);
    assert.equal(t.responses.length, 2);
    assert.equal(t.responses[1]!.responseRange!.kvs[0]!.value.toString(), 'baz');
    const d = await s.deleteRange({ key: b('foo'), prevKv: true });
    assert.equal(d.deleted, 1);
    assert.equal(d.prevKvs[0]!.value.toString(), 'baz');
    const g2 = await s.range({ key: b('foo'), serializable: true });
    assert.equal(g2.kvs.length, 0);
  } finally {
    await s.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('restart from the same data dir keeps every acknowledged write', async () => {
  const dir = tempDir();
  let s = await startServer(dir);
  const n = 200;
  const id = s.id;
  const cid = s.clusterId;
  await Promise.all(Array.from({ length: n }, (_, i) => s.put({ key: b(`k${i}`), value: b(`v${i}`) })));
  const rev = (await s.range({ key: b('k0') })).header!.revision;
  await s.stop();
  s = await startServer(dir);
  try {
    assert.equal(s.id, id);
    assert.equal(s.clusterId, cid);
    const all = await s.range({ key: b('k'), rangeEnd: b('l') });
    assert.equal(all.kvs.length, n);
    assert.equal(all.header!.revision, rev);
    const p = await s.put({ key: b('after'), value: b('restart') });
    assert.equal(p.header!.revision, rev + 1);
  } finally {
    await s.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
