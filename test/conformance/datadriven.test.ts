// Tests for the datadriven reader: directive-line grammar, block parsing, Go value parsing and
// the run/compare/stop-at-first-failure rules of README §1.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { goParseBool, goParseUint, parseLine, parseText, runFile, scanArgBool, scanArgUint, unifiedDiff } from './datadriven.js';

test('parseLine: bare keys, key=value, lists, quotes', () => {
  assert.deepEqual(parseLine('campaign 1'), { cmd: 'campaign', cmdArgs: [{ key: '1', vals: [] }] });
  assert.deepEqual(parseLine('  committed  '), { cmd: 'committed', cmdArgs: [] });
  assert.deepEqual(parseLine('committed cfg=(1, 2,3) idx=(_,5, 7) cfgj=zero').cmdArgs, [
    { key: 'cfg', vals: ['1', '2', '3'] },
    { key: 'idx', vals: ['_', '5', '7'] },
    { key: 'cfgj', vals: ['zero'] },
  ]);
  assert.deepEqual(parseLine('x voters=(1 2 3)').cmdArgs, [{ key: 'voters', vals: ['1 2 3'] }]);
  assert.deepEqual(parseLine('x a=(f(1,2),3)').cmdArgs, [{ key: 'a', vals: ['f(1,2)', '3'] }]);
  assert.deepEqual(parseLine('x k= j').cmdArgs, [{ key: 'k', vals: [''] }, { key: 'j', vals: [] }]);
  assert.deepEqual(parseLine('propose 1 "foo"').cmdArgs, [{ key: '1', vals: [] }, { key: '"foo"', vals: [] }]);
  assert.throws(() => parseLine('x a=(1,2'), /cannot parse directive at column 3: x a=\(1,2/);
  assert.throws(() => parseLine('   '), /cannot parse directive at column/);
});

test('parseText: comments, input, expected blocks and line numbers', () => {
  const text = [
    '# comment',
    '',
    'simple',
    'v1 v2',
    '  ',
    '----',
    'line one',
    'line two',
    '',
    '# not part of anything',
    'leave-joint',
    '----',
    '----',
    'a',
    '',
    'b',
    '----',
    '----',
    '',
    'last x=1',
    '----',
  ].join('\n');
  const { cases, error } = parseText(text, 'f');
  assert.equal(error, undefined);
  assert.equal(cases.length, 3);
  assert.deepEqual(
    cases.map((c) => [c.line, c.cmd, c.input, c.expected]),
    [
      [3, 'simple', 'v1 v2', 'line one\nline two\n'],
      [11, 'leave-joint', '', 'a\n\nb\n'],
      [20, 'last', '', ''],
    ],
  );
  const bad = parseText('ok\n----\nfine\n\nbad a=(\n----\n', 'f');
  assert.equal(bad.cases.length, 1);
  assert.equal(bad.error?.line, 5);
});

test('Go value parsing', () => {
  assert.equal(goParseUint('18446744073709551615'), (1n << 64n) - 1n);
  assert.equal((goParseUint('x1') as Error).message, 'strconv.ParseUint: parsing "x1": invalid syntax');
  assert.equal((goParseUint('-1') as Error).message, 'strconv.ParseUint: parsing "-1": invalid syntax');
  assert.equal((goParseUint('18446744073709551616') as Error).message, 'strconv.ParseUint: parsing "18446744073709551616": value out of range');
  assert.equal(goParseBool('T'), true);
  assert.equal(goParseBool('0'), false);
  assert.equal((goParseBool('yes') as Error).message, 'strconv.ParseBool: parsing "yes": invalid syntax');
  const tc = { file: 'f', line: 1, cmd: 'c', cmdArgs: parseLine('c n=12 b=true q=zz').cmdArgs, input: '', expected: '' };
  assert.equal(scanArgUint(tc, 'n'), 12);
  assert.equal(scanArgBool(tc, 'b'), true);
  assert.throws(() => scanArgUint(tc, 'q'), /invalid syntax/);
  assert.throws(() => scanArgUint(tc, 'missing'), /missing argument/);
});

test('runFile: appends a final newline, compares exactly, stops at the first failure', () => {
  const dir = fs.mkdtempSync(os.tmpdir() + '/datadriven-');
  try {
    const file = path.join(dir, 'x.txt');
    fs.writeFileSync(file, 'echo a\n----\na\n\necho b\n----\nb\n\necho c\n----\nWRONG\n\necho d\n----\nd\n');
    const seen: string[] = [];
    const r = runFile(file, (tc) => {
      seen.push(tc.cmd + tc.cmdArgs[0].key);
      return tc.cmdArgs[0].key; // no trailing newline: the runner adds one
    });
    assert.deepEqual(seen, ['echoa', 'echob', 'echoc'], 'stops after the failing directive');
    assert.equal(r.total, 4);
    assert.equal(r.passed, 2);
    assert.equal(r.failed, 2);
    assert.equal(r.failure?.index, 3);
    assert.equal(r.failure?.line, 9);
    assert.match(r.failure!.diff, /-WRONG\n\+c\n/);
    const thrown = runFile(file, () => {
      throw new Error('boom');
    });
    assert.equal(thrown.passed, 0);
    assert.match(thrown.failure!.actual, /boom/);
    // Trailing whitespace is significant.
    fs.writeFileSync(file, 'echo a\n----\na\n');
    assert.equal(runFile(file, () => 'a ').failed, 1);
    assert.equal(runFile(file, () => 'a\n').failed, 0);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('unifiedDiff keeps 5 lines of context', () => {
  const exp = Array.from({ length: 20 }, (_, i) => `l${i}`).join('\n') + '\n';
  const act = exp.replace('l10', 'L10');
  const d = unifiedDiff(exp, act);
  assert.match(d, /^--- expected\n\+\+\+ actual\n@@ \.\.\. @@\n l5\n/);
  assert.match(d, /-l10\n\+L10\n l11\n/);
  assert.match(d, / l15\n@@ \.\.\. @@\n$/);
});
