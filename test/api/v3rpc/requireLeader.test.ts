// Require-leader metadata (clientv3.WithRequireLeader: `hasleader: true`) over real gRPC (grpc-js)
// against the fake server, whose leader the tests take away and give back: unary calls and new
// streams fail with "etcdserver: no leader" while there is none; leader-bound streams are cancelled
// with that error after 3 leaderless election timeouts (not before 2), others stay open; a leader
// back in time saves them. Plus the LeaderMonitor's bookkeeping on its own.

import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import type { ApiServer } from '../../../src/api/apiServer.js';
import { Code, ErrGRPCNoLeader, type GrpcError } from '../../../src/api/errors.js';
import type { StreamCall } from '../../../src/api/grpc/server.js';
import { LeaderMonitor, MAX_NO_LEADER_COUNT, requiresLeader } from '../../../src/api/v3rpc/interceptors.js';
import { FakeServer, MEMBER_ID } from '../fakeServer.js';
import { events, failure, metadata, openWatch, RecordingStream, serveWithClients, unary, type Clients } from './grpcClients.js';
import { sleep } from '../../support/cluster.js';

const PERIOD_MS = 40;
const NO_LEADER = { code: Code.UNAVAILABLE, details: 'etcdserver: no leader' };

class LeaderFake extends FakeServer {
  readonly electionTimeoutMs = PERIOD_MS;
  learner = false;
  isLearner(): boolean {
    return this.learner;
  }
}

let fake: LeaderFake;
let api: ApiServer;
let c: Clients;

let stop: () => Promise<void>;

before(async () => {
  fake = new LeaderFake();
  ({ api, c, stop } = await serveWithClients(fake));
});

after(() => stop());

beforeEach(() => {
  fake.leader = MEMBER_ID;
  fake.learner = false;
});

const range = (key: string) => ({ key: Buffer.from(key) });

describe('unary calls', () => {
  test('with hasleader: refused while the member has no leader, served once it has one', async () => {
    assert.deepEqual((await unary(c.kv, 'Range', range('a'), true)).kvs, []);
    fake.leader = 0n;
    assert.deepEqual(await failure(unary(c.kv, 'Range', range('a'), true)), NO_LEADER);
    assert.deepEqual(await failure(unary(c.kv, 'Put', { key: Buffer.from('a'), value: Buffer.from('1') }, true)), NO_LEADER);
    fake.leader = MEMBER_ID;
    await unary(c.kv, 'Put', { key: Buffer.from('a'), value: Buffer.from('1') }, true);
  });

  test('without the metadata (or with another value) the leader is not required', async () => {
    fake.leader = 0n;
    await unary(c.kv, 'Range', range('a'), false);
    await new Promise<void>((resolve, reject) => {
      const md = metadata(false);
      md.set('hasleader', 'false');
      c.kv.Range(range('a'), md, (err: Error | null) => (err ? reject(err) : resolve()));
    });
  });

  test('the learner check comes first', async () => {
    fake.leader = 0n;
    fake.learner = true;
    assert.deepEqual(await failure(unary(c.kv, 'Range', range('a'), true)), {
      code: Code.UNAVAILABLE,
      details: 'etcdserver: rpc not supported for learner',
    });
  });
});

