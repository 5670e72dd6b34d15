// Membership requests: --strict-reconfig-check (started quorum, 5 s connectivity, down members),
// the conf changes proposed, learner readiness (90% of the leader's match) and promotion forwarded
// to the leader over HTTP; joining a running cluster from its peers' /members.
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import { ConfChangeType, type ConfChange, type Status } from '../../../src/raft/index.js';
import { silentLogger } from '../../../src/server/config.js';
import { ErrNotLeader, ErrTimeout, ErrUnhealthy } from '../../../src/server/errors.js';
import { ErrIDNotFound, ErrMemberNotLearner, MembershipError, RaftCluster } from '../../../src/server/membership/cluster.js';
import { ErrLearnerNotReady, ErrNotEnoughStartedMembers } from '../../../src/server/membership/errors.js';
import { computeMemberId } from '../../../src/server/membership/ids.js';
import { clusterFromRemotePeers } from '../../../src/server/membership/join.js';
import { memberToJson, promoteContextJson, type Member } from '../../../src/server/membership/member.js';
import { servePromoteHttp, promoteMemberHttp, type PromoteLocal } from '../../../src/server/membership/promoteHttp.js';
import * as reconfig from '../../../src/server/membership/reconfig.js';
import { servePeerInfo } from '../../../src/server/peerHttp.js';
import { PeerSessions } from '../../../src/server/peerSessions.js';
import { WaitIndex } from '../../../src/server/wait.js';

const m = (id: bigint, started: boolean, isLearner = false, url = `http://p:${id}`): Member => ({
  id,
  name: started ? `m${id}` : '',
  peerURLs: [url],
  clientURLs: [],
  isLearner,
});

const LONG_AGO = Date.now() - 60_000;
/** Peer sessions for promotions forwarded over HTTP. */
const sessions = new PeerSessions();
after(() => sessions.close());

function host(members: Member[], opts: { active?: Record<string, number>; strict?: boolean; progress?: Record<string, number>; leader?: bigint } = {}) {
  const cluster = new RaftCluster(1n, 7n);
  for (const x of members) cluster.addMember(x, false);
  const proposed: ConfChange[] = [];
  const progress = new Map(Object.entries(opts.progress ?? {}).map(([k, v]) => [BigInt(k), { match: v }]));
  const h = {
    id: 1n,
    cfg: { strictReconfigCheck: opts.strict ?? true, requestTimeoutMs: 400, electionMs: 50, logger: silentLogger },
    peerSessions: sessions,
    cluster,
    transport: { activeSince: (id: bigint) => opts.active?.[String(id)] ?? 0 },
    node: { status: () => ({ id: 1n, progress }) as unknown as Status, rn: { raft: { raftLog: { committed: 10 } } } },
    appliedWait: new WaitIndex(),
    appliedIndex: 10,
    leader: opts.leader ?? 1n,
    configure: async (cc: ConfChange) => {
      proposed.push(cc);
      return cluster.memberList();
    },
  };
  return { h, proposed };
}

test('newRuntimeMember: ID from sorted peer URLs and the unix time, no cluster token (etcd)', () => {
  const now = 1_795_769_301_500;
  const nm = reconfig.newRuntimeMember(['http://b:2', 'http://a:1'], true, now);
  assert.deepEqual(nm.peerURLs, ['http://a:1', 'http://b:2']);
  assert.equal(nm.id, computeMemberId(['http://a:1', 'http://b:2'], '', 1_795_769_301));
  assert.deepEqual([nm.name, nm.isLearner, nm.clientURLs], ['', true, []]);
});

