// Tests for the load tool: command-line parsing, request encoding, statistics and etcd's summary
// format, and (when /usr/bin/etcd is installed) short runs against a real etcd member, including
// the tsetcd-benchmark executable end to end.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { UsageError, parseBenchmarkArgs } from '../../src/cli/benchmark/args.js';
import { GrpcConn } from '../../src/cli/benchmark/grpcConn.js';
import { parseEndpoint } from '../../src/cli/benchmark/endpoint.js';
import { drive, openConns, runLoad } from '../../src/cli/benchmark/load.js';
import { startMember } from '../../src/cli/benchmark/member.js';
import { computeStats, formatReport, goG, percentile } from '../../src/cli/benchmark/report.js';
import {
  KV_PUT,
  KV_RANGE,
  encodePut,
  encodeRange,
  putGenerator,
  writeKeyNumber,
  zigzagVarintLen,
} from '../../src/cli/benchmark/requests.js';

const ETCD = '/usr/bin/etcd';
const BIN = fileURLToPath(new URL('../../../bin/tsetcd-benchmark', import.meta.url));

test('parse: defaults follow etcd benchmark', () => {
  const c = parseBenchmarkArgs(['put']);
  assert.equal(c.kind, 'put');
  if (c.kind !== 'put') return;
  assert.deepEqual(c.common.endpoints, [{ host: '127.0.0.1', port: 2379 }]);
  assert.equal(c.common.conns, 1);
  assert.equal(c.common.clients, 1);
  assert.equal(c.common.precise, false);
  assert.deepEqual(c.put, { total: 10000, keySize: 8, valSize: 8, keySpaceSize: 1, sequentialKeys: false });
  const r = parseBenchmarkArgs(['range', 'foo']);
  assert.equal(r.kind, 'range');
  if (r.kind !== 'range') return;
  assert.deepEqual(r.range, { total: 10000, key: 'foo', end: '', consistency: 'l' });
});

test('parse: global flags before or after the command, --a=b and --a b, bare booleans', () => {
  const c = parseBenchmarkArgs([
    '--endpoints=http://127.0.0.1:1,10.0.0.2:2', '--conns', '10', 'put', '--clients=100', '--total', '50000',
    '--key-size', '8', '--val-size=256', '--key-space-size', '100000', '--sequential-keys', '--precise',
  ]);
  assert.equal(c.kind, 'put');
  if (c.kind !== 'put') return;
  assert.deepEqual(c.common.endpoints, [{ host: '127.0.0.1', port: 1 }, { host: '10.0.0.2', port: 2 }]);
  assert.equal(c.common.conns, 10);
  assert.equal(c.common.clients, 100);
  assert.equal(c.common.precise, true);
  assert.deepEqual(c.put, { total: 50000, keySize: 8, valSize: 256, keySpaceSize: 100000, sequentialKeys: true });
  const off = parseBenchmarkArgs(['put', '--sequential-keys=false']);
  assert.ok(off.kind === 'put' && off.put.sequentialKeys === false);
  const r = parseBenchmarkArgs(['range', 'a', 'b', '--consistency', 's', '--total=5', '--dial-timeout', '2s']);
  assert.ok(r.kind === 'range');
  if (r.kind !== 'range') return;
  assert.deepEqual(r.range, { total: 5, key: 'a', end: 'b', consistency: 's' });
  assert.equal(r.common.dialTimeoutMs, 2000);
});

