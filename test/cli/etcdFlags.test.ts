// Every etcd 3.4 server flag on the tsetcd command line: each parses as a flag and as an ETCD_*
// variable, the new ones have etcd's defaults, YAML keys and value checks, the unsupported ones
// (v2, discovery, proxy) are refused, and the implemented ones reach the server: watch progress
// interval, max concurrent streams, CORS and Host checks, log outputs, --debug, --metrics,
// the slow-apply threshold, lease checkpoints, compaction batches and the election tick advance.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { FLAGS, envName, parseArgs, usage } from '../../src/cli/flags.js';
import { ConfigError, type EtcdConfig, defaultConfig, ignoredFlagWarnings, validateConfig } from '../../src/embed/config.js';
import { serveClients, serverConfigFrom, startEtcd, watchProgressIntervalMs } from '../../src/embed/etcd.js';
import { newLogger } from '../../src/embed/logging.js';
import { codecOf } from '../../src/api/proto/schema.js';
import type { WatchRequest, WatchResponse } from '../../src/api/types.js';
import { silentLogger, type ServerLogger } from '../../src/server/config.js';
import { createEtcdMetrics } from '../../src/server/metrics.js';
import { freePort } from '../support/cluster.js';
import { startApi } from '../api/helpers.js';

/** etcd 3.4.23's flags (its --help), for machines without /usr/bin/etcd. */
const ETCD_34_FLAGS = `name data-dir wal-dir snapshot-count heartbeat-interval election-timeout
initial-election-tick-advance listen-peer-urls listen-client-urls max-snapshots max-wals
quota-backend-bytes backend-batch-interval backend-batch-limit max-txn-ops max-request-bytes
max-concurrent-streams grpc-keepalive-min-time grpc-keepalive-interval grpc-keepalive-timeout
initial-advertise-peer-urls initial-cluster initial-cluster-state initial-cluster-token
advertise-client-urls discovery discovery-fallback discovery-proxy discovery-srv discovery-srv-name
strict-reconfig-check pre-vote auto-compaction-retention auto-compaction-mode enable-v2 cert-file
key-file client-cert-auth client-crl-file client-cert-allowed-hostname trusted-ca-file auto-tls
peer-cert-file peer-key-file peer-client-cert-auth peer-trusted-ca-file peer-cert-allowed-cn
peer-cert-allowed-hostname peer-auto-tls peer-crl-file cipher-suites cors host-whitelist auth-token
bcrypt-cost auth-token-ttl enable-pprof metrics listen-metrics-urls logger log-outputs log-level proxy
proxy-failure-wait proxy-refresh-interval proxy-dial-timeout proxy-write-timeout proxy-read-timeout
experimental-initial-corrupt-check experimental-corrupt-check-time experimental-enable-v2v3
experimental-backend-bbolt-freelist-type experimental-enable-lease-checkpoint
experimental-compaction-batch-limit experimental-peer-skip-client-san-verification
experimental-watch-progress-notify-interval experimental-warning-apply-duration force-new-cluster
debug log-package-levels`.split(/\s+/);

/** The flags of the etcd binary's --help when it is installed, else the list above. */
function etcdFlags(): string[] {
  if (!fs.existsSync('/usr/bin/etcd')) return ETCD_34_FLAGS;
  const r = spawnSync('/usr/bin/etcd', ['--help'], { encoding: 'utf8', timeout: 5000 });
  const names = [...`${r.stdout}${r.stderr}`.matchAll(/^ {2}--([a-z0-9-]+)/gm)].map((m) => m[1]!);
  assert.ok(names.length > 60, 'etcd --help lists its flags');
  return [...new Set(names)];
}

/** A valid value of each kind of flag. */
const SAMPLE: Record<string, string> = {
  string: 'x',
  uint: '7',
  uint32: '7',
  int: '7',
  bool: 'true',
  urls: 'http://127.0.0.1:1',
  duration: '3s',
  set: 'stdout',
  cors: 'http://a.example:80',
};

function sample(name: string): string {
  const f = FLAGS.find((x) => x.name === name)!;
  return f.kind === 'choice' ? f.choices![0]! : SAMPLE[f.kind]!;
}