describe('add', () => {
  test('a voter needs a started quorum; every voter connected for 5 s', async () => {
    const { h } = host([m(1n, true), m(2n, false)], { active: { 2: LONG_AGO } });
    await assert.rejects(reconfig.addMember(h, m(5n, false)), ErrNotEnoughStartedMembers);
    const recent = host([m(1n, true), m(2n, true)], { active: { 2: Date.now() - 1000 } });
    await assert.rejects(reconfig.addMember(recent.h, m(5n, false)), ErrUnhealthy);
    const down = host([m(1n, true), m(2n, true)]);
    await assert.rejects(reconfig.addMember(down.h, m(5n, false, true)), ErrUnhealthy);
  });

  test('a learner skips the started quorum check; the change carries the member JSON', async () => {
    const { h, proposed } = host([m(1n, true), m(2n, false)], { active: { 2: LONG_AGO } });
    const learner = m(5n, false, true);
    await reconfig.addMember(h, learner);
    assert.deepEqual(proposed, [{ type: ConfChangeType.ConfChangeAddLearnerNode, nodeId: 5n, context: Buffer.from(memberToJson(learner)), id: 0n }]);
  });

  test('--strict-reconfig-check=false skips every check', async () => {
    const { h, proposed } = host([m(1n, true), m(2n, false)], { strict: false });
    await reconfig.addMember(h, m(5n, false));
    assert.equal(proposed[0].type, ConfChangeType.ConfChangeAddNode);
  });
});

describe('remove', () => {
  const three = [m(1n, true), m(2n, true), m(3n, true)];

  test('with one voter down, another live voter cannot go; the down one can', async () => {
    const { h, proposed } = host(three, { active: { 2: LONG_AGO } });
    await assert.rejects(reconfig.removeMember(h, 2n), ErrUnhealthy);
    await reconfig.removeMember(h, 3n);
    assert.deepEqual(proposed.map((c) => [c.type, c.nodeId, c.context.length]), [[ConfChangeType.ConfChangeRemoveNode, 3n, 0]]);
  });

  test('all connected: fine; started quorum of the rest required; learners always', async () => {
    await reconfig.removeMember(host(three, { active: { 2: LONG_AGO, 3: LONG_AGO } }).h, 2n);
    const unstarted = host([m(1n, true), m(2n, true), m(3n, false)], { active: { 2: LONG_AGO, 3: LONG_AGO } });
    await assert.rejects(reconfig.removeMember(unstarted.h, 2n), ErrNotEnoughStartedMembers);
    await reconfig.removeMember(host([m(1n, true), m(4n, false, true)]).h, 4n);
  });
});

test('update proposes UpdateNode with the new peer URLs', async () => {
  const { h, proposed } = host([m(1n, true), m(2n, true)]);
  await reconfig.updateMember(h, 2n, ['http://q:9']);
  assert.deepEqual(proposed, [
    {
      type: ConfChangeType.ConfChangeUpdateNode,
      nodeId: 2n,
      context: Buffer.from('{"id":2,"peerURLs":["http://q:9"]}'),
      id: 0n,
    },
  ]);
});

describe('promote', () => {
  const members = [m(1n, true), m(2n, true), m(3n, true, true)];

  test('on the leader: the learner must have 90% of the leader\'s match', async () => {
    await assert.rejects(reconfig.promoteLocal(host(members, { progress: { 1: 100, 2: 100, 3: 89 } }).h, 3n), ErrLearnerNotReady);
    await assert.rejects(reconfig.promoteLocal(host(members, { progress: { 1: 100, 2: 100 } }).h, 7n), ErrIDNotFound);
    const { h, proposed } = host(members, { progress: { 1: 100, 2: 100, 3: 90 } });
    await reconfig.promoteLocal(h, 3n);
    assert.deepEqual(proposed, [{ type: ConfChangeType.ConfChangeAddNode, nodeId: 3n, context: Buffer.from(promoteContextJson(3n)), id: 0n }]);
  });

  test('a started quorum counting the learner is required', async () => {
    const ms = [m(1n, true), m(2n, false), m(4n, false), m(3n, true, true)];
    await assert.rejects(reconfig.promoteLocal(host(ms, { progress: { 1: 10, 3: 10 } }).h, 3n), ErrNotEnoughStartedMembers);
  });

  test('not the leader: ErrNotLeader locally', async () => {
    await assert.rejects(reconfig.promoteLocal(host(members).h, 3n), ErrNotLeader);
  });
});

// ---- over HTTP (forwarding to the leader, joining) --------------------------------------------

const servers: http2.Http2Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

