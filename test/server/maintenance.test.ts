// Server-side maintenance: MoveLeader's checks and wait, and Downgrade's validate / enable / cancel
// answers with etcd's errors, against a fake server.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { silentLogger } from '../../src/server/config.js';
import {
  ErrBadLeaderTransferee,
  ErrDowngradeInProcess,
  ErrInvalidDowngradeTargetVersion,
  ErrNoInflightDowngrade,
  ErrNotLeader,
  ErrTimeoutLeaderTransfer,
  ErrWrongDowngradeVersionFormat,
} from '../../src/server/errors.js';
import { DowngradeAction, Downgrades, moveLeader, parseClusterVersion, type MaintenanceHost } from '../../src/server/maintenance.js';

interface FakeHost extends MaintenanceHost {
  leader: bigint;
  transfers: [bigint, bigint][];
  reads: number;
}

function fakeHost(opts: { followsTransfer?: boolean } = {}): FakeHost {
  const members = new Map([
    [1n, { id: 1n, name: 'a', peerURLs: [], clientURLs: [], isLearner: false }],
    [2n, { id: 2n, name: 'b', peerURLs: [], clientURLs: [], isLearner: false }],
    [3n, { id: 3n, name: 'c', peerURLs: [], clientURLs: [], isLearner: true }],
  ]);
  const h: FakeHost = {
    id: 1n,
    leader: 1n,
    transfers: [],
    reads: 0,
    backend: undefined as never,
    kv: { hash: async () => ({ hash: 1, revision: 1 }) },
    cluster: { member: (id) => members.get(id) },
    node: {
      transferLeadership(lead, transferee) {
        h.transfers.push([lead, transferee]);
        if (opts.followsTransfer !== false) setTimeout(() => (h.leader = transferee), 15);
      },
    },
    cfg: { heartbeatMs: 5, requestTimeoutMs: 1000, logger: silentLogger },
    isLeader: () => h.leader === h.id,
    linearizableReadNotify: async () => {
      h.reads++;
    },
    versions: () => ({ server: '3.5.0', cluster: '3.5.0' }),
  };
  return h;
}

describe('moveLeader', () => {
  test('asks raft for the transfer and resolves once the transferee leads', async () => {
    const h = fakeHost();
    await moveLeader(h, 2n);
    assert.deepEqual(h.transfers, [[1n, 2n]]);
    assert.equal(h.leader, 2n);
  });

  test('refuses on a follower, for unknown members and learners', async () => {
    const f = fakeHost();
    f.leader = 2n;
    await assert.rejects(moveLeader(f, 2n), (e) => e === ErrNotLeader);
    const h = fakeHost();
    await assert.rejects(moveLeader(h, 9n), (e) => e === ErrBadLeaderTransferee);
    await assert.rejects(moveLeader(h, 3n), (e) => e === ErrBadLeaderTransferee);
    assert.deepEqual(h.transfers, []);
  });

  test('times out when leadership never moves', async () => {
    const h = fakeHost({ followsTransfer: false });
    const start = Date.now();
    await assert.rejects(moveLeader(h, 2n, 60), (e) => e === ErrTimeoutLeaderTransfer);
    assert.ok(Date.now() - start >= 55);
  });
});

describe('downgrade', () => {
  test('parses versions as etcd does (major.minor accepted)', () => {
    assert.deepEqual(parseClusterVersion('3.4'), { major: 3, minor: 4 });
    assert.deepEqual(parseClusterVersion('3.4.7'), { major: 3, minor: 4 });
    assert.deepEqual(parseClusterVersion('3.4.0-rc.1'), { major: 3, minor: 4 });
    assert.equal(parseClusterVersion('three'), null);
    assert.equal(parseClusterVersion('3'), null);
    assert.equal(parseClusterVersion('3.04.0'), null);
  });

  test('validate accepts only one minor version below the cluster version', async () => {
    const h = fakeHost();
    const d = new Downgrades();
    assert.deepEqual(await d.downgrade(h, { action: DowngradeAction.VALIDATE, version: '3.4' }), { version: '3.5.0' });
    assert.equal(h.reads, 1, 'validation reads linearizably');
    await assert.rejects(d.downgrade(h, { action: DowngradeAction.VALIDATE, version: 'x' }), (e) => e === ErrWrongDowngradeVersionFormat);
    await assert.rejects(d.downgrade(h, { action: DowngradeAction.VALIDATE, version: '3.3' }), (e) => e === ErrInvalidDowngradeTargetVersion);
    await assert.rejects(d.downgrade(h, { action: DowngradeAction.VALIDATE, version: '3.5' }), (e) => e === ErrInvalidDowngradeTargetVersion);
    await assert.rejects(d.downgrade(h, { action: DowngradeAction.VALIDATE, version: '2.4' }), (e) => e === ErrInvalidDowngradeTargetVersion);
    assert.equal(d.inProgress, null);
  });

  test('enable starts a job, a second one is refused, cancel ends it and cannot be repeated', async () => {
    const h = fakeHost();
    const d = new Downgrades();
    await assert.rejects(d.downgrade(h, { action: DowngradeAction.CANCEL, version: '' }), (e) => e === ErrNoInflightDowngrade);
    await assert.rejects(d.downgrade(h, { action: DowngradeAction.ENABLE, version: '3.3' }), (e) => e === ErrInvalidDowngradeTargetVersion);
    assert.equal(d.inProgress, null);
    assert.deepEqual(await d.downgrade(h, { action: DowngradeAction.ENABLE, version: '3.4.2' }), { version: '3.5.0' });
    assert.equal(d.inProgress, '3.4.0');
    await assert.rejects(d.downgrade(h, { action: DowngradeAction.ENABLE, version: '3.4' }), (e) => e === ErrDowngradeInProcess);
    await assert.rejects(d.downgrade(h, { action: DowngradeAction.VALIDATE, version: '3.4' }), (e) => e === ErrDowngradeInProcess);
    assert.deepEqual(await d.downgrade(h, { action: DowngradeAction.CANCEL, version: '' }), { version: '3.5.0' });
    assert.equal(d.inProgress, null);
    await assert.rejects(d.downgrade(h, { action: DowngradeAction.CANCEL, version: '' }), (e) => e === ErrNoInflightDowngrade);
  });
});
