// Multi-member clusters in one process: real peer transport and client listeners on 127.0.0.1,
// each member in its own temp data dir. Checks election, writes and linearizable reads through
// followers, lease keep-alive / time-to-live forwarded to the leader, member publication, a
// stopped minority, restart catch-up, catch-up by snapshot (database transfer), 5 members.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as http2 from 'node:http2';
import * as os from 'node:os';
import { defaultConfig } from '../../src/embed/config.js';
import { type Etcd, serveClients, startEtcd } from '../../src/embed/etcd.js';
import type { ServerConfig } from '../../src/server/config.js';
import { silentLogger } from '../../src/server/config.js';
import type { EtcdServer } from '../../src/server/server.js';
import { freePort, sleep } from '../support/cluster.js';

const ETCDCTL = '/usr/bin/etcdctl';
const HEARTBEAT_MS = 25;
const ELECTION_MS = 250;

const b = (s: string): Buffer => Buffer.from(s);
async function waitFor<T>(fn: () => T | undefined | null | false | Promise<T | undefined | null | false>, ms: number, what: string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(10);
  }
}

interface Spec {
  name: string;
  dir: string;
  cport: number;
  pport: number;
}

/** N members of one static cluster, each startable and stoppable on its own. */
class Cluster {
  readonly etcds: (Etcd | null)[];

  private constructor(
    readonly root: string,
    readonly specs: Spec[],
    private readonly over: Partial<ServerConfig>,
  ) {
    this.etcds = specs.map(() => null);
  }

  static async create(n: number, over: Partial<ServerConfig> = {}): Promise<Cluster> {
    const root = fs.mkdtempSync(os.tmpdir() + '/tsetcd-cluster-');
    const specs: Spec[] = [];
    for (let i = 0; i < n; i++) specs.push({ name: `m${i}`, dir: `${root}/m${i}`, cport: await freePort(), pport: await freePort() });
    const c = new Cluster(root, specs, over);
    await Promise.all(specs.map((_, i) => c.start(i)));
    return c;
  }

  async start(i: number): Promise<Etcd> {
    const s = this.specs[i]!;
    const cfg = defaultConfig();
    cfg.name = s.name;
    cfg.dataDir = s.dir;
    cfg.listenClientUrls = cfg.advertiseClientUrls = [new URL(`http://127.0.0.1:${s.cport}`)];
    cfg.listenPeerUrls = cfg.initialAdvertisePeerUrls = [new URL(`http://127.0.0.1:${s.pport}`)];
    cfg.initialCluster = this.specs.map((x) => `${x.name}=http://127.0.0.1:${x.pport}`).join(',');
    cfg.heartbeatIntervalMs = HEARTBEAT_MS;
    cfg.electionTimeoutMs = ELECTION_MS;
    const e = await startEtcd(cfg, {
      serveClients,
      logger: silentLogger,
      server: { unsafeNoFsync: true, requestTimeoutMs: 3000, ...this.over },
    });
    this.etcds[i] = e;
    return e;
  }

  async stop(i: number): Promise<void> {
    const e = this.etcds[i];
    this.etcds[i] = null;
    await e?.close();
  }

  server(i: number): EtcdServer {
    const e = this.etcds[i];
    if (e === null || e === undefined) throw new Error(`member ${i} is not running`);
    return e.server;
  }

  running(): number[] {
    return this.etcds.flatMap((e, i) => (e !== null ? [i] : []));
  }

  /** Index of the member every running member agrees leads (and that leader's own view). */
  async waitLeader(ms = 10 * ELECTION_MS): Promise<number> {
    return waitFor(
      () => {
        const run = this.running();
        const l = run.find((i) => this.server(i).isLeader());
        if (l === undefined) return undefined;
        const id = this.server(l).id;
        return run.every((i) => this.server(i).leader === id) ? l : undefined;
      },
      ms,
      'a leader all running members agree on',
    );
  }

  async follower(): Promise<number> {
    const l = await this.waitLeader();
    return this.running().find((i) => i !== l)!;
  }

  endpoint(i: number): string {
    return `127.0.0.1:${this.specs[i]!.cport}`;
  }

