// Output formats of `snapshot status` and the console log lines, against what etcd's tools print.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { consoleLine, rfc3339, spacedJson } from '../../src/etcdutl/log.js';
import { formatStatus, humanizeBytes, renderTable } from '../../src/etcdutl/printer.js';
import { FlagError, parseFlags, type FlagSpec } from '../../src/etcdutl/flags.js';

// Recorded from etcdctl 3.4.23 `snapshot status` on a real etcd snapshot.
const DS = { hash: 3724452919, revision: 4, totalKey: 7, totalSize: 24576 };

test('simple, table, json and fields as etcd prints them', () => {
  assert.equal(formatStatus(DS, 'simple'), 'ddfea437, 4, 7, 25 kB\n');
  assert.equal(
    formatStatus(DS, 'table'),
    [
      '+----------+----------+------------+------------+',
      '|   HASH   | REVISION | TOTAL KEYS | TOTAL SIZE |',
      '+----------+----------+------------+------------+',
      '| ddfea437 |        4 |          7 |      25 kB |',
      '+----------+----------+------------+------------+',
      '',
    ].join('\n'),
  );
  assert.equal(formatStatus(DS, 'json'), '{"hash":3724452919,"revision":4,"totalKey":7,"totalSize":24576}\n');
  assert.equal(formatStatus(DS, 'fields'), '"Hash" : 3724452919\n"Revision" : 4\n"Keys" : 7\n"Size" : 24576\n');
});

test('hash printed as unsigned hex without padding', () => {
  assert.equal(formatStatus({ hash: 0xabc, revision: 1, totalKey: 0, totalSize: 5 }, 'simple'), 'abc, 1, 0, 5 B\n');
  assert.match(formatStatus({ hash: -1, revision: 1, totalKey: 0, totalSize: 5 }, 'json'), /"hash":4294967295/);
});

test('humanizeBytes follows go-humanize (SI, rounding)', () => {
  assert.equal(humanizeBytes(0), '0 B');
  assert.equal(humanizeBytes(9), '9 B');
  assert.equal(humanizeBytes(999), '999 B');
  assert.equal(humanizeBytes(1000), '1.0 kB');
  assert.equal(humanizeBytes(24576), '25 kB');
  assert.equal(humanizeBytes(53248), '53 kB');
  assert.equal(humanizeBytes(1_540_000), '1.5 MB');
  assert.equal(humanizeBytes(2 * 1024 * 1024 * 1024), '2.1 GB');
});

test('table widens columns to the widest cell and centres headers', () => {
  const t = renderTable(['a', 'bb'], [['12345', 'x']]);
  assert.equal(t, '+-------+----+\n|   A   | BB |\n+-------+----+\n| 12345 |  x |\n+-------+----+\n');
});

test('console log lines: RFC 3339, level, caller, message, spaced JSON fields', () => {
  const d = new Date(2024, 0, 2, 3, 4, 5);
  assert.match(rfc3339(d), /^2024-01-02T03:04:05(Z|[+-]\d\d:\d\d)$/);
  assert.equal(spacedJson({ path: 's.db', n: 1, l: ['a', 'b'] }), '{"path": "s.db", "n": 1, "l": ["a", "b"]}');
  const line = consoleLine('info', 'snapshot/restore.ts', 'restoring snapshot', { path: 'x' }, d);
  assert.equal(line, `${rfc3339(d)}\tinfo\tsnapshot/restore.ts\trestoring snapshot\t{"path": "x"}\n`);
  assert.equal(consoleLine('info', 'c', 'm', {}, d), `${rfc3339(d)}\tinfo\tc\tm\n`);
});

test('flags: --k=v, --k v, shorthand, booleans, unknown flags', () => {
  const specs: FlagSpec[] = [
    { name: 'data-dir', kind: 'string', default: '', help: '' },
    { name: 'write-out', short: 'w', kind: 'string', default: 'simple', help: '' },
    { name: 'skip-hash-check', kind: 'bool', default: false, help: '' },
  ];
  const p = parseFlags(['f.db', '--data-dir', 'd', '-w', 'json', '--skip-hash-check'], specs);
  assert.deepEqual(p.args, ['f.db']);
  assert.equal(p.values.get('data-dir'), 'd');
  assert.equal(p.values.get('write-out'), 'json');
  assert.equal(p.values.get('skip-hash-check'), true);
  const q = parseFlags(['--data-dir=x=y', '--skip-hash-check=false', '--', '-not-a-flag'], specs);
  assert.equal(q.values.get('data-dir'), 'x=y');
  assert.equal(q.values.get('skip-hash-check'), false);
  assert.equal(q.values.get('write-out'), 'simple');
  assert.deepEqual(q.args, ['-not-a-flag']);
  assert.throws(() => parseFlags(['--nope'], specs), (e) => e instanceof FlagError && e.message === 'unknown flag: --nope');
  assert.throws(() => parseFlags(['--data-dir'], specs), /flag needs an argument: --data-dir/);
  assert.throws(() => parseFlags(['--skip-hash-check=maybe'], specs), /invalid argument "maybe"/);
});
