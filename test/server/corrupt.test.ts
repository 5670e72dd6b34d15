// Corruption checks: the /members/hashkv peer endpoint and its client, the initial check at
// start-up and the leader's periodic check, against peers served over real HTTP/2 on 127.0.0.1.

import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { after, describe, test } from 'node:test';
import {
  CorruptionChecker,
  CorruptionError,
  HashKVClient,
  PEER_HASHKV_PATH,
  serveHashKV,
  type CorruptHost,
  type HashKVSource,
} from '../../src/server/corrupt.js';
import { silentLogger } from '../../src/server/config.js';
import { AlarmAction, AlarmType, type AlarmRequest } from '../../src/server/etcdserverpb/rpc.js';
import { ErrCompacted, ErrFutureRev } from '../../src/storage/mvcc/errors.js';

/** A member's KV as HashKV sees it: a fixed hash, current and compact revisions. */
interface FakeKv {
  hash: number;
  rev: number;
  crev: number;
}

function source(kv: FakeKv, clusterId = 0x1234n): HashKVSource & { asked: number[] } {
  const asked: number[] = [];
  return {
    asked,
    cluster: { clusterId },
    kv: {
      hashByRev(rev: number) {
        asked.push(rev);
        if (rev > 0 && rev < kv.crev) throw ErrCompacted;
        if (rev > kv.rev) throw ErrFutureRev;
        return { hash: { hash: kv.hash, compactRevision: kv.crev, revision: rev || kv.rev }, currentRev: kv.rev };
      },
    },
  };
}