  async close(): Promise<void> {
    await Promise.all(this.running().map((i) => this.stop(i)));
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** etcdctl, asynchronously: the members share this event loop, so it must not be blocked. */
function etcdctl(endpoints: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(ETCDCTL, [`--endpoints=${endpoints}`, '--command-timeout=5s', ...args], { env: { ...process.env, ETCDCTL_API: '3' } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`etcdctl ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

const haveEtcdctl = fs.existsSync(ETCDCTL);

async function peerGet(port: number, path: string): Promise<{ headers: http2.IncomingHttpHeaders; body: string }> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  try {
    return await new Promise((resolve, reject) => {
      const req = session.request({ ':path': path });
      let body = '';
      let headers: http2.IncomingHttpHeaders = {};
      req.setEncoding('utf8');
      req.on('response', (h) => (headers = h));
      req.on('data', (d: string) => (body += d));
      req.on('end', () => resolve({ headers, body }));
      req.on('error', reject);
    });
  } finally {
    session.close();
  }
}

test('3 members: election, writes through a follower, linearizable reads on every member', async () => {
  const c = await Cluster.create(3);
  try {
    const l = await c.waitLeader();
    // Linearizable reads on every member at once stay fast: each member's read contexts are its
    // own (the leader keeps one pending read per context; a shared one stalls a round 500 ms).
    for (let k = 0; k < 10; k++) {
      const t0 = Date.now();
      await Promise.all(c.running().map((i) => c.server(i).range({ key: b('none') })));
      assert.ok(Date.now() - t0 < 400, `round ${k} of concurrent reads took ${Date.now() - t0} ms`);
    }
    const f = c.running().find((i) => i !== l)!;
    const r = await c.server(f).put({ key: b('via-follower'), value: b('v1') });
    assert.ok(r.header!.revision >= 2);
    for (const i of c.running()) {
      const g = await c.server(i).range({ key: b('via-follower') });
      assert.equal(g.kvs[0]?.value.toString(), 'v1', `member ${i}`);
      assert.equal(g.header!.revision, r.header!.revision);
    }
    // A write through one follower is visible to a linearizable read on the other at once.
    const other = c.running().find((i) => i !== l && i !== f)!;
    for (let k = 0; k < 20; k++) {
      await c.server(f).put({ key: b('seq'), value: b(String(k)) });
      const g = await c.server(other).range({ key: b('seq') });
      assert.equal(g.kvs[0]?.value.toString(), String(k));
    }
    // Status on every member names the leader (re-read: a stalled machine may have re-elected).
    const leaderId = c.server(await c.waitLeader()).id;
    const leaders = await Promise.all(c.running().map(async (i) => (await c.server(i).status()).leader));
    assert.deepEqual(leaders, [leaderId, leaderId, leaderId]);
  } finally {
    await c.close();
  }
});

test('3 members: etcdctl member list, endpoint status and leases through followers', { skip: !haveEtcdctl }, async () => {
  const c = await Cluster.create(3);
  try {
    const f = await c.follower();
    const all = c.running().map((i) => c.endpoint(i)).join(',');
    // Every member published its name and client URL through raft.
    await waitFor(async () => c.running().every((i) => c.server(i).cluster.memberList().every((m) => m.clientURLs.length === 1)), 5000, 'published members');
    const list = await etcdctl(c.endpoint(f), 'member', 'list');
    const lines = list.trim().split('\n').sort();
    assert.equal(lines.length, 3);
    for (const s of c.specs) {
      const id = c.server(c.specs.indexOf(s)).id.toString(16);
      assert.ok(lines.includes(`${id}, started, ${s.name}, http://127.0.0.1:${s.pport}, http://127.0.0.1:${s.cport}, false`), list);
    }
    // IDs exceed 2^53: read them from the JSON text, not through JSON.parse.
    const stJson = await etcdctl(all, 'endpoint', 'status', '-w', 'json');
    const leaders = [...stJson.matchAll(/"leader":(\d+)/g)].map((x) => BigInt(x[1]!));
    const leaderId = c.server(await c.waitLeader()).id;
    assert.deepEqual(leaders, [leaderId, leaderId, leaderId]);

    // Leases: granted through a follower, kept alive and inspected on a follower (forwarded).
    const granted = await etcdctl(c.endpoint(f), 'lease', 'grant', '30');
    const lease = /lease ([0-9a-f]+) granted/.exec(granted)![1]!;
    await etcdctl(c.endpoint(f), 'put', 'lk', 'v', `--lease=${lease}`);
    const ka = await etcdctl(c.endpoint(f), 'lease', 'keep-alive', '--once', lease);
    assert.match(ka, new RegExp(`lease ${lease} keepalived with TTL\\(30\\)`));
    const ttl = await etcdctl(c.endpoint(f), 'lease', 'timetolive', lease, '--keys');
    const m = /granted with TTL\(30s\), remaining\((\d+)s\), attached keys\(\[lk\]\)/.exec(ttl);
    assert.ok(m !== null, ttl);
    assert.ok(Number(m[1]) >= 25 && Number(m[1]) <= 30, ttl);
    const missing = await etcdctl(c.endpoint(f), 'lease', 'timetolive', '1234');
    assert.match(missing, /lease 0000000000001234 already expired/);
    // The peer listener lists the members as etcd's JSON.
    const peer = await peerGet(c.specs[f]!.pport, '/members');
    assert.equal(peer.headers['x-etcd-cluster-id'], c.server(f).clusterId.toString(16));
    const ids = [...peer.body.matchAll(/"id":(\d+)/g)].map((x) => BigInt(x[1]!)).sort();
    assert.deepEqual(ids, c.running().map((i) => c.server(i).id).sort());
  } finally {
    await c.close();
  }
});

test('3 members: leases expire on the leader only, and are revoked through raft everywhere', async () => {
  const c = await Cluster.create(3);
  try {
    const f = await c.follower();
    const g = await c.server(f).leaseGrant({ TTL: 1, ID: 0n });
    await c.server(f).put({ key: b('short'), value: b('x'), lease: g.ID });
    // Exactly one primary lessor: the leader's (re-read, as a loaded machine may change leaders).
    await waitFor(() => {
      const primaries = c.running().filter((i) => c.server(i).lessor.isPrimary());
      return primaries.length === 1 && c.server(primaries[0]!).isLeader();
    }, 3000, 'the leader alone holding the primary lessor');
    // Renew on a follower is forwarded: the TTL comes back from the leader.
    assert.equal(await c.server(f).leaseRenew(g.ID), 1);
    await waitFor(async () => (await c.server(f).range({ key: b('short') })).kvs.length === 0, 5000, 'lease expiry');
    for (const i of c.running()) {
      assert.equal((await c.server(i).range({ key: b('short'), serializable: true })).kvs.length, 0);
      assert.equal(c.server(i).lessor.lookup(g.ID), undefined);
    }
    await assert.rejects(c.server(f).leaseRenew(g.ID), /lease not found/);
  } finally {
    await c.close();
  }
});

test('3 members: a stopped follower (minority) does not stop writes; restarted, it catches up', async () => {
  const c = await Cluster.create(3);
  try {
    const f = await c.follower();
    await c.server(f).put({ key: b('before'), value: b('1') });
    await c.stop(f);
    const live = c.running();
    for (let k = 0; k < 50; k++) await c.server(live[k % 2]!).put({ key: b(`during/${k}`), value: b(String(k)) });
    const rev = (await c.server(live[0]!).range({ key: b('during/'), rangeEnd: b('during0') })).header!.revision;
    await c.start(f);
    await c.waitLeader();
    await waitFor(() => c.server(f).appliedIndex >= c.server(live[0]!).appliedIndex, 5000, 'restarted member to catch up');
    const r = await c.server(f).range({ key: b('during/'), rangeEnd: b('during0'), serializable: true });
    assert.equal(r.count, 50);
    assert.equal(r.header!.revision, rev);
    assert.equal((await c.server(f).range({ key: b('before') })).kvs[0]?.value.toString(), '1');
  } finally {
    await c.close();
  }
});

test('3 members: a member lagging past the compacted log catches up by snapshot', async () => {
  const c = await Cluster.create(3, { snapshotCount: 40, snapshotCatchUpEntries: 10 });
  try {
    const f = await c.follower();
    const lagAt = c.server(f).appliedIndex;
    await c.stop(f);
    const live = c.running();
    const n = 300;
    for (let k = 0; k < n; k += 25) {
      await Promise.all(Array.from({ length: 25 }, (_, j) => c.server(live[0]!).put({ key: b(`lag/${k + j}`), value: b(`v${k + j}`) })));
    }
    const lease = await c.server(live[1]!).leaseGrant({ TTL: 600, ID: 0n });
    await c.server(live[1]!).put({ key: b('leased'), value: b('x'), lease: lease.ID });
    const l = await c.waitLeader();
    // The leader's in-memory log no longer holds what the stopped member needs: only a snapshot can.
    const first = c.server(l).r.storage.firstIndex();
    assert.ok(first > lagAt + 1, `leader's first index ${first}, member stopped at ${lagAt}`);
    await c.start(f);
    await waitFor(() => c.server(f).appliedIndex >= c.server(l).appliedIndex, 10_000, 'snapshot catch-up');
    const r = await c.server(f).range({ key: b('lag/'), rangeEnd: b('lag0'), serializable: true });
    assert.equal(r.count, n);
    assert.equal((await c.server(f).range({ key: b('lag/299'), serializable: true })).kvs[0]?.value.toString(), 'v299');
    assert.equal(c.server(f).lessor.lookup(lease.ID)?.ttl, 600);
    assert.equal(c.server(f).cluster.memberList().length, 3);
    // Same data everywhere (KV hash at the same revision).
    const rev = c.server(l).kv.rev();
    await waitFor(() => c.server(f).kv.rev() === rev, 5000, 'same revision');
    const hashes = await Promise.all(c.running().map((i) => c.server(i).hashKV(rev)));
    assert.equal(new Set(hashes.map((h) => h.hash)).size, 1);
    // And it keeps replicating after the snapshot.
    await c.server(f).put({ key: b('after'), value: b('snap') });
    for (const i of c.running()) assert.equal((await c.server(i).range({ key: b('after') })).kvs[0]?.value.toString(), 'snap');
  } finally {
    await c.close();
  }
});

test('3 members: the leader stops; the others elect a new one and keep all data', async () => {
  const c = await Cluster.create(3);
  try {
    const l = await c.waitLeader();
    for (let k = 0; k < 20; k++) await c.server(l).put({ key: b(`k${k}`), value: b(String(k)) });
    const lease = await c.server(l).leaseGrant({ TTL: 2, ID: 0n });
    await c.server(l).put({ key: b('leased'), value: b('x'), lease: lease.ID });
    const old = c.server(l).id;
    await c.stop(l);
    const t0 = Date.now();
    const nl = await c.waitLeader();
    assert.notEqual(c.server(nl).id, old);
    assert.ok(Date.now() - t0 < 6 * ELECTION_MS, `new leader after ${Date.now() - t0} ms`);
    for (const i of c.running()) assert.equal((await c.server(i).range({ key: b('k'), rangeEnd: b('l') })).count, 20);
    // The new leader's lessor took over expiry: the lease runs out and its key goes everywhere.
    await waitFor(() => c.server(nl).lessor.isPrimary(), 2000, 'promoted lessor');
    await waitFor(async () => (await c.server(nl).range({ key: b('leased') })).kvs.length === 0, 6000, 'expiry by the new leader');
    for (const i of c.running()) if (i !== nl) assert.equal(c.server(i).lessor.isPrimary(), false);
    await c.start(l);
    await c.waitLeader();
    await c.server(l).put({ key: b('back'), value: b('1') });
    assert.equal((await c.server(l).range({ key: b('k'), rangeEnd: b('l') })).count, 20);
  } finally {
    await c.close();
  }
});

test('5 members: election, replication, and the loss of two members', async () => {
  const c = await Cluster.create(5);
  try {
    const l = await c.waitLeader();
    const followers = c.running().filter((i) => i !== l);
    await c.stop(followers[0]!);
    await c.stop(followers[1]!);
    await c.server(followers[2]!).put({ key: b('five'), value: b('5') });
    for (const i of c.running()) assert.equal((await c.server(i).range({ key: b('five') })).kvs[0]?.value.toString(), '5');
    await c.start(followers[0]!);
    await c.start(followers[1]!);
    await c.waitLeader();
    for (const i of [followers[0]!, followers[1]!]) {
      assert.equal((await c.server(i).range({ key: b('five') })).kvs[0]?.value.toString(), '5', `restarted m${i}`);
    }
  } finally {
    await c.close();
  }
});

test('3 members: the whole cluster restarts from its data dirs', async () => {
  const c = await Cluster.create(3);
  try {
    const f = await c.follower();
    for (let k = 0; k < 30; k++) await c.server(f).put({ key: b(`r${k}`), value: b(String(k)) });
    const ids = c.running().map((i) => c.server(i).id);
    await Promise.all(c.running().map((i) => c.stop(i)));
    await Promise.all([0, 1, 2].map((i) => c.start(i)));
    await c.waitLeader();
    assert.deepEqual(c.running().map((i) => c.server(i).id), ids);
    for (const i of c.running()) assert.equal((await c.server(i).range({ key: b('r'), rangeEnd: b('s') })).count, 30);
  } finally {
    await c.close();
  }
});
