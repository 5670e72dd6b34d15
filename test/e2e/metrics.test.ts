// End-to-end: /metrics of a running member, on the client port and on --listen-metrics-urls.
// Starts one member (tsetcd, or real etcd with E2E_SERVER=etcd so the same assertions check that
// the names are etcd's), writes keys with etcdctl, scrapes both ports, parses the Prometheus text
// format and checks the leader gauges, raft proposal counters, WAL and backend sync histograms,
// db size, per-method gRPC counters and lease counters.

import assert from 'node:assert/strict';
import * as http from 'node:http';
import { after, describe, test } from 'node:test';
import { Cluster, freePort, waitUntil, withCluster } from '../support/cluster.js';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the Prometheus text exposition format (comments skipped, label order irrelevant). */
function parseMetrics(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/.exec(line);
    assert.ok(m, `unparseable metrics line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    out.push({ name: m[1], labels, value: Number(m[3]) });
  }
  return out;
}

class Scrape {
  constructor(readonly samples: Sample[]) {}

  /** The value of the one sample of `name` whose labels include `labels`; fails if absent. */
  value(name: string, labels: Record<string, string> = {}): number {
    const hits = this.samples.filter(
      (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
    );
    assert.equal(hits.length, 1, `${name}${JSON.stringify(labels)}: expected one sample, found ${hits.length}`);
    return hits[0].value;
  }

  names(): Set<string> {
    return new Set(this.samples.map((s) => s.name));
  }
}

function get(port: number, path: string): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, timeout: 5000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (b: string) => (body += b));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`GET ${path} on ${port} timed out`)));
    req.on('error', reject);
  });
}

async function scrape(port: number): Promise<Scrape> {
  const r = await get(port, '/metrics');
  assert.equal(r.status, 200, r.body);
  assert.match(r.type, /^text\/plain; version=0\.0\.4/);
  return new Scrape(parseMetrics(r.body));
}

const PUT = { grpc_service: 'etcdserverpb.KV', grpc_method: 'Put', grpc_type: 'unary' };
const PUTS = 5;

describe('metrics', () => {
  after(() => Cluster.stopEverything());

  test('client port and --listen-metrics-urls serve etcd metrics that track writes', async () => {
    const metricsPort = await freePort();
    await withCluster({ extraFlags: [`--listen-metrics-urls=http://127.0.0.1:${metricsPort}`] }, async (c) => {
      const clientPort = c.members[0].clientPort;
      const before = await scrape(metricsPort);
      const committed0 = before.value('etcd_server_proposals_committed_total');
      const applied0 = before.value('etcd_server_proposals_applied_total');
      const puts0 = before.value('grpc_server_handled_total', { ...PUT, grpc_code: 'OK' });
      const mvccPuts0 = before.value('etcd_mvcc_put_total');

      for (let i = 0; i < PUTS; i++) {
        const r = await c.etcdctl(['put', `metrics/k${i}`, `v${i}`]);
        assert.equal(r.code, 0, r.stderr);
      }
      const lease = await c.etcdctl(['lease', 'grant', '60']);
      assert.equal(lease.code, 0, lease.stderr);

      for (const port of [metricsPort, clientPort]) {
        // Backend commits are batched (every 100 ms by default): wait for the first one.
        const s = await waitUntil(
          async () => {
            const x = await scrape(port);
            return x.value('etcd_disk_backend_commit_duration_seconds_count') > 0 && x;
          },
          5000,
          () => `no backend commit recorded on port ${port}`,
        );
        const where = `port ${port}`;
        assert.equal(s.value('etcd_server_has_leader'), 1, where);
        assert.equal(s.value('etcd_server_is_leader'), 1, where);
        assert.ok(s.value('etcd_server_leader_changes_seen_total') >= 1, where);
        const committed = s.value('etcd_server_proposals_committed_total');
        assert.ok(committed >= committed0 + PUTS + 1, `${where}: committed ${committed0} -> ${committed}`);
        assert.ok(s.value('etcd_server_proposals_applied_total') >= applied0 + PUTS + 1, where);
        assert.equal(s.value('etcd_server_proposals_pending'), 0, where);
        assert.equal(s.value('etcd_server_proposals_failed_total'), 0, where);
        assert.ok(s.value('etcd_disk_wal_fsync_duration_seconds_count') > 0, where);
        assert.ok(s.value('etcd_disk_wal_fsync_duration_seconds_bucket', { le: '+Inf' }) > 0, where);
        assert.ok(s.value('etcd_mvcc_db_total_size_in_bytes') > 0, where);
        assert.ok(s.value('etcd_mvcc_db_total_size_in_use_in_bytes') > 0, where);
        assert.equal(s.value('etcd_mvcc_put_total') - mvccPuts0, PUTS, where);
        assert.ok(s.value('etcd_debugging_mvcc_keys_total') >= PUTS, where);
        assert.equal(s.value('grpc_server_handled_total', { ...PUT, grpc_code: 'OK' }) - puts0, PUTS, where);
        assert.equal(s.value('grpc_server_handled_total', { ...PUT, grpc_code: 'InvalidArgument' }), 0, where);
        assert.equal(s.value('grpc_server_started_total', PUT) - puts0, PUTS, where);
        assert.ok(s.value('grpc_server_msg_received_total', PUT) >= PUTS, where);
        assert.ok(s.value('grpc_server_started_total', { grpc_method: 'LeaseGrant' }) >= 1, where);
        assert.ok(s.value('etcd_debugging_lease_granted_total') >= 1, where);
        assert.ok(s.value('etcd_network_client_grpc_received_bytes_total') > 0, where);
        assert.ok(s.value('etcd_network_client_grpc_sent_bytes_total') > 0, where);
        assert.equal(s.samples.filter((x) => x.name === 'etcd_server_id').length, 1, where);
        assert.ok(s.names().has('process_cpu_seconds_total') || s.names().has('process_start_time_seconds'), where);
      }

      // Counters move with more writes.
      const r = await c.etcdctl(['put', 'metrics/more', 'x']);
      assert.equal(r.code, 0, r.stderr);
      const later = await scrape(metricsPort);
      assert.ok(later.value('etcd_server_proposals_committed_total') >= committed0 + PUTS + 2);
      assert.equal(later.value('grpc_server_handled_total', { ...PUT, grpc_code: 'OK' }) - puts0, PUTS + 1);

      const health = await get(metricsPort, '/health');
      assert.equal(health.status, 200);
      assert.equal(JSON.parse(health.body).health, 'true');
      assert.equal((await get(metricsPort, '/nope')).status, 404);
    });
  });

  test('a 3-member cluster reports one leader and raft traffic between leader and followers', async () => {
    await withCluster({ size: 3 }, async (c) => {
      const r = await c.etcdctl(['put', 'metrics/peer', 'x']);
      assert.equal(r.code, 0, r.stderr);
      const ports = c.members.map((m) => m.clientPort);
      const ids = await Promise.all(ports.map(async (p) => {
        const s = await scrape(p);
        return s.samples.find((x) => x.name === 'etcd_server_id')!.labels.server_id;
      }));
      // Peers dial each other in the background after start-up: wait until every pair is connected.
      const connected = (all: Awaited<ReturnType<typeof scrape>>[]): boolean =>
        all.every((s, i) => ids.every((peer, j) => j === i || s.value('etcd_network_active_peers', { Local: ids[i], Remote: peer }) === 1));
      const scrapes = await waitUntil(
        async () => {
          const all = await Promise.all(ports.map(scrape));
          return connected(all) ? all : null;
        },
        10_000,
        () => 'the members never all reported each other as active peers',
      );
      const leaders = scrapes.flatMap((s, i) => (s.value('etcd_server_is_leader') === 1 ? [i] : []));
      assert.equal(leaders.length, 1, `members reporting is_leader 1: ${leaders}`);
      const leader = ids[leaders[0]];
      for (let i = 0; i < ports.length; i++) {
        const s = scrapes[i];
        const where = `member ${i}`;
        assert.equal(s.value('etcd_server_has_leader'), 1, where);
        assert.ok(s.value('etcd_server_proposals_applied_total') > 0, where);
        for (const peer of ids.filter((_, j) => j !== i)) {
          assert.equal(s.value('etcd_network_active_peers', { Local: ids[i], Remote: peer }), 1, `${where} ~ ${peer}`);
          // Raft traffic flows between the leader and each follower (followers need not talk).
          if (peer !== leader && ids[i] !== leader) continue;
          assert.ok(s.value('etcd_network_peer_sent_bytes_total', { To: peer }) > 0, `${where} -> ${peer}`);
          assert.ok(s.value('etcd_network_peer_received_bytes_total', { From: peer }) > 0, `${where} <- ${peer}`);
        }
      }
    });
  });
});
