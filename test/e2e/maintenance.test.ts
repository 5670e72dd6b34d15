// End-to-end: the Maintenance service driven by the real etcdctl — snapshot save (then restore with
// tsetcdutl, or etcdctl against real etcd, and start a member from it), defrag, alarms (a small
// --quota-backend-bytes raises NOSPACE; compact + defrag + disarm recovers), move-leader on three
// members, endpoint hashkv, and the Hash RPC through the etcd3 client.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import {
  Cluster,
  ETCD_BIN,
  SERVER,
  etcdctl,
  freePort,
  parseJsonExact,
  run,
  waitUntil,
  withCluster,
} from '../support/cluster.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const TSETCD = path.join(REPO_ROOT, 'bin', 'tsetcd');
const TSETCDUTL = path.join(REPO_ROOT, 'bin', 'tsetcdutl');
const UTL_BUILT = fs.existsSync(path.join(REPO_ROOT, 'dist', 'src', 'etcdutl', 'main.js'));

after(() => Cluster.stopEverything());

function ok(r: { code: number | null; stdout: string; stderr: string }, what: string): string {
  assert.equal(r.code, 0, `${what} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

/** Member i's status as etcdctl prints it in JSON (IDs kept exact). */
async function statusJson(c: Cluster, i: number): Promise<any> {
  const out = ok(await c.etcdctl(['endpoint', 'status', '-w', 'json'], { endpoints: c.endpoint(i) }), 'endpoint status');
  return parseJsonExact(out)[0].Status;
}

const hexId = (dec: string): string => BigInt(dec).toString(16);

describe('snapshot save, restore and start', () => {
  test('etcdctl snapshot save writes the db plus its sha256; a member restored from it serves the keys', async (t) => {
    const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tsetcd-snap-e2e-'));
    try {
      const file = path.join(tmp, 'backup.db');
      await withCluster({}, async (c) => {
        for (let i = 0; i < 20; i++) ok(await c.etcdctl(['put', `snap/${i}`, `v${i}`]), 'put');
        const out = ok(await c.etcdctl(['snapshot', 'save', file]), 'snapshot save');
        assert.match(out, new RegExp(`Snapshot saved at ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
      });
      const size = fs.statSync(file).size;
      assert.equal(size % 512, 32, `a database of whole sectors plus a 32-byte sha256 trailer, got ${size} bytes`);
      assert.equal(fs.existsSync(`${file}.part`), false);

      if (SERVER === 'tsetcd' && !UTL_BUILT) {
        t.diagnostic('tsetcdutl not built: restore skipped');
        return;
      }
      const peerPort = await freePort();
      const clientPort = await freePort();
      const dataDir = path.join(tmp, 'restored.etcd');
      const restoreArgs = [
        'snapshot',
        'restore',
        file,
        '--name=r0',
        `--data-dir=${dataDir}`,
        `--initial-cluster=r0=http://127.0.0.1:${peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
      ];
      const restored =
        SERVER === 'etcd'
          ? await etcdctl(restoreArgs)
          : await run(process.execPath, [TSETCDUTL, ...restoreArgs], { timeoutMs: 15_000 });
      ok(restored, 'snapshot restore');

      const args = [
        '--name=r0',
        `--data-dir=${dataDir}`,
        `--listen-client-urls=http://127.0.0.1:${clientPort}`,
        `--advertise-client-urls=http://127.0.0.1:${clientPort}`,
        `--listen-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-advertise-peer-urls=http://127.0.0.1:${peerPort}`,
        `--initial-cluster=r0=http://127.0.0.1:${peerPort}`,
        '--heartbeat-interval=20',
        '--election-timeout=200',
      ];
      const proc =
        SERVER === 'etcd'
          ? spawn(ETCD_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] })
          : spawn(process.execPath, [TSETCD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let log = '';
      proc.stdout!.on('data', (b: Buffer) => (log += b.toString()));
      proc.stderr!.on('data', (b: Buffer) => (log += b.toString()));
      const exited = new Promise((r) => proc.on('close', r));
      try {
        const ep = `127.0.0.1:${clientPort}`;
        await waitUntil(
          async () => (await etcdctl(['endpoint', 'health'], { endpoints: ep, timeoutMs: 3000 })).code === 0,
          15_000,
          () => `restored member never became healthy\n${log.slice(-4000)}`,
          100,
        );
        const got = ok(await etcdctl(['get', '--prefix', 'snap/', '--keys-only'], { endpoints: ep }), 'get');
        assert.equal(got.split('\n').filter((l) => l !== '').length, 20, got);
        assert.equal(ok(await etcdctl(['get', 'snap/7', '--print-value-only'], { endpoints: ep }), 'get').trim(), 'v7');
        ok(await etcdctl(['put', 'after-restore', 'yes'], { endpoints: ep }), 'put after restore');
      } finally {
        proc.kill('SIGKILL');
        await exited;
      }
    } finally {
      fs.rmSync(tmp, { recursive: true, force: true });
    }
  });
});

