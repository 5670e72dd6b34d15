// Tests of the Go duration parser used by the `ttl=` token option.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseGoDuration } from '../../src/pkg/duration.js';

test('parses Go durations into milliseconds', () => {
  assert.equal(parseGoDuration('10m'), 600_000);
  assert.equal(parseGoDuration('1h30m'), 5_400_000);
  assert.equal(parseGoDuration('1.5s'), 1500);
  assert.equal(parseGoDuration('300ms'), 300);
  assert.equal(parseGoDuration('0'), 0);
  assert.equal(parseGoDuration('-2s'), -2000);
  assert.equal(parseGoDuration('.5s'), 500);
  assert.equal(parseGoDuration('1000us'), 1);
  assert.equal(parseGoDuration('1000µs'), 1);
});

test('rejects malformed durations with Go error texts', () => {
  assert.throws(() => parseGoDuration(''), { message: 'time: invalid duration ""' });
  assert.throws(() => parseGoDuration('10'), { message: 'time: missing unit in duration "10"' });
  assert.throws(() => parseGoDuration('5d'), { message: 'time: unknown unit "d" in duration "5d"' });
  assert.throws(() => parseGoDuration('s'), { message: 'time: invalid duration "s"' });
  assert.throws(() => parseGoDuration('.s'), { message: 'time: invalid duration ".s"' });
});
