// Runs the etcd-io/raft datadriven conformance suites under node:test, one test per file, so that
// `npm test` includes them. A file passes when every directive's output matches byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { conformanceDir, listFiles, runSuiteFile, suites } from './run.js';

const root = conformanceDir();

test('conformance data is present', () => {
  assert.ok(fs.existsSync(root), `conformance data not found at ${root} (set TSETCD_CONFORMANCE_DIR)`);
});

for (const suite of await suites()) {
  // Until the interaction harness exists its files are reported as todo rather than hidden.
  const todo = typeof suite.factory === 'function' ? undefined : suite.factory.missing;
  for (const file of listFiles(path.join(root, suite.dir))) {
    const rel = path.relative(root, file);
    test(`conformance ${rel}`, { todo }, () => {
      const r = runSuiteFile(suite, file);
      if (r.failure !== undefined) {
        assert.fail(`${rel}: directive ${r.failure.index} at line ${r.failure.line} failed\n${r.failure.diff}`);
      }
      assert.equal(r.passed, r.total);
      assert.ok(r.total > 0, `${rel} has no directives`);
    });
  }
}