describe('defrag, alarms and quota', () => {
  test('defrag reclaims the space of deleted and compacted revisions', async () => {
    await withCluster({}, async (c) => {
      const big = 'x'.repeat(20_000);
      for (let i = 0; i < 30; i++) ok(await c.etcdctl(['put', `d/${i}`, big]), 'put');
      ok(await c.etcdctl(['del', '--prefix', 'd/']), 'del');
      const rev = Number((await statusJson(c, 0)).header.revision);
      ok(await c.etcdctl(['compact', String(rev), '--physical']), 'compact');
      const before = Number((await statusJson(c, 0)).dbSize);
      const out = ok(await c.etcdctl(['defrag']), 'defrag');
      assert.equal(out.trim(), `Finished defragmenting etcd member[${c.endpoint(0)}]`);
      const after = Number((await statusJson(c, 0)).dbSize);
      assert.ok(after < before / 2, `db size ${before} -> ${after} after defrag`);
      // still serving, and writable
      ok(await c.etcdctl(['put', 'after-defrag', '1']), 'put after defrag');
      assert.equal(ok(await c.etcdctl(['get', 'after-defrag', '--print-value-only']), 'get').trim(), '1');
    });
  });

  test('NOSPACE: a small quota raises the alarm and refuses writes until compact, defrag and disarm', async () => {
    await withCluster({ extraFlags: ['--quota-backend-bytes=300000'] }, async (c) => {
      const id = String((await statusJson(c, 0)).header.member_id);
      const big = 'q'.repeat(30_000);
      let refused = '';
      for (let i = 0; i < 60 && refused === ''; i++) {
        const r = await c.etcdctl(['put', `q/${i}`, big]);
        if (r.code !== 0) refused = r.stderr;
      }
      assert.match(refused, /Error: etcdserver: mvcc: database space exceeded/);
      const alarm = `memberID:${id} alarm:NOSPACE `;
      await waitUntil(
        async () => (await c.etcdctl(['alarm', 'list'])).stdout === `${alarm}\n`,
        5000,
        () => 'NOSPACE alarm never listed',
      );
      // every write is refused while the alarm is raised, however small
      const small = await c.etcdctl(['put', 'tiny', '1']);
      assert.notEqual(small.code, 0);
      assert.match(small.stderr, /etcdserver: mvcc: database space exceeded/);
      const st = await statusJson(c, 0);
      assert.deepEqual(st.errors, [alarm]);
      // reads are still served (etcdctl 3.4's health check is a Get)
      ok(await c.etcdctl(['endpoint', 'health']), 'endpoint health');
      assert.equal(ok(await c.etcdctl(['get', 'q/0', '--print-value-only']), 'get').trim(), big);

      // the documented recovery: free the space, then disarm
      ok(await c.etcdctl(['del', '--prefix', 'q/']), 'del');
      const rev = Number(st.header.revision) + 1;
      ok(await c.etcdctl(['compact', String(rev), '--physical']), 'compact');
      ok(await c.etcdctl(['defrag']), 'defrag');
      assert.equal(ok(await c.etcdctl(['alarm', 'disarm']), 'disarm'), `${alarm}\n`);
      assert.equal(ok(await c.etcdctl(['alarm', 'list']), 'alarm list'), '');
      ok(await c.etcdctl(['put', 'tiny', '1']), 'put after disarm');
      assert.deepEqual((await statusJson(c, 0)).errors ?? [], []);
    });
  });
});

