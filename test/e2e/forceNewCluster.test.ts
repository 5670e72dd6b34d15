// End-to-end: --force-new-cluster. A three-member cluster takes writes and stops; one member restarted
// with the flag keeps its data, cluster ID and member ID, removes the other two, elects itself and
// takes new writes; a later restart without the flag stays a one-member cluster. Passes against real
// etcd 3.4 too (E2E_SERVER=etcd), including the "forcing restart member" log line.

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { Cluster, SERVER, parseJsonExact, waitUntil, withCluster } from '../support/cluster.js';

after(() => Cluster.stopEverything());

const KEYS = 20;

async function ok(c: Cluster, args: string[], endpoint: string): Promise<string> {
  const r = await c.etcdctl(args, { endpoints: endpoint });
  assert.equal(r.code, 0, `etcdctl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** Member IDs (decimal strings) and names from `member list -w json`. */
async function members(c: Cluster, endpoint: string): Promise<{ id: string; name: string; peer: string[] }[]> {
  const j = parseJsonExact(await ok(c, ['member', 'list', '-w', 'json'], endpoint));
  return j.members.map((m: any) => ({ id: String(m.ID), name: String(m.name ?? ''), peer: m.peerURLs }));
}

test('--force-new-cluster restarts one member of three as a one-member cluster with all its data', { timeout: 60_000 }, async () => {
  await withCluster({ size: 3, heartbeatMs: 20, electionMs: 200 }, async (c) => {
    const e0 = c.endpoint(0);
    for (let i = 0; i < KEYS; i++) await ok(c, ['put', `k${i}`, `v${i}`], c.endpoints());
    const before = await members(c, e0);
    assert.equal(before.length, 3);
    const self = before.find((m) => m.name === 'm0')!;
    const status0 = await c.status(0);
    // m0 may trail the leader: wait until it has applied every write before stopping everyone.
    await waitUntil(
      async () => (await ok(c, ['get', 'k', '--prefix', '--keys-only', '-w', 'json', '--consistency=s'], e0)).includes(`"count":${KEYS}`),
      10_000,
      () => 'm0 never applied every write',
    );
    // The majority is lost for good; the survivor is stopped cleanly, as an operator would before
    // restarting it with the flag (after a SIGKILL real etcd may keep a follower's last applied write
    // only in an uncommitted backend batch beyond its WAL commit, which the flag then discards).
    await c.kill(1);
    await c.kill(2);
    await c.kill(0, 'SIGTERM');

    await c.restart(0, 20_000, ['--force-new-cluster']);
    const s = await waitUntil(
      async () => {
        const st = await c.status(0);
        return st.leader === st.memberId ? st : null;
      },
      10_000,
      () => 'm0 never became leader alone',
    );
    assert.equal(s.memberId, status0.memberId, 'member ID kept');
    assert.equal(s.clusterId, status0.clusterId, 'cluster ID kept');

    const after1 = await members(c, e0);
    assert.deepEqual(after1, [self], 'member list shows only m0');

    const kvs = parseJsonExact(await ok(c, ['get', 'k', '--prefix', '-w', 'json'], e0)).kvs ?? [];
    const got = new Map<string, string>(
      kvs.map((kv: any) => [Buffer.from(kv.key, 'base64').toString(), Buffer.from(kv.value, 'base64').toString()]),
    );
    assert.deepEqual(
      Array.from({ length: KEYS }, (_, i) => `k${i}=${got.get(`k${i}`)}`),
      Array.from({ length: KEYS }, (_, i) => `k${i}=v${i}`),
      'every key survives',
    );

    assert.equal((await ok(c, ['put', 'after', 'force'], e0)).trim(), 'OK');
    assert.equal(await ok(c, ['get', 'after', '--print-value-only'], e0), 'force\n');

    const log = c.members[0].log;
    assert.match(log, /"msg":"forcing restart member"/);
    assert.match(log, /"force-new-cluster":true/);
    assert.doesNotMatch(log.slice(log.lastIndexOf('starting an etcd server')), /"msg":"restarting local member"/);

    // The removals are durable: a plain restart stays alone and keeps the new write.
    await c.restart(0, 20_000);
    await waitUntil(
      async () => {
        const st = await c.status(0);
        return st.leader === st.memberId;
      },
      10_000,
      () => 'm0 never became leader again',
    );
    assert.deepEqual(await members(c, e0), [self]);
    assert.equal(await ok(c, ['get', 'after', '--print-value-only'], e0), 'force\n');
    assert.equal(
      (await ok(c, ['get', 'k', '--prefix', '--keys-only', '-w', 'json'], e0)).match(/"count":(\d+)/)?.[1],
      String(KEYS),
    );
    if (SERVER === 'tsetcd') {
      const tail = c.members[0].log.slice(c.members[0].log.lastIndexOf('starting an etcd server'));
      assert.match(tail, /"msg":"restarting local member"/);
      assert.doesNotMatch(tail, /"msg":"forcing restart member"/);
    }
  });
});
