// End-to-end: cluster membership with the real etcdctl (`member add|add --learner|list|update|
// remove|promote`). A one-member cluster grows by a voter (started with --initial-cluster-state
// existing from what `member add` printed) and by a learner, which is promoted once it caught up
// under a write load; a removed member's process exits; --strict-reconfig-check refuses changes
// that would lose the active quorum. Outputs, error texts and gRPC codes are the ones real etcd
// 3.4.23 prints (the file passes with E2E_SERVER=etcd too).

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import type { Etcd3 } from 'etcd3';
import { etcd3Client, WriteLoad } from '../support/writeLoad.js';
import {
  Cluster,
  ETCD_BIN,
  SERVER,
  etcdctl,
  freePort,
  parseJsonExact,
  waitUntil,
  withCluster,
  type RunResult,
} from '../support/cluster.js';

const TSETCD_BIN = path.join(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..'), 'bin', 'tsetcd');
const HEARTBEAT_MS = 50;
const ELECTION_MS = 500;
/** etcd wants every voter connected for 5 s before it adds a member (and before removing an active one). */
const RECONFIG_RETRY_MS = 15_000;

/** One member process started by this file (the support Cluster has a fixed membership). */
class Proc {
  log = '';
  code: number | null | undefined = undefined;
  readonly exited: Promise<void>;
  private readonly child: ChildProcess;

  constructor(
    readonly name: string,
    readonly clientPort: number,
    readonly peerPort: number,
    dataDir: string,
    initialCluster: string,
    state: 'new' | 'existing',
  ) {
    const args = [
      `--name=${name}`,
      `--data-dir=${dataDir}`,
      `--listen-client-urls=http://127.0.0.1:${clientPort}`,
      `--advertise-client-urls=http://127.0.0.1:${clientPort}`,
      `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      `--initial-cluster=${initialCluster}`,
      `--initial-cluster-state=${state}`,
      '--initial-cluster-token=e2e-member',
      `--heartbeat-interval=${HEARTBEAT_MS}`,
      `--election-timeout=${ELECTION_MS}`,
      '--logger=zap',
    ];
    const [bin, argv] = SERVER === 'etcd' ? [ETCD_BIN, args] : [process.execPath, [TSETCD_BIN, ...args]];
    this.child = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    const append = (b: Buffer) => {
      this.log = (this.log + b.toString()).slice(-200_000);
    };
    this.child.stdout!.on('data', append);
    this.child.stderr!.on('data', append);
    this.exited = new Promise((r) =>
      this.child.on('close', (code) => {
        this.code = code;
        r();
      }),
    );
  }

  get endpoint(): string {
    return `127.0.0.1:${this.clientPort}`;
  }

  get peerUrl(): string {
    return `http://127.0.0.1:${this.peerPort}`;
  }

  get running(): boolean {
    return this.code === undefined;
  }

  async kill(): Promise<void> {
    if (this.running) this.child.kill('SIGKILL');
    await this.exited;
  }

  tail(lines = 30): string {
    return `--- ${this.name} (${this.running ? 'running' : `exited ${this.code}`}) ---\n${this.log.split('\n').slice(-lines).join('\n')}`;
  }
}

const procs = new Set<Proc>();
const roots: string[] = [];

function newRoot(): string {
  const r = fs.mkdtempSync(path.join(os.tmpdir(), 'tsetcd-member-'));
  roots.push(r);
  return r;
}

async function startProc(root: string, name: string, initialCluster: (self: { peerUrl: string }) => string, state: 'new' | 'existing', ports?: { client: number; peer: number }): Promise<Proc> {
  const client = ports?.client ?? (await freePort());
  const peer = ports?.peer ?? (await freePort());
  const p = new Proc(name, client, peer, path.join(root, `${name}.etcd`), initialCluster({ peerUrl: `http://127.0.0.1:${peer}` }), state);
  procs.add(p);
  return p;
}

function ctl(endpoint: string, args: string[]): Promise<RunResult> {
  return etcdctl(args, { endpoints: endpoint, timeoutMs: 20_000 });
}

/** The gRPC code and description etcdctl's retry interceptor logged, and its final "Error: ..." line. */
function failure(r: RunResult): { code: string; desc: string; last: string } {
  const m = /rpc error: code = (\w+) desc = ([^"]*)"/.exec(r.stderr);
  const lines = r.stderr.trim().split('\n');
  return { code: m?.[1] ?? '', desc: m?.[2] ?? '', last: lines[lines.length - 1] ?? '' };
}

function expectFailure(r: RunResult, code: string, desc: string, what: string): void {
  assert.equal(r.code, 1, `${what}: expected exit code 1, got ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  const f = failure(r);
  assert.deepEqual({ code: f.code, desc: f.desc, last: f.last }, { code, desc, last: `Error: ${desc}` }, what);
}

interface ListedMember {
  id: string;
  status: string;
  name: string;
  peerUrls: string;
  clientUrls: string;
  learner: string;
}

/** `member list` (simple format): one "id, status, name, peer, client, learner" line per member. */
async function memberList(endpoint: string): Promise<ListedMember[]> {
  const r = await ctl(endpoint, ['member', 'list']);
  assert.equal(r.code, 0, `member list: ${r.stderr}`);
  return r.stdout
    .trim()
    .split('\n')
    .map((l) => {
      const [id, status, name, peerUrls, clientUrls, learner] = l.split(', ');
      return { id, status, name, peerUrls, clientUrls, learner };
    });
}

/** An ID as etcdctl prints it in its one-line messages (`%16x`: padded with spaces to 16). */
function x16(id: string): string {
  return id.padStart(16, ' ');
}

/** Parses `member add`'s output (etcdctl prints the env of the new member). */
function parseAdd(out: string): { id: string; clusterId: string; env: Record<string, string> } {
  const lines = out.split('\n');
  const m = /^Member +([0-9a-f]+) added to cluster +([0-9a-f]+)$/.exec(lines[0]);
  assert.ok(m, `unexpected member add output:\n${out}`);
  assert.equal(lines[1], '', 'a blank line after the first');
  const env: Record<string, string> = {};
  for (const l of lines.slice(2)) {
    if (l === '') continue;
    const kv = /^(ETCD_[A-Z_]+)="(.*)"$/.exec(l);
    assert.ok(kv, `unexpected line ${JSON.stringify(l)} in:\n${out}`);
    env[kv[1]] = kv[2];
  }
  assert.deepEqual(Object.keys(env), ['ETCD_NAME', 'ETCD_INITIAL_CLUSTER', 'ETCD_INITIAL_ADVERTISE_PEER_URLS', 'ETCD_INITIAL_CLUSTER_STATE']);
  return { id: m[1], clusterId: m[2], env };
}

/** Runs a membership command until it stops failing with "unhealthy cluster" (the 5 s connectivity rule). */
async function untilHealthyEnough(endpoint: string, args: string[]): Promise<RunResult> {
  let last: RunResult | undefined;
  await waitUntil(
    async () => {
      last = await ctl(endpoint, args);
      return last.code === 0 || !last.stderr.includes('etcdserver: unhealthy cluster');
    },
    RECONFIG_RETRY_MS,
    () => `etcdctl ${args.join(' ')} kept failing: ${last?.stderr}`,
    500,
  );
  return last!;
}

async function endpointStatus(endpoint: string): Promise<{ id: string; isLearner: boolean; raftIndex: number; appliedIndex: number }> {
  const r = await ctl(endpoint, ['endpoint', 'status', '-w', 'json']);
  assert.equal(r.code, 0, `endpoint status ${endpoint}: ${r.stderr}`);
  const s = parseJsonExact(r.stdout)[0].Status;
  return {
    id: BigInt(s.header.member_id).toString(16),
    isLearner: s.isLearner === true,
    raftIndex: Number(s.raftIndex),
    appliedIndex: Number(s.raftAppliedIndex),
  };
}

/** Waits until member `p` applied everything `leaderEndpoint` had committed when called. */
async function waitCaughtUp(leaderEndpoint: string, p: Proc): Promise<void> {
  const target = (await endpointStatus(leaderEndpoint)).raftIndex;
  await waitUntil(
    async () => (await endpointStatus(p.endpoint).catch(() => ({ appliedIndex: 0 }))).appliedIndex >= target,
    20_000,
    () => `${p.name} never applied index ${target}\n${p.tail()}`,
    100,
  );
}

/** Waits until `m` is listed as started (it published its name: it applied the log up to there). */
async function waitStarted(endpoint: string, p: Proc, timeoutMs = 20_000): Promise<void> {
  await waitUntil(
    async () => {
      if (!p.running) throw new Error(`${p.name} exited\n${p.tail()}`);
      const list = await memberList(endpoint).catch(() => []);
      return list.some((m) => m.name === p.name && m.status === 'started' && m.clientUrls !== '');
    },
    timeoutMs,
    () => `${p.name} never showed as started\n${p.tail()}`,
    200,
  );
}

const client = (endpoints: string[]): Etcd3 => etcd3Client(endpoints, 5000);

describe(`etcdctl member (${SERVER})`, () => {
  after(async () => {
    await Promise.all([...procs].map((p) => p.kill()));
    for (const r of roots) fs.rmSync(r, { recursive: true, force: true });
    await Cluster.stopEverything();
  });

  test('add, list, update, remove; a learner added, caught up and promoted under write load', { timeout: 90_000 }, async (t) => {
    const root = newRoot();
    const started: Proc[] = [];
    try {
      // ---- one member ------------------------------------------------------------------------
      const m0 = await startProc(root, 'm0', (s) => `m0=${s.peerUrl}`, 'new');
      started.push(m0);
      const e0 = m0.endpoint;
      await waitStarted(e0, m0);
      let list = await memberList(e0);
      assert.deepEqual(list, [{ id: list[0].id, status: 'started', name: 'm0', peerUrls: m0.peerUrl, clientUrls: `http://${e0}`, learner: 'false' }]);
      const m0Id = list[0].id;

      // Refusals that need no second member (texts and codes as etcd 3.4.23 sends them).
      expectFailure(await ctl(e0, ['member', 'promote', m0Id]), 'FailedPrecondition', 'etcdserver: can only promote a learner member', 'promote a voter');
      expectFailure(await ctl(e0, ['member', 'promote', '1234']), 'NotFound', 'etcdserver: member not found', 'promote unknown');
      expectFailure(await ctl(e0, ['member', 'remove', '1234']), 'NotFound', 'etcdserver: member not found', 'remove unknown');
      expectFailure(
        await ctl(e0, ['member', 'update', '1234', '--peer-urls=http://127.0.0.1:1']),
        'NotFound',
        'etcdserver: member not found',
        'update unknown',
      );
      expectFailure(
        await ctl(e0, ['member', 'add', 'dup', `--peer-urls=${m0.peerUrl}`]),
        'FailedPrecondition',
        'etcdserver: Peer URLs already exists',
        'add with a peer URL in use',
      );

      // ---- member add: a second voter ---------------------------------------------------------
      const p1 = { client: await freePort(), peer: await freePort() };
      const url1 = `http://127.0.0.1:${p1.peer}`;
      const add1 = await ctl(e0, ['member', 'add', 'm1', `--peer-urls=${url1}`]);
      assert.equal(add1.code, 0, `member add m1: ${add1.stderr}`);
      const a1 = parseAdd(add1.stdout);
      assert.deepEqual(a1.env, {
        ETCD_NAME: 'm1',
        ETCD_INITIAL_CLUSTER: [
          [m0Id, `m0=${m0.peerUrl}`],
          [a1.id, `m1=${url1}`],
        ]
          .sort((x, y) => (BigInt('0x' + x[0]) < BigInt('0x' + y[0]) ? -1 : 1))
          .map((x) => x[1])
          .join(','),
        ETCD_INITIAL_ADVERTISE_PEER_URLS: url1,
        ETCD_INITIAL_CLUSTER_STATE: 'existing',
      });
      list = await memberList(e0);
      assert.deepEqual(
        list.find((m) => m.id === a1.id),
        { id: a1.id, status: 'unstarted', name: '', peerUrls: url1, clientUrls: '', learner: 'false' },
      );
      const json = parseJsonExact((await ctl(e0, ['member', 'list', '-w', 'json'])).stdout);
      assert.equal(BigInt(json.header.cluster_id).toString(16), a1.clusterId);
      assert.equal(json.header.revision, undefined, 'the cluster service sends no revision (etcd 3.4)');
      assert.deepEqual(
        json.members.find((m: { ID: string }) => BigInt(m.ID).toString(16) === a1.id),
        { ID: json.members.find((m: { ID: string }) => BigInt(m.ID).toString(16) === a1.id).ID, peerURLs: [url1] },
      );

      // Another voter now would leave 1 of 3 voters started.
      expectFailure(
        await ctl(e0, ['member', 'add', 'm9', '--peer-urls=http://127.0.0.1:9']),
        'Unknown',
        'etcdserver: re-configuration failed due to not enough started members',
        'add a voter while one is unstarted',
      );

      // Start m1 the way `member add` told us to.
      let m1 = await startProc(root, 'm1', () => a1.env.ETCD_INITIAL_CLUSTER, 'existing', p1);
      started.push(m1);
      await waitStarted(e0, m1);
      await waitCaughtUp(e0, m1);
      list = await memberList(m1.endpoint);
      assert.deepEqual(list.map((m) => [m.name, m.status, m.learner]).sort(), [
        ['m0', 'started', 'false'],
        ['m1', 'started', 'false'],
      ]);
      assert.equal((await endpointStatus(m1.endpoint)).id, a1.id);

      // ---- member update: m1 moves to another peer port -----------------------------------
      const movedPort = await freePort();
      const moved = `http://127.0.0.1:${movedPort}`;
      const upd = await ctl(e0, ['member', 'update', a1.id, `--peer-urls=${moved}`]);
      assert.equal(upd.code, 0, upd.stderr);
      assert.equal(upd.stdout, `Member ${x16(a1.id)} updated in cluster ${x16(a1.clusterId)}\n`);
      assert.equal((await memberList(e0)).find((m) => m.id === a1.id)?.peerUrls, moved);
      await m1.kill();
      started.splice(started.indexOf(m1), 1);
      m1 = await startProc(root, 'm1', () => a1.env.ETCD_INITIAL_CLUSTER.replace(url1, moved), 'existing', { client: p1.client, peer: movedPort });
      started.push(m1);
      const m1Endpoint = m1.endpoint;
      await waitUntil(
        async () => (await ctl(m1Endpoint, ['get', 'nothing'])).code === 0,
        20_000,
        () => `m1 does not serve linearizable reads after moving\n${m1.tail()}`,
        200,
      );
      expectFailure(
        await ctl(e0, ['member', 'update', a1.id, `--peer-urls=${m0.peerUrl}`]),
        'FailedPrecondition',
        'etcdserver: Peer URLs already exists',
        'update to a peer URL in use',
      );

      // ---- member add --learner, under a write load --------------------------------------------
      const etcd = client([e0, m1.endpoint]);
      const load = new WriteLoad(etcd, 6);
      try {
        await waitUntil(() => load.acked.size >= 100, 15_000, () => `only ${load.acked.size} writes before adding the learner`);
        const p2 = { client: await freePort(), peer: await freePort() };
        const url2 = `http://127.0.0.1:${p2.peer}`;
        const add2 = await untilHealthyEnough(e0, ['member', 'add', 'm2', '--learner', `--peer-urls=${url2}`]);
        assert.equal(add2.code, 0, `member add --learner: ${add2.stderr}`);
        const a2 = parseAdd(add2.stdout);
        assert.equal(a2.env.ETCD_INITIAL_CLUSTER_STATE, 'existing');
        assert.deepEqual(
          (await memberList(e0)).find((m) => m.id === a2.id),
          { id: a2.id, status: 'unstarted', name: '', peerUrls: url2, clientUrls: '', learner: 'true' },
        );
        expectFailure(
          await ctl(e0, ['member', 'add', 'm3', '--learner', '--peer-urls=http://127.0.0.1:3']),
          'FailedPrecondition',
          'etcdserver: too many learner members in cluster',
          'a second learner',
        );
        // Not started: its log is far behind the leader's.
        expectFailure(
          await ctl(e0, ['member', 'promote', a2.id]),
          'FailedPrecondition',
          'etcdserver: can only promote a learner member which is in sync with leader',
          'promote a learner that did not start',
        );

        const m2 = await startProc(root, 'm2', () => a2.env.ETCD_INITIAL_CLUSTER, 'existing', p2);
        started.push(m2);
        await waitStarted(e0, m2);
        await waitCaughtUp(e0, m2);
        const st2 = await endpointStatus(m2.endpoint);
        assert.deepEqual([st2.id, st2.isLearner], [a2.id, true]);
        // A learner serves serializable reads and Status only.
        expectFailure(await ctl(m2.endpoint, ['put', 'x', 'y']), 'Unavailable', 'etcdserver: rpc not supported for learner', 'put on a learner');
        const ser = await ctl(m2.endpoint, ['get', 'load/0/000000', '--consistency=s', '--print-value-only']);
        assert.deepEqual([ser.code, ser.stdout], [0, 'v0-0\n'], ser.stderr);

        // Promote as soon as the leader finds it caught up (asked through m1, which forwards it
        // when it is not the leader).
        let promote: RunResult | undefined;
        await waitUntil(
          async () => {
            promote = await ctl(m1.endpoint, ['member', 'promote', a2.id]);
            if (promote.code === 0) return true;
            assert.match(promote.stderr, /can only promote a learner member which is in sync with leader/);
            return false;
          },
          20_000,
          () => `learner never promoted: ${promote?.stderr}`,
          200,
        );
        assert.equal(promote!.stdout, `Member ${x16(a2.id)} promoted in cluster ${x16(a2.clusterId)}\n`);
        const afterPromote = load.acked.size;
        await waitUntil(() => load.acked.size >= afterPromote + 100, 15_000, () => 'writes stalled after the promotion');
      } finally {
        await load.stop();
        etcd.close();
      }

      list = await memberList(e0);
      assert.deepEqual(list.map((m) => [m.name, m.status, m.learner]).sort(), [
        ['m0', 'started', 'false'],
        ['m1', 'started', 'false'],
        ['m2', 'started', 'false'],
      ]);
      const m2 = started[2];
      assert.equal((await endpointStatus(m2.endpoint)).isLearner, false);
      expectFailure(
        await ctl(e0, ['member', 'promote', list.find((m) => m.name === 'm2')!.id]),
        'FailedPrecondition',
        'etcdserver: can only promote a learner member',
        'promote again',
      );
      // The promoted member serves linearizable reads and has every acknowledged write.
      const c2 = client([m2.endpoint]);
      try {
        const kv = await c2.getAll().prefix('load/').strings();
        const missing = [...load.acked].filter(([k, v]) => kv[k] !== v);
        assert.equal(missing.length, 0, `m2 lacks ${missing.length} of ${load.acked.size} acknowledged writes`);
      } finally {
        c2.close();
      }

      // ---- member remove: the removed member stops ---------------------------------------------
      const id2 = list.find((m) => m.name === 'm2')!.id;
      const rm = await untilHealthyEnough(e0, ['member', 'remove', id2]);
      assert.equal(rm.code, 0, rm.stderr);
      assert.equal(rm.stdout, `Member ${x16(id2)} removed from cluster ${x16(a1.clusterId)}\n`);
      await waitUntil(() => !m2.running, 10_000, () => `removed member m2 still runs\n${m2.tail()}`);
      assert.match(m2.log, /the member has been permanently removed from the cluster/);
      await m2.exited;
      assert.equal(m2.code, 0, `a removed member exits cleanly\n${m2.tail()}`);
      assert.deepEqual((await memberList(e0)).map((m) => m.name).sort(), ['m0', 'm1']);
      expectFailure(await ctl(e0, ['member', 'remove', id2]), 'NotFound', 'etcdserver: member not found', 'remove again');
    } catch (e) {
      if (e instanceof Error) e.message += '\n' + started.map((p) => p.tail()).join('\n');
      throw e;
    } finally {
      await Promise.all(started.map((p) => p.kill()));
    }
  });

  test('--strict-reconfig-check refuses changes that would break the active quorum', { timeout: 60_000 }, () =>
    withCluster({ size: 3, heartbeatMs: HEARTBEAT_MS, electionMs: ELECTION_MS }, async (c) => {
      const leader = await c.waitLeader();
      const [down, live] = [0, 1, 2].filter((i) => i !== leader);
      const e = c.endpoint(leader);
      const list = await memberList(e);
      const idOf = (i: number) => list.find((m) => m.name === `m${i}`)!.id;
      // A follower goes down (the leader stays, so proposals are not lost with it).
      await c.kill(down);
      // A new voter would join a cluster whose voters are not all connected.
      expectFailure(
        await ctl(e, ['member', 'add', 'm3', '--peer-urls=http://127.0.0.1:3']),
        'Unavailable',
        'etcdserver: unhealthy cluster',
        'add with a voter down',
      );
      // Removing the other live member would leave one of the two remaining voters active.
      expectFailure(await ctl(e, ['member', 'remove', idOf(live)]), 'Unavailable', 'etcdserver: unhealthy cluster', 'remove a live voter');
      // Removing the member that is down is safe.
      const rm = await untilHealthyEnough(e, ['member', 'remove', idOf(down)]);
      assert.equal(rm.code, 0, rm.stderr);
      assert.deepEqual((await memberList(e)).map((m) => m.name).sort(), [`m${Math.min(leader, live)}`, `m${Math.max(leader, live)}`]);
    }),
  );
});
