// Tests for server snapshots: taken every --snapshot-count entries, purged, log trimmed, restart from snapshot + WAL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { b, startServer, tempDir } from './helpers.js';

test('snapshot every --snapshot-count entries, WAL released, restart from snapshot + WAL', async () => {
  const dir = tempDir();
  let s = await startServer(dir, { snapshotCount: 50, snapshotCatchUpEntries: 10, maxSnapshots: 2 });
  const n = 300;
  try {
    for (let i = 0; i < n; i += 20) {
      await Promise.all(Array.from({ length: 20 }, (_, j) => s.put({ key: b(`k${i + j}`), value: b(`v${i + j}`) })));
    }
    const snaps = fs.readdirSync(path.join(dir, 'member', 'snap')).filter((f) => f.endsWith('.snap'));
    assert.ok(snaps.length >= 1 && snaps.length <= 2, `snap files: ${snaps}`);
    // MemoryStorage was compacted: the first index moved past the bootstrap entries.
    assert.ok(s.r.storage.firstIndex() > 10, `first index ${s.r.storage.firstIndex()}`);
  } finally {
    await s.stop();
  }
  s = await startServer(dir, { snapshotCount: 50, snapshotCatchUpEntries: 10 });
  try {
    const r = await s.range({ key: b('k'), rangeEnd: b('l'), countOnly: true });
    assert.equal(r.count, n);
    const last = await s.range({ key: b(`k${n - 1}`) });
    assert.equal(last.kvs[0]!.value.toString(), `v${n - 1}`);
  } finally {
    await s.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