test('parse: errors and help', () => {
  const bad: Array<[string[], RegExp]> = [
    [[], /a command is required/],
    [['get'], /unknown command "get"/],
    [['put', '--consistency', 'l'], /unknown flag: --consistency/],
    [['range', 'k', '--key-size', '3'], /unknown flag: --key-size/],
    [['put', '--total'], /flag needs an argument: --total/],
    [['put', '--total', 'x'], /invalid argument "x" for "--total"/],
    [['put', '--clients', '0'], /--clients must be at least 1/],
    [['put', '--key-size', '1', '--key-space-size', '100'], /--key-size 1 is too small for --key-space-size 100/],
    [['range'], /range needs a key/],
    [['range', 'a', 'b', 'c'], /range needs a key/],
    [['range', 'k', '--consistency', 'x'], /--consistency must be l/],
    [['put', '--endpoints', 'https://h:1'], /only http:\/\//],
    [['put', '--endpoints', 'nohost'], /expected host:port/],
    [['put', 'extra'], /unexpected argument "extra"/],
  ];
  for (const [argv, re] of bad) assert.throws(() => parseBenchmarkArgs(argv), (e: unknown) => e instanceof UsageError && re.test(e.message), argv.join(' '));
  const h = parseBenchmarkArgs(['put', '--help']);
  assert.ok(h.kind === 'help' && h.text.includes('--key-space-size') && h.text.includes('--endpoints'));
});

test('endpoints: IPv6 brackets and paths', () => {
  assert.deepEqual(parseEndpoint('[::1]:2379'), { host: '::1', port: 2379 });
  assert.deepEqual(parseEndpoint('http://localhost:2379/'), { host: 'localhost', port: 2379 });
  assert.throws(() => parseEndpoint('h:70000'), /bad port/);
});

test('requests: PutRequest / RangeRequest bytes and etcd 3.4 key numbering', () => {
  assert.deepEqual([...encodePut(Buffer.from('k'), Buffer.from('vv'))], [0x0a, 1, 0x6b, 0x12, 2, 0x76, 0x76]);
  assert.deepEqual([...encodeRange(Buffer.from('a'), Buffer.from('b'), true)], [0x0a, 1, 0x61, 0x12, 1, 0x62, 0x38, 1]);
  assert.deepEqual([...encodeRange(Buffer.from('a'), Buffer.alloc(0), false)], [0x0a, 1, 0x61]);
  const k = new Uint8Array(8);
  writeKeyNumber(k, 1); // Go binary.PutVarint(k, 1) = zig-zag 2
  assert.deepEqual([...k], [2, 0, 0, 0, 0, 0, 0, 0]);
  writeKeyNumber(k, 300); // zig-zag 600 = 0xd8 0x04
  assert.deepEqual([...k], [0xd8, 0x04, 0, 0, 0, 0, 0, 0]);
  assert.equal(zigzagVarintLen(63), 1);
  assert.equal(zigzagVarintLen(64), 2);
  const gen = putGenerator({ keySize: 8, valSize: 3, keySpaceSize: 2, sequentialKeys: true }, Uint8Array.of(7, 8, 9));
  assert.deepEqual([...gen(0)], [0x0a, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0x12, 3, 7, 8, 9]);
  assert.deepEqual([...gen(3)].slice(2, 4), [2, 0]); // 3 % 2 = key number 1
  const rnd = putGenerator({ keySize: 8, valSize: 0, keySpaceSize: 5, sequentialKeys: false });
  for (let i = 0; i < 100; i++) assert.ok(rnd(i)[2]! <= 8); // zig-zag of 0..4
});

test('statistics: etcd percentile rule, average, stddev, rps', () => {
  const lats = Float64Array.from({ length: 100 }, (_, i) => (100 - i) / 1000);
  const s = computeStats(lats, 2);
  assert.equal(s.fastest, 0.001);
  assert.equal(s.slowest, 0.1);
  assert.ok(Math.abs(s.average - 0.0505) < 1e-12);
  assert.ok(Math.abs(s.stddev - Math.sqrt(833.25) / 1000) < 1e-12);
  assert.equal(s.rps, 50);
  // index ceil(p*(n+1)/100)-1 over the sorted latencies
  assert.equal(percentile(s.lats, 50), 0.051);
  assert.equal(percentile(s.lats, 99), 0.1);
  assert.equal(percentile(s.lats, 10), 0.011);
  assert.equal(percentile(s.lats, 99.9), 0.1);
  assert.equal(percentile(new Float64Array(0), 50), 0);
});

test('summary: the text etcd benchmark prints', () => {
  const s = computeStats(Float64Array.of(0.004, 0.001, 0.003, 0.002), 1, new Map([['rpc error: code = Unavailable desc = x', 2]]));
  const bar = '∎'.repeat(40);
  const expected = [
    '',
    'Summary:',
    '  Total:\t1.0000 secs.',
    '  Slowest:\t0.0040 secs.',
    '  Fastest:\t0.0010 secs.',
    '  Average:\t0.0025 secs.',
    '  Stddev:\t0.0011 secs.',
    '  Requests/sec:\t4.0000',
    '',
    'Response time histogram:',
    `  0.0010 [1]\t|${bar}`,
    '  0.0013 [0]\t|',
    '  0.0016 [0]\t|',
    '  0.0019 [0]\t|',
    `  0.0022 [1]\t|${bar}`,
    '  0.0025 [0]\t|',
    '  0.0028 [0]\t|',
    `  0.0031 [1]\t|${bar}`,
    '  0.0034 [0]\t|',
    '  0.0037 [0]\t|',
    `  0.0040 [1]\t|${bar}`,
    '',
    'Latency distribution:',
    '  10% in 1.000 ms.',
    '  25% in 2.000 ms.',
    '  50% in 3.000 ms.',
    '  75% in 4.000 ms.',
    '  90% in 4.000 ms.',
    '  95% in 4.000 ms.',
    '  99% in 4.000 ms.',
    '  99.9% in 4.000 ms.',
    '',
    'Error distribution:',
    '  [2]\trpc error: code = Unavailable desc = x',
    '',
  ].join('\n');
  assert.equal(formatReport(s), expected);
  assert.match(formatReport(s, true), /\n {2}Total:\t1 secs\.\n {2}Slowest:\t0\.004 secs\./);
  // No successful request: only the errors.
  assert.equal(formatReport(computeStats(new Float64Array(0), 1, new Map([['e', 1]]))), '\nError distribution:\n  [1]\te\n');
});

test("goG formats like Go's %g", () => {
  assert.equal(goG(1), '1');
  assert.equal(goG(0.0001), '0.0001');
  assert.equal(goG(0.00001234), '1.234e-05');
  assert.equal(goG(12345.5), '12345.5');
  assert.equal(goG(1234567), '1.234567e+06');
  assert.equal(goG(0), '0');
});

const noEtcd = existsSync(ETCD) ? false : `${ETCD} not installed (apt-get install etcd-server); CI has only etcd-client`;

test('against real etcd: put and range loads, and the executable', { skip: noEtcd, timeout: 30000 }, async () => {
  const m = await startMember({ label: 'etcd', command: ETCD });
  try {
    const put = await runLoad({
      endpoints: [m.endpoint],
      conns: 2,
      clients: 10,
      total: 200,
      method: KV_PUT,
      request: putGenerator({ keySize: 8, valSize: 256, keySpaceSize: 200, sequentialKeys: true }),
    });
    assert.equal(put.errors.size, 0, [...put.errors.keys()].join('; '));
    assert.equal(put.lats.length, 200);
    assert.ok(put.rps > 0 && put.fastest > 0 && put.slowest >= put.fastest);

    // Every key number 0..199 exists once: a range over all 8-byte keys counts 200.
    const conns = await openConns([m.endpoint], 1);
    try {
      const all = encodeRange(Buffer.from([0]), Buffer.from([0]), true); // key >= "\0" with range_end "\0"
      const body = await new Promise<Buffer>((resolve, reject) =>
        conns[0]!.unary(conns[0]!.method(KV_RANGE), all, (e, b) => (e ? reject(e) : resolve(Buffer.from(b!)))),
      );
      assert.equal(rangeCount(body), 200);
      const key0 = new Uint8Array(8);
      for (const serializable of [false, true]) {
        const msg = encodeRange(key0, new Uint8Array(0), serializable);
        const r = await drive(conns, { clients: 10, total: 100, method: KV_RANGE, request: () => msg });
        assert.equal(r.errors.size, 0);
        assert.equal(r.lats.length, 100);
      }
      // A server-side error is counted per message, not thrown.
      const bad = await drive(conns, { clients: 2, total: 4, method: '/etcdserverpb.KV/NoSuchMethod', request: () => msg0 });
      assert.equal(bad.lats.length, 0);
      assert.equal([...bad.errors.values()].reduce((a, b) => a + b, 0), 4);
      assert.match([...bad.errors.keys()][0]!, /^rpc error: code = Unimplemented/);
    } finally {
      for (const c of conns) c.close();
    }

    const out = await new Promise<string>((resolve, reject) =>
      execFile(
        process.execPath,
        [BIN, '--endpoints', `${m.endpoint.host}:${m.endpoint.port}`, '--clients', '5', 'range', 'x', '--consistency', 's', '--total', '50'],
        (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)),
      ),
    );
    assert.match(out, /^bench with serializable range\n\nSummary:\n {2}Total:\t\d+\.\d{4} secs\./);
    assert.match(out, /Requests\/sec:\t\d+\.\d{4}\n/);
    assert.match(out, /Latency distribution:\n {2}10% in \d+\.\d{3} ms\./);
  } finally {
    await m.stop();
  }
});