async function peerServer(local: PromoteLocal, list: Member[], clusterId: bigint): Promise<string> {
  const srv = http2.createServer();
  srv.on('session', (s) => s.unref());
  srv.on('stream', (stream, headers) => {
    const src = { cluster: { clusterId, memberList: () => list }, versions: () => ({ server: '3.4.23', cluster: '3.4.0' }) };
    if (!servePromoteHttp(local, stream, headers) && !servePeerInfo(src, stream, headers)) stream.respond({ ':status': 404 }, { endStream: true });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  srv.unref();
  servers.push(srv);
  return `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
}

describe('promote forwarded to the leader', () => {
  test('answers and final errors come back as themselves', async () => {
    let answer: Error | null = null;
    const promoted = [m(1n, true), m(3n, true)];
    const url = await peerServer(
      {
        cluster: { clusterId: 7n },
        promoteLocal: async (id) => {
          if (answer !== null) throw answer;
          assert.equal(id, 0xde1909b20527b7b5n);
          return promoted;
        },
      },
      [],
      7n,
    );
    assert.deepEqual(await promoteMemberHttp(url, 0xde1909b20527b7b5n, 2000, sessions), promoted);
    for (const e of [ErrLearnerNotReady, ErrMemberNotLearner, ErrIDNotFound]) {
      answer = e;
      await assert.rejects(promoteMemberHttp(url, 0xde1909b20527b7b5n, 2000, sessions), e);
    }
    answer = ErrNotLeader;
    await assert.rejects(promoteMemberHttp(url, 1n, 2000, sessions), /etcdserver: not leader/);
  });

  test('a follower forwards to the leader\'s peer URLs and retries until the request timeout', async () => {
    let calls = 0;
    let fail = true;
    const url = await peerServer(
      {
        cluster: { clusterId: 7n },
        promoteLocal: async () => {
          calls++;
          if (fail) throw ErrNotLeader;
          return [m(1n, true)];
        },
      },
      [],
      7n,
    );
    const { h } = host([m(1n, true), m(2n, true, false, url), m(3n, true, true)], { leader: 2n });
    await assert.rejects(reconfig.promoteMember(h, 3n), ErrTimeout);
    assert.ok(calls > 1, `retried (${calls} calls)`);
    fail = false;
    assert.deepEqual((await reconfig.memberPromote(h, 3n)).members.map((x) => x.ID), [1n]);
  });
});

describe('joining: the cluster from the peers', () => {
  const initial = (self: string, other: string) =>
    new Map([
      ['m0', [other]],
      ['m1', [self]],
    ]);

  test('takes member IDs, learner flags and the cluster ID from a peer', async () => {
    const self = 'http://127.0.0.1:1';
    const list: Member[] = [];
    const url = await peerServer({ cluster: { clusterId: 0x1216b2c8e9c4bc83n }, promoteLocal: async () => [] }, list, 0x1216b2c8e9c4bc83n);
    list.push(
      { id: 0x88e7569191d66cen, name: 'm0', peerURLs: [url], clientURLs: ['http://127.0.0.1:2'], isLearner: false },
      { id: 0xafee70ea399c74c3n, name: '', peerURLs: [self], clientURLs: [], isLearner: true },
    );
    const cl = await clusterFromRemotePeers({ name: 'm1', initialCluster: initial(self, url), initialClusterToken: 't' }, silentLogger);
    assert.equal(cl.clusterId, 0x1216b2c8e9c4bc83n);
    assert.equal(cl.localId, 0xafee70ea399c74c3n);
    assert.deepEqual(
      cl.memberList().map((x) => [x.id, x.name, x.isLearner]),
      [
        [0x88e7569191d66cen, 'm0', false],
        [0xafee70ea399c74c3n, 'm1', true],
      ],
    );
  });

  test('no peer answers: etcd\'s error', async () => {
    await assert.rejects(
      clusterFromRemotePeers({ name: 'm1', initialCluster: initial('http://127.0.0.1:1', 'http://127.0.0.1:9'), initialClusterToken: 't' }, silentLogger, {
        timeoutMs: 500,
      }),
      (e: Error) => e instanceof MembershipError && /could not retrieve cluster information from the given URLs/.test(e.message),
    );
  });
});
