// Tests for etcd's metric families (names, types, help, labels, buckets as etcd defines them),
// collectors read on scrape, per-server isolation, and the /metrics handler and listener.

import assert from 'node:assert/strict';
import http from 'node:http';
import type net from 'node:net';
import { describe, it } from 'node:test';
import zlib from 'node:zlib';
import { createEtcdMetrics, type EtcdMetrics } from '../../src/server/metrics.js';
import { MetricsListener, metricsHandler, startMetricsListener } from '../../src/server/metricsHttp.js';

// ---- a small parser of the Prometheus text format ----

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Family {
  help?: string;
  type?: string;
  samples: Sample[];
}

function parse(text: string): Map<string, Family> {
  const fams = new Map<string, Family>();
  const fam = (n: string) => {
    let f = fams.get(n);
    if (!f) fams.set(n, (f = { samples: [] }));
    return f;
  };
  for (const line of text.split('\n')) {
    if (line === '') continue;
    let m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
    if (m) {
      if (m[1] === 'HELP') fam(m[2]!).help = m[3]!.replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
      else fam(m[2]!).type = m[3]!;
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(m, `unparseable line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    const value = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    const name = m[1]!;
    // Histogram series belong to the family without their suffix.
    const base = /_(bucket|sum|count)$/.test(name) && fams.get(name.replace(/_(bucket|sum|count)$/, ''))?.type === 'histogram'
      ? name.replace(/_(bucket|sum|count)$/, '')
      : name;
    fam(base).samples.push({ name, labels, value });
  }
  return fams;
}

async function scrape(m: EtcdMetrics): Promise<Map<string, Family>> {
  return parse(await m.registry.metrics());
}

function value(f: Map<string, Family>, name: string, labels: Record<string, string> = {}): number | undefined {
  const fam = f.get(name) ?? f.get(name.replace(/_(bucket|sum|count)$/, ''));
  assert.ok(fam, `family ${name} missing`);
  const keys = Object.keys(labels);
  const s = fam.samples.find(
    (x) => x.name === name && keys.every((k) => x.labels[k] === labels[k]) && Object.keys(x.labels).length === keys.length,
  );
  return s?.value;
}

/** Upper bounds of a histogram's buckets, without +Inf. */
function bounds(f: Map<string, Family>, name: string): number[] {
  const fam = f.get(name);
  assert.ok(fam, `family ${name} missing`);
  const les = fam.samples.filter((s) => s.name === `${name}_bucket`).map((s) => Number(s.labels.le === '+Inf' ? Infinity : s.labels.le));
  assert.equal(les.at(-1), Infinity, `${name} has a +Inf bucket`);
  return les.slice(0, -1);
}

function exp(start: number, factor: number, count: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < count; i++, start *= factor) out.push(start);
  return out;
}

// ---- expectations, taken from etcd's metrics.go files ----

const EXPECTED: [name: string, type: string, help: string][] = [
  ['etcd_server_has_leader', 'gauge', 'Whether or not a leader exists. 1 is existence, 0 is not.'],
  ['etcd_server_is_leader', 'gauge', 'Whether or not this member is a leader. 1 if is, 0 otherwise.'],
  ['etcd_server_leader_changes_seen_total', 'counter', 'The number of leader changes seen.'],
  ['etcd_server_proposals_committed_total', 'gauge', 'The total number of consensus proposals committed.'],
  ['etcd_server_proposals_applied_total', 'gauge', 'The total number of consensus proposals applied.'],
  ['etcd_server_proposals_pending', 'gauge', 'The current number of pending proposals to commit.'],
  ['etcd_server_proposals_failed_total', 'counter', 'The total number of failed proposals seen.'],
  ['etcd_server_heartbeat_send_failures_total', 'counter', 'The total number of leader heartbeat send failures (likely overloaded from slow disk).'],
  ['etcd_server_slow_apply_total', 'counter', 'The total number of slow apply requests (likely overloaded from slow disk).'],
  ['etcd_server_read_indexes_failed_total', 'counter', 'The total number of failed read indexes seen.'],
  ['etcd_server_quota_backend_bytes', 'gauge', 'Current backend storage quota size in bytes.'],
  ['etcd_server_learner_promote_successes', 'counter', 'The total number of successful learner promotions while this member is leader.'],
  ['etcd_server_learner_promote_failures', 'counter', 'The total number of failed learner promotions (likely learner not ready) while this member is leader.'],
  ['etcd_server_id', 'gauge', "Server or member ID in hexadecimal format. 1 for 'server_id' label with current ID."],
  ['etcd_server_version', 'gauge', "Which version is running. 1 for 'server_version' label with current version."],
  ['etcd_disk_wal_fsync_duration_seconds', 'histogram', 'The latency distributions of fsync called by WAL.'],
  ['etcd_disk_wal_write_bytes_total', 'gauge', 'Total number of bytes written in WAL.'],
  ['etcd_disk_backend_commit_duration_seconds', 'histogram', 'The latency distributions of commit called by backend.'],
  ['etcd_disk_backend_defrag_duration_seconds', 'histogram', 'The latency distribution of backend defragmentation.'],
  ['etcd_disk_backend_snapshot_duration_seconds', 'histogram', 'The latency distribution of backend snapshots.'],
  ['etcd_mvcc_db_total_size_in_bytes', 'gauge', 'Total size of the underlying database physically allocated in bytes.'],
  ['etcd_mvcc_db_total_size_in_use_in_bytes', 'gauge', 'Total size of the underlying database logically in use in bytes.'],
  ['etcd_debugging_mvcc_keys_total', 'gauge', 'Total number of keys.'],
  ['etcd_mvcc_put_total', 'counter', 'Total number of puts seen by this member.'],
  ['etcd_mvcc_delete_total', 'counter', 'Total number of deletes seen by this member.'],
  ['etcd_mvcc_range_total', 'counter', 'Total number of ranges seen by this member.'],
  ['etcd_mvcc_txn_total', 'counter', 'Total number of txns seen by this member.'],
  ['etcd_debugging_mvcc_watcher_total', 'gauge', 'Total number of watchers.'],
  ['etcd_debugging_mvcc_watch_stream_total', 'gauge', 'Total number of watch streams.'],
  ['etcd_network_peer_sent_bytes_total', 'counter', 'The total number of bytes sent to peers.'],
  ['etcd_network_peer_received_bytes_total', 'counter', 'The total number of bytes received from peers.'],
  ['etcd_network_peer_sent_failures_total', 'counter', 'The total number of send failures from peers.'],
  ['etcd_network_peer_round_trip_time_seconds', 'histogram', 'Round-Trip-Time histogram between peers'],
  ['etcd_network_client_grpc_sent_bytes_total', 'counter', 'The total number of bytes sent to grpc clients.'],
  ['etcd_network_client_grpc_received_bytes_total', 'counter', 'The total number of bytes received from grpc clients.'],
  ['etcd_debugging_lease_granted_total', 'counter', 'The total number of granted leases.'],
  ['etcd_debugging_lease_revoked_total', 'counter', 'The total number of revoked leases.'],
  ['etcd_debugging_lease_renewed_total', 'counter', 'The number of renewed leases seen by the leader.'],
  ['grpc_server_started_total', 'counter', 'Total number of RPCs started on the server.'],
  ['grpc_server_handled_total', 'counter', 'Total number of RPCs completed on the server, regardless of success or failure.'],
];

describe('etcd metric families', () => {
  it('exposes etcd names with their types and help texts', async () => {
    const f = await scrape(createEtcdMetrics());
    for (const [name, type, help] of EXPECTED) {
      const fam = f.get(name);
      assert.ok(fam, `${name} missing`);
      assert.equal(fam.type, type, `${name} type`);
      assert.equal(fam.help, help, `${name} help`);
    }
  });

  it('uses etcd bucket layouts', async () => {
    const f = await scrape(createEtcdMetrics());
    const same = (name: string, want: number[]) => {
      const got = bounds(f, name);
      assert.equal(got.length, want.length, `${name} bucket count`);
      got.forEach((b, i) => assert.ok(Math.abs(b - want[i]!) < 1e-12, `${name} bucket ${i}: ${b} vs ${want[i]}`));
    };
    same('etcd_disk_wal_fsync_duration_seconds', exp(0.001, 2, 14));
    assert.equal(bounds(f, 'etcd_disk_wal_fsync_duration_seconds').at(-1), 8.192);
    same('etcd_disk_backend_commit_duration_seconds', exp(0.001, 2, 14));
    same('etcd_disk_backend_defrag_duration_seconds', exp(0.1, 2, 13));
    same('etcd_disk_backend_snapshot_duration_seconds', exp(0.01, 2, 17));
    same('etcd_debugging_lease_ttl_total', exp(1, 2, 24));
    same('etcd_mvcc_hash_duration_seconds', exp(0.01, 2, 15));
    same('etcd_debugging_mvcc_db_compaction_total_duration_milliseconds', exp(100, 2, 14));
    // Buckets print as Go prints them (no float noise such as 0.30000000000000004).
    const text = await createEtcdMetrics({ processMetrics: false }).registry.metrics();
    assert.match(text, /etcd_disk_wal_fsync_duration_seconds_bucket\{le="0\.064"\} 0/);
  });

  it('labels per-peer and per-reason families with etcd label names', async () => {
    const m = createEtcdMetrics({ processMetrics: false });
    m.network.peerSentBytes.labels('8e9e05c52164694d').inc(100);
    m.network.peerReceivedBytes.labels('91bc3c398fb3c146').inc(7);
    m.network.peerSentFailures.labels('91bc3c398fb3c146').inc();
    m.network.peerRoundTripTime.labels('8e9e05c52164694d').observe(0.0003);
    m.server.learnerPromoteFailures.labels('not ready').inc();
    m.server.applyDuration.labels('v3', 'Put', 'true').observe(0.0002);
    const f = await scrape(m);
    assert.equal(value(f, 'etcd_network_peer_sent_bytes_total', { To: '8e9e05c52164694d' }), 100);
    assert.equal(value(f, 'etcd_network_peer_received_bytes_total', { From: '91bc3c398fb3c146' }), 7);
    assert.equal(value(f, 'etcd_network_peer_sent_failures_total', { To: '91bc3c398fb3c146' }), 1);
    assert.equal(value(f, 'etcd_server_learner_promote_failures', { Reason: 'not ready' }), 1);
    assert.equal(value(f, 'etcd_network_peer_round_trip_time_seconds_count', { To: '8e9e05c52164694d' }), 1);
    // 0.0003 falls in le=0.0004, not in le=0.0002
    assert.equal(value(f, 'etcd_network_peer_round_trip_time_seconds_bucket', { To: '8e9e05c52164694d', le: '0.0002' }), 0);
    assert.equal(value(f, 'etcd_network_peer_round_trip_time_seconds_bucket', { To: '8e9e05c52164694d', le: '0.0004' }), 1);
    assert.equal(bounds(f, 'etcd_network_peer_round_trip_time_seconds').length, 16);
    assert.equal(value(f, 'etcd_server_apply_duration_seconds_count', { version: 'v3', op: 'Put', success: 'true' }), 1);
  });

  it('records counters, gauges and histograms', async () => {
    const m = createEtcdMetrics({ processMetrics: false });
    m.server.leaderChanges.inc();
    m.server.leaderChanges.inc();
    m.server.proposalsFailed.inc(3);
    m.mvcc.put.inc();
    m.lease.granted.inc();
    m.lease.ttl.observe(5);
    m.disk.walFsyncDuration.observe(0.003);
    m.disk.walFsyncDuration.observe(10);
    m.server.proposalsPending.set(4);
    m.server.proposalsPending.dec();
    const f = await scrape(m);
    assert.equal(value(f, 'etcd_server_leader_changes_seen_total'), 2);
    assert.equal(value(f, 'etcd_server_proposals_failed_total'), 3);
    assert.equal(value(f, 'etcd_mvcc_put_total'), 1);
    assert.equal(value(f, 'etcd_debugging_lease_granted_total'), 1);
    assert.equal(value(f, 'etcd_server_proposals_pending'), 3);
    assert.equal(value(f, 'etcd_debugging_lease_ttl_total_bucket', { le: '4' }), 0);
    assert.equal(value(f, 'etcd_debugging_lease_ttl_total_bucket', { le: '8' }), 1);
    assert.equal(value(f, 'etcd_disk_wal_fsync_duration_seconds_bucket', { le: '0.002' }), 0);
    assert.equal(value(f, 'etcd_disk_wal_fsync_duration_seconds_bucket', { le: '0.004' }), 1);
    assert.equal(value(f, 'etcd_disk_wal_fsync_duration_seconds_bucket', { le: '8.192' }), 1);
    assert.equal(value(f, 'etcd_disk_wal_fsync_duration_seconds_bucket', { le: '+Inf' }), 2);
    assert.equal(value(f, 'etcd_disk_wal_fsync_duration_seconds_count'), 2);
    assert.ok(Math.abs(value(f, 'etcd_disk_wal_fsync_duration_seconds_sum')! - 10.003) < 1e-9);
  });

  it('reads collectors on every scrape and drops them on undefined', async () => {
    const m = createEtcdMetrics({ processMetrics: false });
    let size = 4096;
    let leader = false;
    m.setServerId(0x8e9e05c52164694dn);
    m.setCollectors({
      hasLeader: () => leader,
      dbTotalSize: () => size,
      walWriteBytes: () => 1234,
      mvccRange: () => 17,
      peerSentBytes: () => [['91bc3c398fb3c146', 50], ['fd422379fda50e48', 60]],
      activePeers: () => [['91bc3c398fb3c146', 1]],
    });
    let f = await scrape(m);
    assert.equal(value(f, 'etcd_server_has_leader'), 0);
    assert.equal(value(f, 'etcd_mvcc_db_total_size_in_bytes'), 4096);
    assert.equal(value(f, 'etcd_disk_wal_write_bytes_total'), 1234);
    assert.equal(value(f, 'etcd_mvcc_range_total'), 17);
    assert.equal(value(f, 'etcd_network_peer_sent_bytes_total', { To: '91bc3c398fb3c146' }), 50);
    assert.equal(value(f, 'etcd_network_peer_sent_bytes_total', { To: 'fd422379fda50e48' }), 60);
    assert.equal(value(f, 'etcd_network_active_peers', { Local: '8e9e05c52164694d', Remote: '91bc3c398fb3c146' }), 1);

    size = 8192;
    leader = true;
    f = await scrape(m);
    assert.equal(value(f, 'etcd_server_has_leader'), 1);
    assert.equal(value(f, 'etcd_mvcc_db_total_size_in_bytes'), 8192);
    // A counter read from a source is not summed across scrapes.
    assert.equal(value(f, 'etcd_mvcc_range_total'), 17);

    m.setCollectors({ dbTotalSize: undefined });
    m.mvcc.dbTotalSize.set(1);
    f = await scrape(m);
    assert.equal(value(f, 'etcd_mvcc_db_total_size_in_bytes'), 1);
  });

  it('sets server id, cluster version and server version labels', async () => {
    const m = createEtcdMetrics({ processMetrics: false, serverVersion: '3.5.9' });
    m.setServerId(0xabcn);
    m.setServerId(0x8e9e05c52164694dn);
    m.setClusterVersion('3.4');
    m.setClusterVersion('3.5');
    const f = await scrape(m);
    assert.deepEqual(f.get('etcd_server_id')!.samples.map((s) => s.labels), [{ server_id: '8e9e05c52164694d' }]);
    assert.equal(value(f, 'etcd_server_id', { server_id: '8e9e05c52164694d' }), 1);
    assert.deepEqual(f.get('etcd_cluster_version')!.samples.map((s) => s.labels), [{ cluster_version: '3.5' }]);
    assert.equal(value(f, 'etcd_server_version', { server_version: '3.5.9' }), 1);
  });

  it('keeps servers in one process apart, sharing process metrics', async () => {
    const a = createEtcdMetrics();
    const b = createEtcdMetrics();
    a.mvcc.put.inc(5);
    const fa = await scrape(a);
    const fb = await scrape(b);
    assert.equal(value(fa, 'etcd_mvcc_put_total'), 5);
    assert.equal(value(fb, 'etcd_mvcc_put_total'), 0);
    for (const f of [fa, fb]) {
      assert.equal(f.get('process_cpu_user_seconds_total')?.type, 'counter');
      assert.ok(f.get('nodejs_heap_size_used_bytes'));
    }
    const none = await scrape(createEtcdMetrics({ processMetrics: false }));
    assert.equal(none.get('process_cpu_user_seconds_total'), undefined);
  });

  it('counts gRPC calls per method and code, all codes present from the start', async () => {
    const m = createEtcdMetrics({ processMetrics: false });
    const range = m.grpc.method('unary', 'etcdserverpb.KV', 'Range');
    const watch = m.grpc.method('bidi_stream', 'etcdserverpb.Watch', 'Watch');
    m.grpc.method('unary', 'etcdserverpb.KV', 'Range').started(); // a second lookup shares the counts
    range.started();
    range.msgReceived();
    range.handled(0);
    range.handled(0);
    range.handled(14);
    watch.started();
    watch.msgSent();
    watch.msgSent();
    range.handlingSeconds(0.01); // ignored without extensive
    const f = await scrape(m);
    const R = { grpc_type: 'unary', grpc_service: 'etcdserverpb.KV', grpc_method: 'Range' };
    const W = { grpc_type: 'bidi_stream', grpc_service: 'etcdserverpb.Watch', grpc_method: 'Watch' };
    assert.equal(value(f, 'grpc_server_started_total', R), 2);
    assert.equal(value(f, 'grpc_server_msg_received_total', R), 1);
    assert.equal(value(f, 'grpc_server_msg_sent_total', W), 2);
    assert.equal(value(f, 'grpc_server_handled_total', { ...R, grpc_code: 'OK' }), 2);
    assert.equal(value(f, 'grpc_server_handled_total', { ...R, grpc_code: 'Unavailable' }), 1);
    assert.equal(value(f, 'grpc_server_handled_total', { ...W, grpc_code: 'Unauthenticated' }), 0);
    assert.equal(f.get('grpc_server_handled_total')!.samples.length, 2 * 17);
    assert.equal(f.get('grpc_server_handling_seconds'), undefined);

    const x = createEtcdMetrics({ processMetrics: false, extensive: true });
    x.grpc.method('unary', 'etcdserverpb.KV', 'Put').handlingSeconds(0.02);
    const fx = await scrape(x);
    assert.equal(fx.get('grpc_server_handling_seconds')?.type, 'histogram');
    const P = { grpc_type: 'unary', grpc_service: 'etcdserverpb.KV', grpc_method: 'Put' };
    assert.equal(value(fx, 'grpc_server_handling_seconds_bucket', { ...P, le: '0.01' }), 0);
    assert.equal(value(fx, 'grpc_server_handling_seconds_bucket', { ...P, le: '0.025' }), 1);
    assert.deepEqual(bounds(fx, 'grpc_server_handling_seconds'), [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]);
  });
});

// ---- HTTP ----

interface Got {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A fresh connection per request unless an agent is given. */
function get(url: string, headers: Record<string, string> = {}, agent: http.Agent | false = false): Promise<Got> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
  });
}

describe('metrics over HTTP', () => {
  it('serves /metrics and /health on a metrics URL and stops cleanly', async () => {
    const m = createEtcdMetrics({ processMetrics: false });
    m.setCollectors({ hasLeader: () => 1 });
    const health = (_req: unknown, res: { writeHead(s: number, h: Record<string, string>): unknown; end(b: string): unknown }) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"health":"true","reason":""}');
    };
    const l = await startMetricsListener(['http://127.0.0.1:0'], metricsHandler(m.registry), health);
    const [u] = l.urls();
    assert.ok(u && u.port !== '0');
    const base = `http://127.0.0.1:${u.port}`;

    const agent = new http.Agent({ keepAlive: true });
    const r = await get(`${base}/metrics`, {}, agent);
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    const f = parse(r.body.toString());
    assert.equal(value(f, 'etcd_server_has_leader'), 1);
    assert.equal(f.get('etcd_disk_wal_fsync_duration_seconds')?.type, 'histogram');

    const z = await get(`${base}/metrics?x=1`, { 'accept-encoding': 'gzip, deflate' });
    assert.equal(z.status, 200);
    assert.equal(z.headers['content-encoding'], 'gzip');
    assert.match(zlib.gunzipSync(z.body).toString(), /^# HELP /m);

    const h = await get(`${base}/health`);
    assert.equal(h.status, 200);
    assert.deepEqual(JSON.parse(h.body.toString()), { health: 'true', reason: '' });

    const nf = await get(`${base}/nope`);
    assert.equal(nf.status, 404);
    assert.equal(nf.body.toString(), '404 page not found\n');

    // The keep-alive connection must not hold stop() up.
    const t0 = Date.now();
    await l.stop();
    assert.ok(Date.now() - t0 < 1000, 'stop waited on an idle connection');
    agent.destroy();
    await assert.rejects(get(`${base}/metrics`), (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED');
    await l.stop(); // idempotent
  });

  it('answers 404 for /health when no health handler is given', async () => {
    const m = createEtcdMetrics({ processMetrics: false });
    const l = await startMetricsListener([new URL('http://127.0.0.1:0')], metricsHandler(m.registry));
    try {
      assert.equal((await get(`http://127.0.0.1:${l.urls()[0]!.port}/health`)).status, 404);
    } finally {
      await l.stop();
    }
  });

  it('reports a failing source as 500', async () => {
    const l = await startMetricsListener(
      ['http://127.0.0.1:0'],
      metricsHandler({ contentType: 'text/plain', metrics: () => Promise.reject(new Error('collector broke')) }),
    );
    try {
      const r = await get(`http://127.0.0.1:${l.urls()[0]!.port}/metrics`);
      assert.equal(r.status, 500);
      assert.match(r.body.toString(), /collector broke/);
    } finally {
      await l.stop();
    }
  });

  it('rejects unusable URLs and releases ports when one bind fails', async () => {
    const h = metricsHandler(createEtcdMetrics({ processMetrics: false }).registry);
    assert.throws(() => new MetricsListener(['https://127.0.0.1:0'], h), /TLS certificate and key are required/);
    assert.throws(() => new MetricsListener(['unix://x.sock'], h), /unsupported metrics URL scheme/);

    const busy = http.createServer();
    await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
    const port = (busy.address() as net.AddressInfo).port;
    try {
      const l = new MetricsListener(['http://127.0.0.1:0', `http://127.0.0.1:${port}`], h);
      await assert.rejects(l.start(), (e: NodeJS.ErrnoException) => e.code === 'EADDRINUSE');
      assert.deepEqual(l.urls(), []);
    } finally {
      await new Promise((r) => busy.close(r));
    }
  });
});
