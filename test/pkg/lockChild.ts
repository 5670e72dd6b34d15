// Child process for the lock tests: takes the lock on a directory, reports "locked", and holds it
// until killed. Usage: node lockChild.js <dir>

import { DirLock } from '../../src/pkg/fileutil.js';

await DirLock.acquire(process.argv[2]!);
process.stdout.write('locked\n');
setInterval(() => {}, 1 << 30);
