// End-to-end: the JSON gateway and HTTP endpoints of a real server process, driven with plain HTTP
// requests. Bodies are compared with what real etcd 3.4.23 answers (recorded with E2E_SERVER=etcd)
// after IDs and terms are replaced by N; where etcd 3.5 (which tsetcd follows) differs from 3.4 —
// the health "reason" field, /livez and /readyz — the test expects 3.5's answer from tsetcd.

import assert from 'node:assert/strict';
import * as http from 'node:http';
import { after, describe, test } from 'node:test';
import { Cluster, SERVER, withCluster } from '../support/cluster.js';

const T = { timeout: 45_000 };
const is34 = SERVER === 'etcd';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

function request(port: number, method: string, path: string, body?: string, timeoutMs = 5000): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method, agent: false }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (b += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: b }));
    });
    req.setTimeout(timeoutMs, () => req.destroy(new Error(`${path}: no answer in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Reads a streamed response until `lines` newline-terminated lines arrived, then hangs up. */
function streamLines(port: number, path: string, body: string, lines: number): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const got: string[] = [];
    const req = http.request({ host: '127.0.0.1', port, path, method: 'POST', agent: false }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
          got.push(buf.slice(0, i));
          buf = buf.slice(i + 1);
        }
        if (got.length >= lines) {
          req.destroy();
          resolve(got.slice(0, lines));
        }
      });
    });
    req.setTimeout(5000, () => req.destroy(new Error(`${path}: only ${JSON.stringify(got)}`)));
    req.on('error', (e) => (got.length >= lines ? undefined : reject(e)));
    req.end(body);
  });
}

const b64 = (s: string) => Buffer.from(s).toString('base64');
/** IDs and terms vary between runs and servers. */
const norm = (s: string) => s.replace(/"(cluster_id|member_id|raft_term|ID|lease|memberID)":"\d+"/g, '"$1":N');

describe(`JSON gateway e2e (${SERVER})`, () => {
  after(() => Cluster.stopEverything());

  test('KV, lease and watch routes answer as etcd', T, () =>
    withCluster({ size: 1 }, async (c) => {
      const port = c.members[0].clientPort;
      const post = async (path: string, body: string) => {
        const r = await request(port, 'POST', path, body);
        return `${r.status} ${norm(r.body)}`;
      };
      const H = (rev: number) => `"header":{"cluster_id":N,"member_id":N,"revision":"${rev}","raft_term":N}`;
      const KV = (k: string, v: string, c: number, m: number, ver: number) =>
        `{"key":"${b64(k)}","create_revision":"${c}","mod_revision":"${m}","version":"${ver}","value":"${b64(v)}"}`;

      assert.equal(await post('/v3/kv/put', JSON.stringify({ key: b64('foo'), value: b64('bar') })), `200 {${H(2)}}`);
      assert.equal(await post('/v3/kv/put', JSON.stringify({ key: b64('foo2'), value: b64('baz') })), `200 {${H(3)}}`);
      assert.equal(await post('/v3/kv/range', JSON.stringify({ key: b64('foo') })), `200 {${H(3)},"kvs":[${KV('foo', 'bar', 2, 2, 1)}],"count":"1"}`);
      assert.equal(
        await post('/v3/kv/range', JSON.stringify({ key: b64('foo'), range_end: b64('fop'), count_only: true })),
        `200 {${H(3)},"count":"2"}`,
      );
      assert.equal(
        await post('/v3/kv/range', '{}'),
        '400 {"error":"etcdserver: key is not provided","message":"etcdserver: key is not provided","code":3}',
      );
      const badJson = await request(port, 'POST', '/v3/kv/range', '{bad');
      assert.equal(badJson.status, 400);
      assert.equal(JSON.parse(badJson.body).code, 3);
      assert.equal(
        await post(
          '/v3/kv/txn',
          JSON.stringify({
            compare: [{ key: b64('foo'), result: 'EQUAL', target: 'VALUE', value: b64('bar') }],
            success: [{ request_put: { key: b64('foo'), value: b64('qux') } }],
          }),
        ),
        `200 {${H(4)},"succeeded":true,"responses":[{"response_put":{"header":{"revision":"4"}}}]}`,
      );
      assert.equal(
        await post('/v3/kv/deleterange', JSON.stringify({ key: b64('foo2'), prev_kv: true })),
        `200 {${H(5)},"deleted":"1","prev_kvs":[${KV('foo2', 'baz', 3, 3, 1)}]}`,
      );
      assert.equal(
        await post('/v3/kv/compaction', '{"revision":100}'),
        '400 {"error":"etcdserver: mvcc: required revision is a future revision","message":"etcdserver: mvcc: required revision is a future revision","code":11}',
      );

      assert.equal(await post('/v3/lease/grant', '{"TTL":30,"ID":77}'), `200 {${H(5)},"ID":N,"TTL":"30"}`);
      assert.match(await post('/v3/lease/timetolive', '{"ID":77}'), /^200 \{"header":\{.*\},"ID":N,"TTL":"\d+","grantedTTL":"30"\}$/);
      assert.match(await post('/v3/kv/lease/timetolive', '{"ID":77}'), /"grantedTTL":"30"/);
      assert.equal(await post('/v3/lease/leases', '{}'), `200 {${H(5)},"leases":[{"ID":N}]}`);
      assert.equal(await post('/v3/kv/lease/leases', '{}'), `200 {${H(5)},"leases":[{"ID":N}]}`);
      const ka = await streamLines(port, '/v3/lease/keepalive', '{"ID":77}', 1);
      assert.equal(norm(ka[0]), `{"result":{${H(5)},"ID":N,"TTL":"30"}}`);
      assert.equal(await post('/v3/kv/lease/revoke', '{"ID":77}'), `200 {${H(5)}}`);
      assert.equal(
        await post('/v3/lease/revoke', '{"ID":77}'),
        '404 {"error":"etcdserver: requested lease not found","message":"etcdserver: requested lease not found","code":5}',
      );

      const w = await streamLines(port, '/v3/watch', JSON.stringify({ create_request: { key: b64('foo'), start_revision: 2 } }), 2);
      assert.deepEqual(w.map(norm), [
        `{"result":{${H(5)},"created":true}}`,
        `{"result":{${H(5)},"events":[{"kv":${KV('foo', 'bar', 2, 2, 1)}},{"kv":${KV('foo', 'qux', 2, 4, 2)}}]}}`,
      ]);

      const ml = JSON.parse((await request(port, 'POST', '/v3/cluster/member/list', '{}')).body);
      assert.deepEqual(
        ml.members.map((m: { name: string; peerURLs: string[]; clientURLs: string[] }) => [m.name, m.peerURLs, m.clientURLs]),
        [['m0', [`http://127.0.0.1:${c.members[0].peerPort}`], [`http://127.0.0.1:${port}`]]],
      );
      const st = JSON.parse((await request(port, 'POST', '/v3/maintenance/status', '{}')).body);
      assert.equal(st.leader, st.header.member_id);
      assert.equal(st.version, is34 ? '3.4.23' : '3.5.0');
    }),
  );

  test('lock and election routes', T, () =>
    withCluster({ size: 1 }, async (c) => {
      const port = c.members[0].clientPort;
      const post = async (path: string, body: unknown) => {
        const r = await request(port, 'POST', path, JSON.stringify(body));
        return { status: r.status, json: JSON.parse(r.body) };
      };
      const lease = (await post('/v3/lease/grant', { TTL: 30 })).json.ID as string;
      const hex = BigInt(lease).toString(16);
      const l = await post('/v3/lock/lock', { name: b64('gl'), lease });
      assert.equal(l.status, 200);
      assert.equal(Buffer.from(l.json.key, 'base64').toString(), `gl/${hex}`);
      assert.equal(l.json.header.revision, '2');
      // A second locker gives up when its HTTP request is cut: its waiting key goes away.
      await request(port, 'POST', '/v3/lock/lock', JSON.stringify({ name: b64('gl') }), 500).catch(() => {});
      const keys = async () =>
        (await post('/v3/kv/range', { key: b64('gl/'), range_end: b64('gl0'), keys_only: true })).json.kvs?.map((kv: { key: string }) =>
          Buffer.from(kv.key, 'base64').toString(),
        );
      const deadline = Date.now() + 3000;
      while ((await keys()).length !== 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(await keys(), [`gl/${hex}`]);
      assert.equal((await post('/v3/lock/unlock', { key: l.json.key })).status, 200);
      assert.deepEqual(await post('/v3/lock/unlock', {}), {
        status: 500,
        json: { error: 'etcdserver: key is not provided', message: 'etcdserver: key is not provided', code: 2 },
      });

      assert.deepEqual(await post('/v3/election/leader', { name: b64('ge') }), {
        status: 500,
        json: { error: 'election: no leader', message: 'election: no leader', code: 2 },
      });
      const cp = await post('/v3/election/campaign', { name: b64('ge'), lease, value: b64('v1') });
      assert.equal(cp.status, 200);
      assert.deepEqual(
        { ...cp.json.leader, lease: undefined },
        { name: b64('ge'), key: b64(`ge/${hex}`), rev: cp.json.header.revision, lease: undefined },
      );
      assert.equal((await post('/v3/election/proclaim', { leader: cp.json.leader, value: b64('v2') })).status, 200);
      const obs = await streamLines(port, '/v3/election/observe', JSON.stringify({ name: b64('ge') }), 1);
      assert.equal(Buffer.from(JSON.parse(obs[0]).result.kv.value, 'base64').toString(), 'v2');
      assert.equal((await post('/v3/election/resign', { leader: cp.json.leader })).status, 200);
      assert.equal((await post('/v3/election/proclaim', { leader: cp.json.leader, value: b64('v3') })).json.message, 'election: not leader');
    }),
  );

  test('HTTP endpoints, CORS, methods and unknown paths', T, () =>
    withCluster({ size: 1 }, async (c) => {
      const port = c.members[0].clientPort;
      const healthy = is34 ? '{"health":"true"}' : '{"health":"true","reason":""}';
      for (const p of ['/health', '/health?serializable=true']) {
        const h = await request(port, 'GET', p);
        assert.deepEqual([h.status, h.body, h.headers['content-type']], [200, healthy, 'text/plain; charset=utf-8']);
        assert.equal(h.headers['access-control-allow-origin'], '*');
      }
      if (!is34) {
        for (const p of ['/livez', '/readyz', '/readyz?serializable=true']) assert.equal((await request(port, 'GET', p)).body, healthy);
      }
      const v = JSON.parse((await request(port, 'GET', '/version')).body);
      assert.deepEqual(Object.keys(v), ['etcdserver', 'etcdcluster']);
      assert.equal((await request(port, 'POST', '/health')).status, 405);
      const opt = await request(port, 'OPTIONS', '/v3/kv/range');
      assert.deepEqual([opt.status, opt.body, opt.headers['access-control-allow-methods']], [200, '', 'POST, GET, OPTIONS, PUT, DELETE']);
      assert.deepEqual(
        [(await request(port, 'GET', '/v3/kv/range')).status, (await request(port, 'GET', '/v3/kv/range')).body],
        [405, 'Method Not Allowed\n'],
      );
      const nf = await request(port, 'POST', '/v3/nope', '{}');
      assert.deepEqual([nf.status, nf.body], [404, 'Not Found\n']);
      const nf2 = await request(port, 'GET', '/nope');
      assert.deepEqual([nf2.status, nf2.body], [404, '404 page not found\n']);

      // An alarm makes /health fail (503, text with a newline, as Go's http.Error) unless excluded.
      const member = JSON.parse((await request(port, 'POST', '/v3/maintenance/status', '{}')).body).header.member_id;
      const alarm = (action: string) =>
        request(port, 'POST', '/v3/maintenance/alarm', JSON.stringify({ action, memberID: member, alarm: 'NOSPACE' }));
      assert.equal((await alarm('ACTIVATE')).status, 200);
      const sick = await request(port, 'GET', '/health');
      assert.deepEqual(
        [sick.status, sick.body],
        [503, is34 ? '{"health":"false"}\n' : '{"health":"false","reason":"ALARM NOSPACE"}\n'],
      );
      assert.equal((await request(port, 'GET', '/health?exclude=NOSPACE')).body, healthy);
      if (!is34) {
        assert.equal((await request(port, 'GET', '/livez')).status, 200, 'NOSPACE does not fail liveness');
        assert.equal((await request(port, 'GET', '/readyz')).status, 503);
      }
      assert.equal((await alarm('DEACTIVATE')).status, 200);
      assert.equal((await request(port, 'GET', '/health')).body, healthy);
    }),
  );
});