describe('CORRUPT alarm and corruption checks', () => {
  test('an active CORRUPT alarm refuses writes (reads go on) until it is disarmed', async () => {
    await withCluster({}, async (c) => {
      ok(await c.etcdctl(['put', 'k', 'v']), 'put');
      const id = String((await statusJson(c, 0)).header.member_id);
      const client = new Etcd3({ hosts: [`http://${c.endpoint(0)}`] });
      try {
        await client.maintenance.alarm({ action: 'Activate', memberID: id, alarm: 'Corrupt' });
      } finally {
        client.close();
      }
      assert.equal(ok(await c.etcdctl(['alarm', 'list']), 'alarm list'), `memberID:${id} alarm:CORRUPT \n`);
      const put = await c.etcdctl(['put', 'k', 'w']);
      assert.notEqual(put.code, 0);
      assert.match(put.stderr, /etcdserver: corrupt cluster/);
      assert.equal(ok(await c.etcdctl(['get', 'k', '--print-value-only']), 'get').trim(), 'v');
      ok(await c.etcdctl(['alarm', 'disarm']), 'disarm');
      ok(await c.etcdctl(['put', 'k', 'w']), 'put after disarm');
    });
  });

  test('initial and periodic checks pass on a healthy cluster under writes (no false alarm)', async () => {
    const flags = ['--experimental-initial-corrupt-check=true', '--experimental-corrupt-check-time=100ms'];
    await withCluster({ size: 3, heartbeatMs: 50, electionMs: 500, extraFlags: flags }, async (c) => {
      for (let i = 0; i < 30; i++) ok(await c.etcdctl(['put', `c/${i % 7}`, `v${i}`]), 'put');
      ok(await c.etcdctl(['compact', '10']), 'compact');
      for (let i = 0; i < 10; i++) ok(await c.etcdctl(['put', `c/${i}`, `w${i}`]), 'put');
      await new Promise((r) => setTimeout(r, 600)); // several check passes
      assert.equal(ok(await c.etcdctl(['alarm', 'list']), 'alarm list'), '');
      // a member restarted with the initial check compares itself with its peers and starts
      await c.restart(1);
      assert.equal(ok(await c.etcdctl(['alarm', 'list']), 'alarm list'), '');
    });
  });
});

describe('three members', () => {
  test('move-leader hands leadership to the named member; bad targets and non-leaders are refused', async () => {
    await withCluster({ size: 3, heartbeatMs: 50, electionMs: 500 }, async (c) => {
      const lead = await c.waitLeader();
      const ids = await Promise.all([0, 1, 2].map(async (i) => hexId(String((await statusJson(c, i)).header.member_id))));
      const target = (lead + 1) % 3;
      const out = ok(await c.etcdctl(['move-leader', ids[target]!]), 'move-leader');
      assert.equal(out, `Leadership transferred from ${ids[lead]} to ${ids[target]}\n`);
      await waitUntil(async () => (await c.leaderIndex()) === target, 5000, () => 'members never agreed on the new leader');

      const bad = await c.etcdctl(['move-leader', 'abcdef']);
      assert.notEqual(bad.code, 0);
      assert.match(bad.stderr, /etcdserver: bad leader transferee/);

      // only followers given: etcdctl finds no leader endpoint
      const followers = [0, 1, 2].filter((i) => i !== target).map((i) => c.endpoint(i)).join(',');
      const none = await c.etcdctl(['move-leader', ids[lead]!], { endpoints: followers });
      assert.notEqual(none.code, 0);
      assert.match(none.stderr, /no leader endpoint given at/);
    });
  });

  test('endpoint hashkv agrees on every member; the Hash RPC is stable and follows writes', async () => {
    await withCluster({ size: 3, heartbeatMs: 50, electionMs: 500 }, async (c) => {
      for (let i = 0; i < 10; i++) ok(await c.etcdctl(['put', `h/${i}`, `v${i}`]), 'put');
      ok(await c.etcdctl(['del', 'h/3']), 'del');
      let lines: string[] = [];
      await waitUntil(
        async () => {
          const out = ok(await c.etcdctl(['endpoint', 'hashkv', '-w', 'json']), 'endpoint hashkv');
          const rows = parseJsonExact(out) as { Endpoint: string; HashKV: { header: { revision: number }; hash: number } }[];
          lines = rows.map((r) => `${r.Endpoint} rev=${r.HashKV.header.revision} hash=${r.HashKV.hash}`);
          return rows.length === 3 && new Set(rows.map((r) => `${r.HashKV.header.revision}/${r.HashKV.hash}`)).size === 1;
        },
        5000,
        () => `hashes differ:\n${lines.join('\n')}`,
      );
      const simple = ok(await c.etcdctl(['endpoint', 'hashkv']), 'endpoint hashkv');
      assert.match(simple, new RegExp(`^${c.endpoint(0).replace(/\./g, '\\.')}, \\d+\n`));

      const client = new Etcd3({ hosts: [`http://${c.endpoint(0)}`] });
      try {
        const h1 = await client.maintenance.hash({});
        const h2 = await client.maintenance.hash({});
        assert.equal(h1.hash, h2.hash);
        assert.equal(h1.header.revision, h2.header.revision);
        await client.put('h/new').value('x');
        const h3 = await client.maintenance.hash({});
        assert.notEqual(h3.hash, h1.hash);
        assert.equal(Number(h3.header.revision), Number(h1.header.revision) + 1);
      } finally {
        client.close();
      }
    });
  });
});
