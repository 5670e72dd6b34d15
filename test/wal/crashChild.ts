// Child process for the crash test: appends batches to a WAL and reports each acknowledged (synced)
// last index on stdout until it is killed. Usage: node crashChild.js <dir>

import { WAL } from '../../src/wal/index.js';
import { makeEntries } from './helpers.js';

const dir = process.argv[2]!;
const w = await WAL.create(dir, Buffer.from('crash-test'), { segmentSize: 64 * 1024 });
let next = 1;
for (;;) {
  const batch = makeEntries(next, next + 9, 1, 256);
  await w.save({ term: 1, vote: 1n, commit: next - 1 }, batch);
  next += 10;
  process.stdout.write(`${next - 1}\n`);
}