function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const r = parseArgs(argv, env);
  if (r.kind !== 'run') throw new Error(`not a run: ${r.kind}`);
  return r;
}

function tmp(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tsetcd-flags-'));
}

function fromYaml(text: string): EtcdConfig {
  const dir = tmp();
  try {
    const f = path.join(dir, 'etcd.yaml');
    fs.writeFileSync(f, text);
    return run(['--config-file', f]).config;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('every etcd 3.4 flag is known, parses as a flag and as an ETCD_* variable, and is in --help', () => {
  const help = usage();
  for (const name of etcdFlags()) {
    assert.ok(FLAGS.some((f) => f.name === name), `--${name} is a tsetcd flag`);
    const v = sample(name);
    assert.doesNotThrow(() => run([`--${name}=${v}`]), `--${name}=${v}`);
    const r = run([], { [envName(name)]: v });
    assert.deepEqual(r.warnings.filter((w) => w.includes('unrecognized')), [], `${envName(name)} is recognized`);
    assert.ok(help.includes(`\n  --${name}\n      `), `--${name} in --help`);
  }
});

test('the new flags have etcd 3.4 defaults', () => {
  const c = run([]).config;
  assert.equal(c.initialElectionTickAdvance, true);
  assert.equal(c.maxConcurrentStreams, 4294967295);
  assert.deepEqual(c.cors, ['*']);
  assert.deepEqual(c.hostWhitelist, ['*']);
  assert.equal(c.metrics, 'basic');
  assert.deepEqual(c.logOutputs, ['default']);
  assert.equal(c.debug, false);
  assert.equal(c.logPackageLevels, '');
  assert.equal(c.enablePprof, false);
  assert.equal(c.experimentalBackendBboltFreelistType, 'array');
  assert.equal(c.experimentalPeerSkipClientSanVerification, false);
  assert.equal(c.experimentalEnableLeaseCheckpoint, false);
  assert.equal(c.experimentalCompactionBatchLimit, 1000);
  assert.equal(c.experimentalWatchProgressNotifyIntervalMs, 600_000);
  assert.equal(c.experimentalWarningApplyDurationMs, 100);
  assert.equal(c.enableV2, false);
  assert.equal(c.experimentalEnableV2v3, '');
  assert.equal(c.discovery + c.discoveryProxy + c.discoverySrv + c.discoverySrvName, '');
  assert.equal(c.discoveryFallback, 'proxy');
  assert.equal(c.proxy, 'off');
  assert.deepEqual(
    [c.proxyFailureWaitMs, c.proxyRefreshIntervalMs, c.proxyDialTimeoutMs, c.proxyWriteTimeoutMs, c.proxyReadTimeoutMs],
    [5000, 30000, 1000, 5000, 0],
  );
  validateConfig(c);
  assert.deepEqual(ignoredFlagWarnings(c), []);
  const help = usage();
  assert.ok(help.includes("--max-concurrent-streams\n      Maximum concurrent streams that each client can open at a time. (default '4294967295')"));
  assert.ok(help.includes("--experimental-watch-progress-notify-interval\n      Duration of periodical watch progress notification. (default '10m0s')"));
  assert.ok(help.includes("--experimental-warning-apply-duration\n      Warning is generated if requests take more than this duration. (default '100ms')"));
});

test('flags and ETCD_* variables set the new options', () => {
  const c = run([
    '--initial-election-tick-advance=false',
    '--max-concurrent-streams', '7',
    '--cors=http://b.example:80,http://a.example:80,http://a.example:80',
    '--host-whitelist=z.example,a.example',
    '--metrics=extensive',
    '--log-outputs=stdout,/tmp/x.log,stdout',
    '--debug',
    '--experimental-enable-lease-checkpoint',
    '--experimental-compaction-batch-limit=0x10',
    '--experimental-watch-progress-notify-interval=1m30s',
    '--experimental-warning-apply-duration=250ms',
    '--discovery-fallback=exit',
    '--proxy-dial-timeout=9',
  ]).config;
  assert.equal(c.initialElectionTickAdvance, false);
  assert.equal(c.maxConcurrentStreams, 7);
  // Unique and sorted, as etcd's UniqueURLs / UniqueStrings values.
  assert.deepEqual(c.cors, ['http://a.example:80', 'http://b.example:80']);
  assert.deepEqual(c.hostWhitelist, ['a.example', 'z.example']);
  assert.equal(c.metrics, 'extensive');
  assert.deepEqual(c.logOutputs, ['/tmp/x.log', 'stdout']);
  assert.equal(c.debug, true);
  assert.equal(c.experimentalEnableLeaseCheckpoint, true);
  assert.equal(c.experimentalCompactionBatchLimit, 16);
  assert.equal(c.experimentalWatchProgressNotifyIntervalMs, 90_000);
  assert.equal(c.experimentalWarningApplyDurationMs, 250);
  assert.equal(c.discoveryFallback, 'exit');
  assert.equal(c.proxyDialTimeoutMs, 9);
  validateConfig(c);

  const e = run([], {
    ETCD_MAX_CONCURRENT_STREAMS: '3',
    ETCD_LOG_OUTPUTS: 'stderr',
    ETCD_EXPERIMENTAL_WATCH_PROGRESS_NOTIFY_INTERVAL: '2s',
    ETCD_INITIAL_ELECTION_TICK_ADVANCE: 'false',
    ETCD_HOST_WHITELIST: 'h.example',
    ETCD_EXPERIMENTAL_COMPACTION_BATCH_LIMIT: '-5',
  }).config;
  assert.equal(e.maxConcurrentStreams, 3);
  assert.deepEqual(e.logOutputs, ['stderr']);
  assert.equal(e.experimentalWatchProgressNotifyIntervalMs, 2000);
  assert.equal(e.initialElectionTickAdvance, false);
  assert.deepEqual(e.hostWhitelist, ['h.example']);
  assert.equal(e.experimentalCompactionBatchLimit, -5);
});

test('YAML keys: etcd JSON tags, durations in nanoseconds, lists, PeerTLSInfo.SkipClientSANVerify', () => {
  const c = fromYaml(
    [
      'initial-election-tick-advance: false',
      'max-concurrent-streams: 11',
      'cors: http://a.example:80,http://b.example:81',
      'host-whitelist: a.example,b.example',
      'metrics: extensive',
      'log-outputs: [stdout, stderr]',
      'debug: true',
      'log-package-levels: etcdserver=DEBUG',
      'enable-pprof: true',
      'experimental-backend-bbolt-freelist-type: map',
      'experimental-enable-lease-checkpoint: true',
      'experimental-compaction-batch-limit: 500',
      'experimental-watch-progress-notify-interval: 5000000000',
      'experimental-warning-apply-duration: 200000000',
      'discovery-fallback: exit',
      'proxy-failure-wait: 1',
      'proxy-refresh-interval: 2',
      'proxy-dial-timeout: 3',
      'proxy-write-timeout: 4',
      'proxy-read-timeout: 5',
      'PeerTLSInfo:',
      '  SkipClientSANVerify: true',
    ].join('\n') + '\n',
  );
  assert.equal(c.initialElectionTickAdvance, false);
  assert.equal(c.maxConcurrentStreams, 11);
  assert.deepEqual(c.cors, ['http://a.example:80', 'http://b.example:81']);
  assert.deepEqual(c.hostWhitelist, ['a.example', 'b.example']);
  assert.equal(c.metrics, 'extensive');
  assert.deepEqual(c.logOutputs, ['stderr', 'stdout']);
  assert.equal(c.debug, true);
  assert.equal(c.logPackageLevels, 'etcdserver=DEBUG');
  assert.equal(c.enablePprof, true);
  assert.equal(c.experimentalBackendBboltFreelistType, 'map');
  assert.equal(c.experimentalEnableLeaseCheckpoint, true);
  assert.equal(c.experimentalCompactionBatchLimit, 500);
  assert.equal(c.experimentalWatchProgressNotifyIntervalMs, 5000);
  assert.equal(c.experimentalWarningApplyDurationMs, 200);
  assert.equal(c.discoveryFallback, 'exit');
  assert.deepEqual(
    [c.proxyFailureWaitMs, c.proxyRefreshIntervalMs, c.proxyDialTimeoutMs, c.proxyWriteTimeoutMs, c.proxyReadTimeoutMs],
    [1, 2, 3, 4, 5],
  );
  assert.equal(c.experimentalPeerSkipClientSanVerification, true);
  const warnings = ignoredFlagWarnings(c).join('\n');
  for (const flag of ['--debug', '--log-package-levels', '--enable-pprof', '--experimental-backend-bbolt-freelist-type']) {
    assert.ok(warnings.includes(flag), `a warning for ${flag}`);
  }
  // This one is honoured (the peer listener's SAN check), so it gets no warning.
  assert.ok(!warnings.includes('--experimental-peer-skip-client-san-verification'));
  // The refused ones are read from the file too.
  assert.throws(() => validateConfig(fromYaml('enable-v2: true\n')), /--enable-v2=true: the v2 API is not supported by tsetcd/);
  assert.throws(() => validateConfig(fromYaml('proxy: readonly\n')), /--proxy=readonly: proxy mode is not supported by tsetcd/);
  assert.throws(() => validateConfig(fromYaml('discovery-srv: example.com\n')), /--discovery-srv=example.com: discovery is not supported/);
  assert.throws(() => fromYaml('max-concurrent-streams: 4294967296\n'), /value out of range/);
});

test('bad values: etcd error texts', () => {
  const bad: [string[], RegExp][] = [
    [['--max-concurrent-streams=-1'], /^invalid value "-1" for flag -max-concurrent-streams: strconv\.ParseUint: parsing "-1": invalid syntax$/],
    [['--max-concurrent-streams=4294967296'], /^invalid value "4294967296" for flag -max-concurrent-streams: strconv\.ParseUint: parsing "4294967296": value out of range$/],
    [['--proxy=bogus'], /^invalid value "bogus" for flag -proxy: invalid value$/],
    [['--discovery-fallback=bogus'], /^invalid value "bogus" for flag -discovery-fallback: invalid value$/],
    [['--experimental-compaction-batch-limit=x'], /^invalid value "x" for flag -experimental-compaction-batch-limit: parse error$/],
    [['--experimental-watch-progress-notify-interval=x'], /^invalid value "x" for flag -experimental-watch-progress-notify-interval: parse error$/],
    [['--experimental-warning-apply-duration=5'], /^invalid value "5" for flag -experimental-warning-apply-duration: parse error$/],
    [['--initial-election-tick-advance=maybe'], /^invalid boolean value "maybe" for -initial-election-tick-advance: parse error$/],
    [['--cors=foo'], /^invalid value "foo" for flag -cors: URL scheme must be http, https, unix, or unixs: foo$/],
    [['--cors=http://a.com,*'], /^invalid value "http:\/\/a\.com,\*" for flag -cors: URL address does not have the form "host:port": http:\/\/a\.com$/],
    [['--cors=http://a.com:80/x'], /URL must not contain a path: http:\/\/a\.com:80\/x$/],
    [['--proxy-read-timeout=-1'], /^invalid value "-1" for flag -proxy-read-timeout: parse error$/],
  ];
  for (const [argv, re] of bad) assert.throws(() => parseArgs(argv, {}), (e: unknown) => e instanceof ConfigError && re.test((e as Error).message), argv[0]);
  const check = (argv: string[], re: RegExp) =>
    assert.throws(() => validateConfig(run(argv).config), (e: unknown) => e instanceof ConfigError && re.test((e as Error).message), argv.join(' '));
  check(['--log-outputs=default,stderr'], /^multi logoutput for "default" is not supported yet$/);
  check(['--log-outputs=systemd/journal,stderr'], /^running with systemd\/journal but other '--log-outputs' values \(\["stderr" "systemd\/journal"\]\)/);
  check(['--logger=capnslog', '--log-outputs=stdout,stderr'], /^--logger=capnslog supports only 1 value in '--log-outputs', got \["stderr" "stdout"\]$/);
  check(['--logger=capnslog', '--log-outputs=/tmp/x'], /^unknown log-output "\/tmp\/x"/);
});

test('v2, discovery and proxy settings are refused unless left at their defaults', () => {
  const refused: [string, RegExp][] = [
    ['--enable-v2', /^--enable-v2=true: the v2 API is not supported by tsetcd$/],
    ['--experimental-enable-v2v3=/v2', /^--experimental-enable-v2v3=\/v2: the v2 API is not supported by tsetcd$/],
    ['--discovery=https://discovery.etcd.io/abc', /^--discovery=https:\/\/discovery\.etcd\.io\/abc: discovery is not supported by tsetcd/],
    ['--discovery-srv=example.com', /^--discovery-srv=example\.com: discovery is not supported/],
    ['--discovery-srv-name=x', /^--discovery-srv-name=x: discovery is not supported/],
    ['--discovery-proxy=http://127.0.0.1:3128', /^--discovery-proxy=http:\/\/127\.0\.0\.1:3128: discovery is not supported/],
    ['--proxy=on', /^--proxy=on: proxy mode is not supported by tsetcd$/],
    ['--proxy=readonly', /^--proxy=readonly: proxy mode is not supported by tsetcd$/],
  ];
  for (const [flag, re] of refused) {
    assert.throws(() => validateConfig(run([flag]).config), (e: unknown) => e instanceof ConfigError && re.test((e as Error).message), flag);
  }
  // Explicit defaults and the settings that only matter with a proxy or discovery are accepted.
  validateConfig(run(['--enable-v2=false', '--proxy=off', '--discovery=', '--discovery-fallback=exit', '--proxy-read-timeout=100']).config);
});

test('the main binary exits 1 with the refusal on stderr', () => {
  const bin = new URL('../../../bin/tsetcd', import.meta.url).pathname;
  const r = spawnSync(process.execPath, [bin, '--proxy=on'], { encoding: 'utf8', timeout: 10_000 });
  assert.equal(r.status, 1);
  assert.equal(r.stderr, '--proxy=on: proxy mode is not supported by tsetcd\n');
});

test('server config: tick advance, lease checkpoints, compaction batch limit, warning apply duration, extensive metrics', () => {
  const lg = silentLogger;
  const d = serverConfigFrom(run([]).config, lg);
  assert.equal(d.initialElectionTickAdvance, true);
  assert.equal(d.enableLeaseCheckpoint, false);
  assert.equal(d.compactionBatchLimit, 1000);
  assert.equal(d.warningApplyDurationMs, 100);
  assert.equal(d.metrics, undefined, 'basic metrics: the server creates its own');
  const s = serverConfigFrom(
    run([
      '--initial-election-tick-advance=false',
      '--experimental-enable-lease-checkpoint',
      '--experimental-compaction-batch-limit=50',
      '--experimental-warning-apply-duration=1s',
      '--metrics=extensive',
    ]).config,
    lg,
  );
  assert.equal(s.initialElectionTickAdvance, false);
  assert.equal(s.enableLeaseCheckpoint, true);
  assert.equal(s.compactionBatchLimit, 50);
  assert.equal(s.warningApplyDurationMs, 1000);
  assert.notEqual(s.metrics, undefined);
  // etcd's store takes 0 as its default; a negative limit would never finish a batch.
  assert.equal(serverConfigFrom(run(['--experimental-compaction-batch-limit=0']).config, lg).compactionBatchLimit, 1000);
  assert.equal(serverConfigFrom(run(['--experimental-compaction-batch-limit=-3']).config, lg).compactionBatchLimit, 1000);
});

test('extensive metrics record grpc_server_handling_seconds; basic ones do not', async () => {
  for (const extensive of [false, true]) {
    const m = createEtcdMetrics({ extensive, processMetrics: false });
    const meth = m.grpc.method('unary', 'etcdserverpb.KV', 'Range');
    meth.started();
    meth.handlingSeconds(0.002);
    meth.handled(0);
    const text = await m.registry.metrics();
    assert.equal(text.includes('grpc_server_handling_seconds_bucket'), extensive, `extensive=${extensive}`);
  }
});

test('watch progress interval: etcd default for <= 0, a 100 ms floor', () => {
  const warned: string[] = [];
  const lg: ServerLogger = { ...silentLogger, warn: (_o, m) => warned.push(m) };
  const at = (ms: number) => watchProgressIntervalMs({ ...defaultConfig(), experimentalWatchProgressNotifyIntervalMs: ms }, lg);
  assert.equal(at(600_000), 600_000);
  assert.equal(at(250), 250);
  assert.equal(at(0), 600_000);
  assert.equal(at(-1000), 600_000);
  assert.deepEqual(warned, []);
  assert.equal(at(10), 100);
  assert.deepEqual(warned, ['adjusting watch progress notify interval to minimum period']);
});

/** Waits until `f` returns a truthy value (log lines reach files asynchronously). */
async function eventually<T>(f: () => T, what: string, ms = 3000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('--log-outputs files get JSON lines; --debug logs at debug level; "/dev/null" discards; a bad path is etcd\'s error', async () => {
  const dir = tmp();
  try {
    const a = path.join(dir, 'a.log');
    const b = path.join(dir, 'b.log');
    const lg = newLogger({ level: 'info', outputs: [a, b], debug: true });
    lg.debug({ k: 1 }, 'a debug line');
    lg.info({}, 'an info line');
    for (const f of [a, b]) {
      const lines = await eventually(() => {
        const t = fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '';
        return t.split('\n').filter((l) => l !== '').length >= 2 ? t : '';
      }, f);
      const [d, i] = lines.trim().split('\n').map((l) => JSON.parse(l) as { level: string; msg: string; k?: number; ts: string });
      assert.deepEqual([d!.level, d!.msg, d!.k], ['debug', 'a debug line', 1]);
      assert.deepEqual([i!.level, i!.msg], ['info', 'an info line']);
      assert.match(d!.ts, /^\d{4}-\d\d-\d\dT/);
    }
    // Without --debug, debug lines are dropped at --log-level=info.
    const c = path.join(dir, 'c.log');
    const quiet = newLogger({ level: 'info', outputs: [c] });
    quiet.debug({}, 'hidden');
    quiet.info({}, 'shown');
    const text = await eventually(() => (fs.existsSync(c) ? fs.readFileSync(c, 'utf8') : ''), c);
    assert.ok(!text.includes('hidden'));
    // Files are appended to, not truncated.
    const again = newLogger({ level: 'info', outputs: [c] });
    again.info({}, 'appended');
    await eventually(() => fs.readFileSync(c, 'utf8').includes('appended'), 'append');
    assert.ok(fs.readFileSync(c, 'utf8').includes('shown'));
    // "/dev/null" among the outputs discards everything, as etcd's MergeOutputPaths.
    const d = path.join(dir, 'd.log');
    newLogger({ level: 'info', outputs: [d, '/dev/null'] }).info({}, 'gone');
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(fs.existsSync(d), false);
    const missing = path.join(dir, 'no', 'x.log');
    assert.throws(() => newLogger({ level: 'info', outputs: [missing] }), new RegExp(`^ConfigError: open sink "${missing}": open ${missing}: no such file or directory$`));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

function request(
  port: number,
  p: string,
  headers: http.OutgoingHttpHeaders,
  method = 'GET',
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: p, method, headers, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

const watchReq = codecOf<WatchRequest>('etcdserverpb.WatchRequest');
const watchRes = codecOf<WatchResponse>('etcdserverpb.WatchResponse');
const putReq = codecOf<{ key: Buffer; value: Buffer }>('etcdserverpb.PutRequest');

/** Opens a progress_notify watch and resolves with the first two responses (created, progress). */
function watchTwice(session: http2.ClientHttp2Session): Promise<WatchResponse[]> {
  return new Promise((resolve, reject) => {
    const s = session.request({ ':method': 'POST', ':path': '/etcdserverpb.Watch/Watch', 'content-type': 'application/grpc', te: 'trailers' });
    const got: WatchResponse[] = [];
    let buf = Buffer.alloc(0);
    const timer = setTimeout(() => {
      s.close();
      reject(new Error(`only ${got.length} watch responses in 3 s`));
    }, 3000);
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      while (buf.length >= 5 && buf.length >= 5 + buf.readUInt32BE(1)) {
        const n = buf.readUInt32BE(1);
        got.push(watchRes.decode(buf.subarray(5, 5 + n)));
        buf = buf.subarray(5 + n);
      }
      if (got.length >= 2) {
        clearTimeout(timer);
        s.close();
        resolve(got);
      }
    });
    s.on('error', reject);
    s.write(
      watchReq.encodeFrame({
        createRequest: { key: Buffer.from('idle'), rangeEnd: Buffer.alloc(0), startRevision: 0, progressNotify: true, filters: [], prevKv: false, watchId: 0, fragment: false },
      }),
    );
  });
}

test('a member started from flags: log file, warning apply duration, progress interval, streams, CORS, Host whitelist, extensive metrics, no lease checkpoints', async () => {
  const dir = tmp();
  const log = path.join(dir, 'etcd.log');
  const port = await freePort();
  const pport = await freePort();
  const cfg = run([
    `--data-dir=${path.join(dir, 'data')}`,
    `--listen-client-urls=http://127.0.0.1:${port}`,
    `--advertise-client-urls=http://127.0.0.1:${port}`,
    `--listen-peer-urls=http://127.0.0.1:${pport}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${pport}`,
    `--initial-cluster=default=http://127.0.0.1:${pport}`,
    '--heartbeat-interval=20',
    '--election-timeout=200',
    `--log-outputs=${log}`,
    '--experimental-warning-apply-duration=1ns',
    '--experimental-watch-progress-notify-interval=100ms',
    '--max-concurrent-streams=7',
    '--cors=http://ok.example:80',
    '--host-whitelist=good.example',
    '--metrics=extensive',
    '--enable-pprof',
  ]).config;
  validateConfig(cfg);
  const etcd = await startEtcd(cfg, { serveClients, server: { unsafeNoFsync: true } });
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on('error', () => {});
  try {
    // The member leads alone, then a Put is applied (slower than 1 ns: a warning).
    await eventually(() => etcd.server.isLeader(), 'leadership');
    const put = await new Promise<number>((resolve, reject) => {
      const s = session.request({ ':method': 'POST', ':path': '/etcdserverpb.KV/Put', 'content-type': 'application/grpc', te: 'trailers' });
      s.on('trailers', (t) => resolve(Number(t['grpc-status'])));
      s.on('error', reject);
      s.resume();
      s.end(putReq.encodeFrame({ key: Buffer.from('k'), value: Buffer.from('v') }));
    });
    assert.equal(put, 0);

    // --max-concurrent-streams is the connection's SETTINGS_MAX_CONCURRENT_STREAMS.
    assert.equal(session.remoteSettings.maxConcurrentStreams, 7);

    // --experimental-watch-progress-notify-interval=100ms: an idle watcher hears progress soon.
    const t0 = Date.now();
    const [created, progress] = await watchTwice(session);
    assert.equal(created!.created, true);
    assert.equal(progress!.events.length, 0);
    assert.equal(progress!.watchId, created!.watchId);
    assert.ok(Date.now() - t0 < 2000, 'progress within 2 s (the default is 10 minutes)');

    // --host-whitelist: other Host names are refused with etcd's 421 on a plaintext connection.
    const refused = await request(port, '/version', { host: `evil.example:${port}` });
    assert.equal(refused.status, 421);
    assert.equal(refused.headers['content-type'], 'text/plain; charset=utf-8');
    // etcd 3.4.23's body, byte for byte.
    assert.equal(
      refused.body,
      '\netcd received your request, but the Host header was unrecognized.\n\nTo fix this, choose one of the following options:\n' +
        '- Enable TLS, then any HTTPS request will be allowed.\n- Add the hostname you want to use to the whitelist in settings.\n' +
        '  - e.g. etcd --host-whitelist "evil.example"\n\nThis requirement has been added to help prevent "DNS Rebinding" attacks (CVE-2018-5702).\n\n',
    );
    assert.equal(refused.headers['access-control-allow-origin'], undefined);
    // --cors: the allowed origin is echoed; others get no CORS headers.
    const ok = await request(port, '/version', { host: `good.example:${port}`, origin: 'http://ok.example:80' });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers['access-control-allow-origin'], 'http://ok.example:80');
    const other = await request(port, '/version', { host: 'good.example', origin: 'http://other.example' });
    assert.equal(other.status, 200);
    assert.equal(other.headers['access-control-allow-origin'], undefined);
    // The same check on HTTP/2 (h2c) reads :authority.
    const h2status = (authority: string) =>
      new Promise<number>((resolve, reject) => {
        const r = session.request({ ':path': '/version', ':authority': authority });
        r.on('response', (h) => resolve(Number(h[':status'])));
        r.on('error', reject);
        r.resume();
      });
    assert.equal(await h2status('evil.example'), 421);
    assert.equal(await h2status(`good.example:${port}`), 200);
    const preflight = await request(port, '/version', { host: 'good.example' }, 'OPTIONS');
    assert.equal(preflight.status, 200);

    // --metrics=extensive: handling-time histograms; the 1 ns threshold counts the Put as slow.
    const metrics = await request(port, '/metrics', { host: 'good.example' });
    assert.match(metrics.body, /grpc_server_handling_seconds_bucket\{[^}]*grpc_method="Put"/);
    assert.match(metrics.body, /etcd_server_slow_apply_total [1-9]/);

    // Lease checkpoints are off unless --experimental-enable-lease-checkpoint (etcd 3.4).
    assert.equal((etcd.server.lessor as unknown as { cp: unknown }).cp, null);
  } finally {
    session.destroy();
    await etcd.close();
  }
  try {
    const lines = await eventually(() => {
      const t = fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
      return t.includes('closed etcd server') ? t : '';
    }, 'the log file');
    const entries = lines.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.ok(entries.some((e) => e['msg'] === 'starting an etcd server'));
    assert.ok(entries.some((e) => e['msg'] === '--enable-pprof is set; tsetcd has no pprof endpoints and ignores it' && e['level'] === 'warn'));
    assert.ok(
      entries.some((e) => e['msg'] === 'rejecting HTTP request to prevent DNS rebinding attacks' && e['host'] === 'evil.example'),
      'the refused Host is logged',
    );
    const slow = entries.find((e) => e['msg'] === 'apply request took too long' && e['request'] === 'Put');
    assert.ok(slow !== undefined, 'a slow-apply warning');
    assert.equal(slow['expected-duration'], '1ns');
    assert.match(String(slow['took']), /^\d+(\.\d+)?(µs|ms|s)$/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('lease checkpoints are proposed only with --experimental-enable-lease-checkpoint', async () => {
  const dir = tmp();
  const port = await freePort();
  const pport = await freePort();
  const cfg = run([
    `--data-dir=${path.join(dir, 'data')}`,
    `--listen-peer-urls=http://127.0.0.1:${pport}`,
    `--initial-advertise-peer-urls=http://127.0.0.1:${pport}`,
    `--initial-cluster=default=http://127.0.0.1:${pport}`,
    `--advertise-client-urls=http://127.0.0.1:${port}`,
    '--experimental-enable-lease-checkpoint',
  ]).config;
  const etcd = await startEtcd(cfg, { logger: silentLogger, server: { unsafeNoFsync: true } });
  try {
    assert.equal(typeof (etcd.server.lessor as unknown as { cp: unknown }).cp, 'function');
  } finally {
    await etcd.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('etcd 3.4 flags left out of its usage text: --log-output, --enable-grpc-gateway (off: /v3/ is a 404)', async () => {
  assert.deepEqual(run(['--log-output=stdout']).config.logOutputs, ['stdout']);
  assert.equal(run([]).config.enableGrpcGateway, true);
  assert.equal(run(['--enable-grpc-gateway=false']).config.enableGrpcGateway, false);
  assert.ok(!usage().includes('--enable-grpc-gateway'), 'hidden from --help, as in etcd');
  for (const gateway of [true, false]) {
    const { api, port } = await startApi({ gateway });
    try {
      const status = await new Promise<number>((resolve, reject) => {
        const req = http.request({ host: '127.0.0.1', port, path: '/v3/kv/range', method: 'POST', agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end(JSON.stringify({ key: 'YQ==' }));
      });
      assert.equal(status, gateway ? 200 : 404);
    } finally {
      await api.stop();
    }
  }
});