const servers: http2.Http2Server[] = [];
after(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

/** A peer listener serving /members/hashkv for `src`; resolves with its URL. */
async function peer(src: HashKVSource): Promise<string> {
  const srv = http2.createServer();
  srv.on('stream', (stream, headers) => {
    if (!serveHashKV(src, stream, headers)) {
      stream.respond({ ':status': 404 });
      stream.end();
    }
  });
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
}

/** A raw request to a peer: status, headers and body. */
async function request(url: string, method: string, body: string): Promise<{ status: number; headers: http2.IncomingHttpHeaders; body: string }> {
  const s = http2.connect(url);
  try {
    return await new Promise((resolve, reject) => {
      const req = s.request({ ':method': method, ':path': PEER_HASHKV_PATH }, { endStream: false });
      let headers: http2.IncomingHttpHeaders = {};
      let out = '';
      req.on('response', (h) => (headers = h));
      req.on('data', (c: Buffer) => (out += c.toString()));
      req.on('end', () => resolve({ status: Number(headers[':status']), headers, body: out }));
      req.on('error', reject);
      req.end(body);
    });
  } finally {
    s.close();
  }
}

interface TestHost extends CorruptHost {
  alarms: AlarmRequest[];
  leader: boolean;
}

function host(id: bigint, kv: FakeKv, peers: { id: bigint; peerURLs: string[] }[]): TestHost {
  const src = source(kv);
  const h: TestHost = {
    id,
    alarms: [],
    leader: true,
    cluster: { clusterId: 0x1234n, memberList: () => [{ id, peerURLs: ['http://127.0.0.1:1'] }, ...peers] },
    kv: src.kv,
    cfg: { requestTimeoutMs: 2000, logger: silentLogger },
    isLeader: () => h.leader,
    linearizableReadNotify: async () => {},
    alarm: async (r) => {
      h.alarms.push(r);
      return { header: { clusterId: 0x1234n, memberId: id, revision: kv.rev, raftTerm: 1 }, alarms: [{ memberID: r.memberID, alarm: r.alarm }] };
    },
  };
  return h;
}

describe('/members/hashkv', () => {
  test('answers etcd JSON for GET {"revision":N} with the cluster ID header', async () => {
    const src = source({ hash: 0xdeadbeef, rev: 20, crev: 5 });
    const url = await peer(src);
    const r = await request(url, 'GET', '{"revision":12}');
    assert.equal(r.status, 200);
    assert.equal(r.headers['content-type'], 'application/json');
    assert.equal(r.headers['x-etcd-cluster-id'], '1234');
    assert.deepEqual(JSON.parse(r.body), { header: { revision: 20 }, hash: 0xdeadbeef, compact_revision: 5 });
    assert.deepEqual(src.asked, [12]);
    // an empty body means revision 0 (the current one)
    assert.equal((await request(url, 'GET', '')).status, 200);
    assert.deepEqual(src.asked, [12, 0]);
  });

  test('refuses other methods, bad bodies, and reports compacted and future revisions as 400', async () => {
    const url = await peer(source({ hash: 1, rev: 20, crev: 5 }));
    const post = await request(url, 'POST', '{}');
    assert.equal(post.status, 405);
    assert.equal(post.headers['allow'], 'GET');
    assert.equal((await request(url, 'GET', 'not json')).status, 400);
    assert.equal((await request(url, 'GET', '{"revision":"x"}')).status, 400);
    const compacted = await request(url, 'GET', '{"revision":3}');
    assert.equal(compacted.status, 400);
    assert.equal(compacted.body, `${ErrCompacted.message}\n`);
    const future = await request(url, 'GET', '{"revision":21}');
    assert.equal(future.status, 400);
    assert.equal(future.body, `${ErrFutureRev.message}\n`);
  });

  test('HashKVClient decodes answers and maps errors to the mvcc singletons', async () => {
    const url = await peer(source({ hash: 77, rev: 20, crev: 5 }));
    const c = new HashKVClient();
    try {
      assert.deepEqual(await c.fetch(url, 10, 2000), { hash: 77, revision: 20, compactRevision: 5 });
      await assert.rejects(c.fetch(url, 2, 2000), (e) => e === ErrCompacted);
      await assert.rejects(c.fetch(url, 30, 2000), (e) => e === ErrFutureRev);
      const down = `http://127.0.0.1:${await closedPort()}`;
      await assert.rejects(c.fetch(down, 1, 2000), /hashkv request to .* failed/);
    } finally {
      c.close();
    }
    await assert.rejects(c.fetch(url, 1, 2000), /closed/);
  });
});

async function closedPort(): Promise<number> {
  const srv = http2.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

describe('initial corruption check', () => {
  test('passes when peers agree, differ only in compaction, are behind or down', async () => {
    const same = await peer(source({ hash: 100, rev: 10, crev: 0 }));
    const otherCompaction = await peer(source({ hash: 999, rev: 10, crev: 4 }));
    const behind = await peer(source({ hash: 5, rev: 8, crev: 0 }));
    const down = `http://127.0.0.1:${await closedPort()}`;
    const h = host(1n, { hash: 100, rev: 10, crev: 0 }, [
      { id: 2n, peerURLs: [same] },
      { id: 3n, peerURLs: [otherCompaction] },
      { id: 4n, peerURLs: [behind] },
      { id: 5n, peerURLs: [down] },
    ]);
    const c = new CorruptionChecker(h);
    try {
      await c.initialCheck();
      const results = await c.peerHashes(10);
      assert.equal(results.find((r) => r.id === 4n)!.err, ErrFutureRev);
      assert.equal(results.find((r) => r.id === 5n)!.resp, null);
    } finally {
      await c.stop();
    }
  });

  test('fails on a different hash at the same compact revision', async () => {
    const bad = await peer(source({ hash: 101, rev: 10, crev: 0 }));
    const h = host(0xabcn, { hash: 100, rev: 10, crev: 0 }, [{ id: 2n, peerURLs: [bad] }]);
    const c = new CorruptionChecker(h);
    try {
      await assert.rejects(c.initialCheck(), (e) => e instanceof CorruptionError && e.message === 'abc found data inconsistency with peers');
    } finally {
      await c.stop();
    }
  });

  test('a second peer URL is tried when the first fails', async () => {
    const down = `http://127.0.0.1:${await closedPort()}`;
    const bad = await peer(source({ hash: 1, rev: 10, crev: 0 }));
    const h = host(1n, { hash: 100, rev: 10, crev: 0 }, [{ id: 2n, peerURLs: [down, bad] }]);
    const c = new CorruptionChecker(h);
    try {
      await assert.rejects(c.initialCheck(), CorruptionError);
    } finally {
      await c.stop();
    }
  });
});

describe("the leader's periodic check", () => {
  test('raises no alarm when every follower is consistent', async () => {
    const f1 = await peer(source({ hash: 100, rev: 10, crev: 3 }));
    const f2 = await peer(source({ hash: 7, rev: 9, crev: 3 })); // behind: hashes at 10 fail, not compared
    const h = host(1n, { hash: 100, rev: 10, crev: 3 }, [
      { id: 2n, peerURLs: [f1] },
      { id: 3n, peerURLs: [f2] },
    ]);
    const c = new CorruptionChecker(h);
    try {
      assert.equal(await c.checkHashKV(), null);
      assert.deepEqual(h.alarms, []);
    } finally {
      await c.stop();
    }
  });

  test('raises CORRUPT for a follower whose hash differs at the same compact revision', async () => {
    const good = await peer(source({ hash: 100, rev: 10, crev: 3 }));
    const bad = await peer(source({ hash: 55, rev: 10, crev: 3 }));
    const h = host(1n, { hash: 100, rev: 10, crev: 3 }, [
      { id: 2n, peerURLs: [good] },
      { id: 3n, peerURLs: [bad] },
    ]);
    const c = new CorruptionChecker(h);
    try {
      assert.equal(await c.checkHashKV(), 3n);
      assert.deepEqual(h.alarms, [{ action: AlarmAction.ACTIVATE, memberID: 3n, alarm: AlarmType.CORRUPT }]);
    } finally {
      await c.stop();
    }
  });

  test('raises CORRUPT for a follower ahead of the leader in revision or compaction', async () => {
    // a follower cannot have a revision the leader has not: its hashByRev(10) answers rev 12
    const ahead = await peer(source({ hash: 100, rev: 12, crev: 3 }));
    const h = host(1n, { hash: 100, rev: 10, crev: 3 }, [{ id: 7n, peerURLs: [ahead] }]);
    const c = new CorruptionChecker(h);
    try {
      assert.equal(await c.checkHashKV(), 7n);
    } finally {
      await c.stop();
    }
    const compactedAhead = await peer(source({ hash: 100, rev: 10, crev: 6 }));
    const h2 = host(1n, { hash: 100, rev: 10, crev: 3 }, [{ id: 8n, peerURLs: [compactedAhead] }]);
    const c2 = new CorruptionChecker(h2);
    try {
      assert.equal(await c2.checkHashKV(), 8n);
      assert.equal(h2.alarms.length, 1, 'one alarm per pass');
    } finally {
      await c2.stop();
    }
  });

  test('start() runs passes only while leading; stop() ends them', async () => {
    const bad = await peer(source({ hash: 1, rev: 10, crev: 0 }));
    const h = host(1n, { hash: 100, rev: 10, crev: 0 }, [{ id: 2n, peerURLs: [bad] }]);
    h.leader = false;
    const c = new CorruptionChecker(h);
    c.start(20);
    await new Promise((r) => setTimeout(r, 120));
    assert.deepEqual(h.alarms, [], 'a follower does not check');
    h.leader = true;
    const deadline = Date.now() + 3000;
    while (h.alarms.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    await c.stop();
    assert.ok(h.alarms.length > 0, 'the leader raised the alarm');
    const n = h.alarms.length;
    await new Promise((r) => setTimeout(r, 80));
    assert.equal(h.alarms.length, n, 'no pass after stop');
  });
});
