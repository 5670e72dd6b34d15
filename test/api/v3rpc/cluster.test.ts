// The Cluster service and the learner guard through the real etcdctl, over the fake server: member
// add/update/remove/promote/list requests and responses (headers without a revision, as etcd 3.4),
// peer URL validation, and what a learner refuses.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { validPeerUrls } from '../../../src/api/v3rpc/cluster.js';
import type { Member, RequestContext } from '../../../src/api/types.js';
import { ApiServer } from '../../../src/api/apiServer.js';
import { FakeServer } from '../fakeServer.js';
import { etcdctl } from '../helpers.js';

class ClusterFake extends FakeServer {
  learner = false;
  members: Member[] = [{ ID: 0x8e9e05c52164694dn, name: 'default', peerURLs: ['http://127.0.0.1:2380'], clientURLs: ['http://127.0.0.1:2379'], isLearner: false }];
  calls: string[] = [];

  isLearner(): boolean {
    return this.learner;
  }

  async memberList(_linearizable: boolean, _ctx: RequestContext) {
    return { members: this.members };
  }

  async memberAdd(r: { peerURLs: string[]; isLearner: boolean }) {
    this.calls.push(`add ${r.peerURLs.join(',')} ${r.isLearner}`);
    const member: Member = { ID: 0xafee70ea399c74c3n, name: '', peerURLs: r.peerURLs, clientURLs: [], isLearner: r.isLearner };
    this.members = [...this.members, member];
    return { member, members: this.members };
  }

  async memberRemove(r: { ID: bigint }) {
    this.calls.push(`remove ${r.ID.toString(16)}`);
    this.members = this.members.filter((m) => m.ID !== r.ID);
    return { members: this.members };
  }

  async memberUpdate(r: { ID: bigint; peerURLs: string[] }) {
    this.calls.push(`update ${r.ID.toString(16)} ${r.peerURLs.join(',')}`);
    return { members: this.members };
  }

  async memberPromote(r: { ID: bigint }) {
    this.calls.push(`promote ${r.ID.toString(16)}`);
    return { members: this.members };
  }
}

test('peer URLs: etcd types.NewURLs rules', () => {
  assert.deepEqual(validPeerUrls([' http://b:2 ', 'https://a:1']), ['http://b:2', 'https://a:1'].sort());
  assert.deepEqual(validPeerUrls(['http://[::1]:2380', 'unix://sock']), ['http://[::1]:2380', 'unix://sock']);
  for (const bad of [[], ['127.0.0.1:2380'], ['ftp://a:1'], ['http://a'], ['http://a:1/path'], ['notaurl']]) {
    assert.equal(validPeerUrls(bad), null, JSON.stringify(bad));
  }
});

describe('Cluster service and learner guard (etcdctl)', () => {
  let api: ApiServer;
  let fake: ClusterFake;
  let port: number;
  before(async () => {
    fake = new ClusterFake();
    api = new ApiServer(fake, { port: 0, stopGraceMs: 200 });
    await api.start();
    port = api.port;
  });
  after(() => api.stop());

  test('member add / update / promote / remove reach the server; etcdctl prints etcd\'s text', async () => {
    const add = await etcdctl(port, ['member', 'add', 'm1', '--learner', '--peer-urls=http://127.0.0.1:2381']);
    assert.equal(add.code, 0, add.stderr);
    assert.equal(
      add.stdout,
      'Member afee70ea399c74c3 added to cluster cdf818194e3a8c32\n\n' +
        'ETCD_NAME="m1"\n' +
        'ETCD_INITIAL_CLUSTER="default=http://127.0.0.1:2380,m1=http://127.0.0.1:2381"\n' +
        'ETCD_INITIAL_ADVERTISE_PEER_URLS="http://127.0.0.1:2381"\n' +
        'ETCD_INITIAL_CLUSTER_STATE="existing"\n',
    );
    const list = await etcdctl(port, ['member', 'list', '-w', 'json']);
    assert.equal(
      list.stdout,
      '{"header":{"cluster_id":14841639068965178418,"member_id":10276657743932975437,"raft_term":2},"members":[' +
        '{"ID":10276657743932975437,"name":"default","peerURLs":["http://127.0.0.1:2380"],"clientURLs":["http://127.0.0.1:2379"]},' +
        '{"ID":12677194152385737923,"peerURLs":["http://127.0.0.1:2381"],"isLearner":true}]}\n',
    );
    assert.equal((await etcdctl(port, ['member', 'promote', 'afee70ea399c74c3'])).stdout, 'Member afee70ea399c74c3 promoted in cluster cdf818194e3a8c32\n');
    assert.equal(
      (await etcdctl(port, ['member', 'update', 'afee70ea399c74c3', '--peer-urls=http://127.0.0.1:2391'])).stdout,
      'Member afee70ea399c74c3 updated in cluster cdf818194e3a8c32\n',
    );
    assert.equal((await etcdctl(port, ['member', 'remove', 'afee70ea399c74c3'])).stdout, 'Member afee70ea399c74c3 removed from cluster cdf818194e3a8c32\n');
    assert.deepEqual(fake.calls, [
      'add http://127.0.0.1:2381 true',
      'promote afee70ea399c74c3',
      'update afee70ea399c74c3 http://127.0.0.1:2391',
      'remove afee70ea399c74c3',
    ]);
  });

  test('a learner serves serializable reads and Status; refuses the rest as Unavailable', async () => {
    fake.learner = true;
    try {
      const put = await etcdctl(port, ['put', 'k', 'v']);
      assert.equal(put.code, 1);
      assert.match(put.stderr, /code = Unavailable desc = etcdserver: rpc not supported for learner/);
      assert.match(put.stderr, /Error: etcdserver: rpc not supported for learner\n$/);
      const get = await etcdctl(port, ['get', 'k', '--consistency=s']);
      assert.equal(get.code, 0, get.stderr);
      const status = await etcdctl(port, ['endpoint', 'status']);
      assert.equal(status.code, 0, status.stderr);
      const members = await etcdctl(port, ['member', 'list']);
      assert.match(members.stderr, /Error: etcdserver: rpc not supported for learner/);
    } finally {
      fake.learner = false;
    }
    assert.equal((await etcdctl(port, ['put', 'k', 'v'])).code, 0);
  });
});