describe('streams', () => {
  test('a new leader-bound stream is refused at once without a leader; others are served', async () => {
    fake.leader = 0n;
    const w = new RecordingStream(c.watch.Watch(metadata(true)));
    await w.until((s) => s.ended, 2000, 'the refusal');
    assert.deepEqual({ code: w.error?.code, details: w.error?.details }, NO_LEADER);
    const plain = await openWatch(c, 'free/', false);
    assert.equal(plain.ended, false);
    plain.cancel();
  });

  test('leader lost: leader-bound streams are cancelled after 3 election timeouts, the rest stay open', async () => {
    const earlier = new Set(fake.streams);
    const bound = await openWatch(c, 'k/', true);
    const boundWs = [...fake.streams].find((ws) => !earlier.has(ws));
    assert.ok(boundWs !== undefined);
    const free = await openWatch(c, 'k/', false);
    const keepAlive = new RecordingStream(c.lease.LeaseKeepAlive(metadata(true)));
    // Let a check see the leader, so the count of leaderless checks starts from zero.
    await sleep(2 * PERIOD_MS);
    const lost = Date.now();
    fake.leader = 0n;
    await bound.until((s) => s.ended, 20 * PERIOD_MS, 'the leader-bound watch to be cancelled');
    assert.deepEqual({ code: bound.error?.code, details: bound.error?.details }, NO_LEADER);
    // Counted once per election timeout: the third leaderless check comes 2 to 3 periods after the loss.
    const waited = bound.endedAt - lost;
    assert.ok(waited >= (MAX_NO_LEADER_COUNT - 1) * PERIOD_MS - 5, `cancelled after only ${waited} ms`);
    await keepAlive.until((s) => s.ended, 5 * PERIOD_MS, 'the leader-bound keep-alive to be cancelled');
    assert.deepEqual({ code: keepAlive.error?.code, details: keepAlive.error?.details }, NO_LEADER);
    // The watch handler cleaned up: its server-side watch stream is closed.
    assert.equal(boundWs.closed, true);

    await sleep(4 * PERIOD_MS);
    assert.equal(free.ended, false);
    await unary(c.kv, 'Put', { key: Buffer.from('k/1'), value: Buffer.from('v') });
    await free.until((s) => events(s).includes('k/1=v'), 2000, 'the event on the stream without hasleader');
    free.cancel();
  });

  test('a leader back within 3 election timeouts keeps leader-bound streams', async () => {
    const bound = await openWatch(c, 'flap/', true);
    // The count of leaderless checks starts over only once a check has seen the leader.
    await sleep(2 * PERIOD_MS);
    fake.leader = 0n;
    await sleep(1.5 * PERIOD_MS);
    fake.leader = MEMBER_ID;
    await sleep(5 * PERIOD_MS);
    assert.equal(bound.ended, false);
    await unary(c.kv, 'Put', { key: Buffer.from('flap/1'), value: Buffer.from('v') });
    await bound.until((s) => events(s).includes('flap/1=v'), 2000, 'the event');
    bound.cancel();
  });
});

/** A stand-in stream call recording how it ended. */
function fakeCall(headers: Record<string, string> = {}): StreamCall<unknown, unknown> & { endedWith?: GrpcError | 'ok' } {
  const call = {
    headers,
    ctx: { token: undefined },
    onMessage: () => {},
    onHalfClose: () => {},
    onCancel: () => {},
    ended: false,
    endedWith: undefined as GrpcError | 'ok' | undefined,
    write: () => !call.ended,
    end(err?: GrpcError) {
      if (call.ended) return;
      call.ended = true;
      call.endedWith = err ?? 'ok';
    },
  };
  return call;
}

describe('LeaderMonitor', () => {
  test('reads the hasleader metadata as clientv3 sends it', () => {
    assert.equal(requiresLeader({ hasleader: 'true' }), true);
    assert.equal(requiresLeader({ hasleader: ['true'] }), true);
    assert.equal(requiresLeader({ hasleader: 'false' }), false);
    assert.equal(requiresLeader({}), false);
  });

  test('forgets calls that end on either side and passes messages straight through', () => {
    const s = { leader: MEMBER_ID };
    const m = new LeaderMonitor(s, 1000);
    const a = fakeCall();
    const ta = m.track(a);
    let got: unknown;
    ta.onMessage = (r) => (got = r);
    a.onMessage('req');
    assert.equal(got, 'req');
    assert.equal(m.size, 1);
    ta.end();
    assert.equal(a.endedWith, 'ok');
    assert.equal(m.size, 0);

    const b = fakeCall();
    const tb = m.track(b);
    let cancelled = false;
    tb.onCancel = () => (cancelled = true);
    b.onCancel(); // the client went away
    assert.equal(cancelled, true);
    assert.equal(m.size, 0);
  });

  test('cancels tracked calls after MAX_NO_LEADER_COUNT leaderless checks in a row', async () => {
    const s = { leader: MEMBER_ID };
    const m = new LeaderMonitor(s, 15);
    const a = fakeCall();
    let cancelled = 0;
    m.track(a).onCancel = () => cancelled++;
    m.start();
    try {
      s.leader = 0n;
      await sleep(15 * (MAX_NO_LEADER_COUNT - 1) - 5);
      assert.equal(a.ended, false);
      for (let i = 0; i < 100 && !a.ended; i++) await sleep(10);
      assert.equal(a.endedWith, ErrGRPCNoLeader);
      assert.equal(cancelled, 1);
      assert.equal(m.size, 0);
    } finally {
      m.stop();
    }
  });
});
