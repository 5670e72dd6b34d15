// Tests for etcd-compatible flag, environment and config-file parsing and config validation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from '../../src/cli/flags.js';
import { serverConfigFrom } from '../../src/embed/etcd.js';
import type { ServerLogger } from '../../src/server/config.js';
import {
  ConfigError,
  effectiveDataDir,
  effectiveInitialCluster,
  keepaliveOf,
  parseCompactionRetention,
  validateConfig,
} from '../../src/embed/config.js';

function run(argv: string[], env: NodeJS.ProcessEnv = {}) {
  const r = parseArgs(argv, env);
  assert.equal(r.kind, 'run');
  if (r.kind !== 'run') throw new Error('unreachable');
  return r;
}

test('defaults are etcd defaults', () => {
  const { config } = run([]);
  assert.equal(config.name, 'default');
  assert.equal(effectiveDataDir(config), 'default.etcd');
  assert.equal(config.listenClientUrls[0]!.port, '2379');
  assert.equal(config.listenPeerUrls[0]!.port, '2380');
  assert.equal(config.snapshotCount, 100000);
  assert.equal(config.maxTxnOps, 128);
  assert.equal(config.maxRequestBytes, 1572864);
  assert.equal(effectiveInitialCluster(config), 'default=http://localhost:2380');
  validateConfig(config);
});

test('flag forms: --a=b, --a b, -a b, bare bool', () => {
  const { config } = run(['--name=n1', '--data-dir', '/tmp/x', '-snapshot-count', '5', '--pre-vote']);
  assert.equal(config.name, 'n1');
  assert.equal(config.dataDir, '/tmp/x');
  assert.equal(config.snapshotCount, 5);
  assert.equal(config.preVote, true);
  assert.equal(run(['--strict-reconfig-check=false']).config.strictReconfigCheck, false);
});

test('environment variables apply, command-line flags win with a warning', () => {
  const r = run(['--name', 'flag'], { ETCD_NAME: 'env', ETCD_SNAPSHOT_COUNT: '7', ETCD_BOGUS: '1' });
  assert.equal(r.config.name, 'flag');
  assert.equal(r.config.snapshotCount, 7);
  assert.ok(r.warnings.some((w) => w.includes('ETCD_NAME') && w.includes('shadowed')));
  assert.ok(r.warnings.some((w) => w.includes('unrecognized environment variable ETCD_BOGUS')));
});

