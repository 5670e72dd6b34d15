// End-to-end: require-leader streams in a 3-member cluster. A member cut off from the others (both
// killed) loses its leader; a watch opened on it with clientv3's `hasleader: true` metadata is then
// cancelled with "etcdserver: no leader" within etcd's bound (the leader lost after 1-2 election
// timeouts, then 3 leaderless checks one election timeout apart), while a watch without the
// metadata stays open; new require-leader calls are refused at once. The gRPC health service
// answers on the member throughout. Passes against real etcd 3.4 too (E2E_SERVER=etcd).

import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Code } from '../../src/api/errors.js';
import { clients, events, failure, metadata, openWatch, RecordingStream, unary } from '../api/v3rpc/grpcClients.js';
import { Cluster, SERVER, sleep, withCluster } from '../support/cluster.js';

const HEARTBEAT_MS = 50;
const ELECTION_MS = 300;
const NO_LEADER = { code: Code.UNAVAILABLE, details: 'etcdserver: no leader' };

describe(`require-leader e2e (${SERVER})`, () => {
  after(() => Cluster.stopEverything());

  test('an isolated member cancels require-leader watches with "no leader"; others stay open', { timeout: 60_000 }, (t) =>
    withCluster({ size: 3, heartbeatMs: HEARTBEAT_MS, electionMs: ELECTION_MS }, async (cl) => {
      const c = clients(cl.endpoint(0));
      try {
        assert.deepEqual(await unary(c.health, 'Check', { service: '' }), { status: 'SERVING' });
        assert.deepEqual(await failure(unary(c.health, 'Check', { service: 'no.such.Service' })), {
          code: Code.NOT_FOUND,
          details: 'unknown service',
        });

        const bound = await openWatch(c, 'rl/', true);
        const free = await openWatch(c, 'rl/', false);
        await unary(c.kv, 'Put', { key: Buffer.from('rl/a'), value: Buffer.from('1') }, true);
        await bound.until((s) => events(s).includes('rl/a=1'), 5000, 'the event on the require-leader watch');
        await free.until((s) => events(s).includes('rl/a=1'), 5000, 'the event on the plain watch');

        const killed = Date.now();
        await Promise.all([cl.kill(1), cl.kill(2)]);
        // Leader lost within 2 election timeouts, then cancelled by the third leaderless check.
        const limit = 5 * ELECTION_MS + 2000;
        await bound.until((s) => s.ended, limit, 'the require-leader watch to be cancelled');
        const waited = bound.endedAt - killed;
        t.diagnostic(`require-leader watch cancelled ${waited} ms after the kill`);
        assert.deepEqual({ code: bound.error?.code, details: bound.error?.details }, NO_LEADER);
        assert.ok(waited >= 2 * ELECTION_MS, `cancelled ${waited} ms after the kill: before the leader could be lost for long`);

        assert.deepEqual(await failure(unary(c.kv, 'Range', { key: Buffer.from('rl/a') }, true)), NO_LEADER);
        const r = await unary(c.kv, 'Range', { key: Buffer.from('rl/a'), serializable: true });
        assert.equal(r.kvs[0]?.value.toString(), '1');
        const refused = new RecordingStream(c.watch.Watch(metadata(true)));
        await refused.until((s) => s.ended, 2000, 'a new require-leader watch to be refused');
        assert.deepEqual({ code: refused.error?.code, details: refused.error?.details }, NO_LEADER);

        await sleep(3 * ELECTION_MS);
        assert.equal(free.ended, false, `the plain watch ended: ${free.error?.message}`);
        assert.deepEqual(await unary(c.health, 'Check', { service: '' }), { status: 'SERVING' });
        free.cancel();
      } finally {
        c.close();
      }
    }),
  );
});