const msg0 = new Uint8Array(0);

/** RangeResponse.count (field 4) from the encoded response. */
function rangeCount(b: Buffer): number {
  let p = 0;
  const varint = (): number => {
    let v = 0;
    let m = 1;
    for (;;) {
      const x = b[p++]!;
      v += (x & 0x7f) * m;
      m *= 128;
      if (!(x & 0x80)) return v;
    }
  };
  let count = 0;
  while (p < b.length) {
    const tag = varint();
    const wt = tag & 7;
    if (wt === 0) {
      const v = varint();
      if (tag >> 3 === 4) count = v;
    } else if (wt === 2) {
      const len = varint(); // read before adding: varint() moves p
      p += len;
    }
    else throw new Error(`unexpected wire type ${wt}`);
  }
  return count;
}

test('the executable reports a clear error when nothing listens', { timeout: 10000 }, async () => {
  const r = await new Promise<{ code: number | null; stderr: string }>((resolve) =>
    execFile(process.execPath, [BIN, '--endpoints', '127.0.0.1:1', 'put', '--total', '1'], (err, _o, stderr) =>
      resolve({ code: err ? (err as { code?: number }).code ?? 1 : 0, stderr }),
    ),
  );
  assert.equal(r.code, 1);
  assert.match(r.stderr, /cannot connect to 127\.0\.0\.1:1/);
});

test('connecting fails clearly when the peer closes instead of speaking HTTP/2', async () => {
  const server = await import('node:net').then((n) => n.createServer((s) => s.destroy()));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as import('node:net').AddressInfo).port;
  await assert.rejects(GrpcConn.connect({ host: '127.0.0.1', port, timeoutMs: 2000 }), /closed before HTTP\/2 settings|cannot connect/);
  await new Promise<void>((r) => server.close(() => r()));
});

test('a member that exits or never answers is reported with its output', { timeout: 10000 }, async () => {
  await assert.rejects(
    startMember({ label: 'fake', command: process.execPath, prefixArgs: ['-e', 'console.error("boom: bad flag"); process.exit(3)', '--'] }),
    /fake exited during start-up \(code 3\); its last output:\nboom: bad flag/,
  );
  await assert.rejects(
    startMember({ label: 'mute', command: process.execPath, prefixArgs: ['-e', 'console.log("starting"); setTimeout(() => {}, 60000)', '--'], readyTimeoutMs: 400 }),
    /mute did not answer a Range on http:\/\/127\.0\.0\.1:\d+ within 400 ms \(last error: cannot connect[^)]*\); its last output:\nstarting/,
  );
});