test('invalid flags and values are clear errors', () => {
  assert.throws(() => parseArgs(['--nope'], {}), /flag provided but not defined: -nope/);
  assert.throws(() => parseArgs(['--snapshot-count', 'abc'], {}), /invalid value "abc" for flag -snapshot-count/);
  assert.throws(() => parseArgs(['--listen-client-urls', 'ftp://x:1'], {}), /URL scheme must be http/);
  assert.throws(() => parseArgs(['--name'], {}), /flag needs an argument: -name/);
  const bad = run(['--election-timeout', '100']).config;
  assert.throws(() => validateConfig(bad), (e: unknown) => e instanceof ConfigError && /at least as 5 times/.test((e as Error).message));
  const state = run(['--initial-cluster-state', 'maybe']).config;
  assert.throws(() => validateConfig(state), /valid values are "new" or "existing"/);
  const missing = run(['--name', 'x', '--initial-cluster', 'y=http://127.0.0.1:1']).config;
  assert.throws(() => validateConfig(missing), /couldn't find local name "x"/);
});

test('help and version', () => {
  assert.equal(parseArgs(['--help'], {}).kind, 'help');
  assert.equal(parseArgs(['--version'], {}).kind, 'version');
});

test('config file replaces flags and env', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsetcd-cfg-'));
  try {
    const f = join(dir, 'etcd.yaml');
    writeFileSync(
      f,
      'name: fromfile\nsnapshot-count: 42\nlisten-client-urls: http://127.0.0.1:12379\n' +
        'pre-vote: true\nclient-transport-security:\n  cert-file: /c.pem\n  client-cert-auth: true\n',
    );
    const { config } = run(['--config-file', f, '--name', 'ignored'], { ETCD_NAME: 'env' });
    assert.equal(config.name, 'fromfile');
    assert.equal(config.snapshotCount, 42);
    assert.equal(config.listenClientUrls[0]!.port, '12379');
    assert.equal(config.preVote, true);
    assert.equal(config.clientSecurity.certFile, '/c.pem');
    assert.equal(config.clientSecurity.clientCertAuth, true);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('auto-compaction retention: hours by default in periodic mode, revisions in revision mode', () => {
  assert.equal(parseCompactionRetention('periodic', '1'), 3600_000);
  assert.equal(parseCompactionRetention('periodic', '30m'), 1800_000);
  assert.equal(parseCompactionRetention('revision', '1000'), 1000);
  assert.throws(() => parseCompactionRetention('periodic', 'soon'), /invalid auto-compaction-retention/);
});

test('--experimental-snapshot-catchup-entries: default 5000, flag, env, config file key, server config', () => {
  const lg = {} as ServerLogger;
  assert.equal(run([]).config.experimentalSnapshotCatchUpEntries, 5000);
  assert.equal(serverConfigFrom(run([]).config, lg).snapshotCatchUpEntries, 5000);
  const flag = run(['--experimental-snapshot-catchup-entries', '1000']).config;
  assert.equal(flag.experimentalSnapshotCatchUpEntries, 1000);
  assert.equal(serverConfigFrom(flag, lg).snapshotCatchUpEntries, 1000);
  assert.equal(run([], { ETCD_EXPERIMENTAL_SNAPSHOT_CATCHUP_ENTRIES: '77' }).config.experimentalSnapshotCatchUpEntries, 77);
  assert.throws(() => parseArgs(['--experimental-snapshot-catchup-entries=-1'], {}), /invalid value "-1" for flag -experimental-snapshot-catchup-entries/);
  const dir = mkdtempSync(join(tmpdir(), 'tsetcd-cfg-'));
  try {
    // etcd's config file spells it with "catch-up" (its JSON tag), unlike the flag.
    const f = join(dir, 'etcd.yaml');
    writeFileSync(f, 'experimental-snapshot-catch-up-entries: 300\n');
    assert.equal(run(['--config-file', f]).config.experimentalSnapshotCatchUpEntries, 300);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--grpc-keepalive-*: etcd defaults, flags, env, YAML nanoseconds, zero keeps grpc defaults, bad values', () => {
  assert.deepEqual(keepaliveOf(run([]).config), { intervalMs: 2 * 3600_000, timeoutMs: 20_000, minPingIntervalMs: 5_000 });
  const flags = run(['--grpc-keepalive-min-time=1s', '--grpc-keepalive-interval', '30s', '--grpc-keepalive-timeout=500ms']).config;
  assert.deepEqual(keepaliveOf(flags), { intervalMs: 30_000, timeoutMs: 500, minPingIntervalMs: 1_000 });
  assert.equal(keepaliveOf(run([], { ETCD_GRPC_KEEPALIVE_INTERVAL: '1m' }).config).intervalMs, 60_000);
  // grpc-go's defaults where etcd passes zero: 2 h / 20 s pings, a 5-minute client ping policy.
  const zero = run(['--grpc-keepalive-min-time=0', '--grpc-keepalive-interval=0s']).config;
  assert.deepEqual(keepaliveOf(zero), { intervalMs: 2 * 3600_000, timeoutMs: 20_000, minPingIntervalMs: 300_000 });
  const bad = run(['--grpc-keepalive-timeout=soon']).config;
  assert.throws(() => validateConfig(bad), /invalid value "soon" for flag -grpc-keepalive-timeout: parse error/);
  const dir = mkdtempSync(join(tmpdir(), 'tsetcd-cfg-'));
  try {
    // etcd's YAML holds time.Duration values as nanoseconds.
    const f = join(dir, 'etcd.yaml');
    writeFileSync(f, 'grpc-keepalive-min-time: 2000000000\ngrpc-keepalive-interval: 10s\n');
    assert.deepEqual(keepaliveOf(run(['--config-file', f]).config), { intervalMs: 10_000, timeoutMs: 20_000, minPingIntervalMs: 2_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
