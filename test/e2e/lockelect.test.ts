// End-to-end: `etcdctl lock` and `etcdctl elect` (client-side recipes over KV, Lease and Watch)
// against a one-member server: a lock around a command (ETCD_LOCK_KEY/ETCD_LOCK_REV), mutual
// exclusion of two lockers, release by lease expiry when a holder is killed, and an election with
// an observer and a hand-over. Passes against real etcd 3.4 too (E2E_SERVER=etcd).

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { Cluster, ETCDCTL_BIN, SERVER, waitUntil, withCluster } from '../support/cluster.js';

const T = { timeout: 45_000 };

/** A long-running etcdctl that can be stopped with a chosen signal (SIGINT lets it clean up). */
class Ctl {
  private readonly child: ChildProcess;
  out = '';
  err = '';
  readonly exited: Promise<number | null>;

  constructor(c: Cluster, args: string[]) {
    this.child = spawn(ETCDCTL_BIN, [`--endpoints=${c.endpoints()}`, ...args], {
      env: { ...process.env, ETCDCTL_API: '3' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (d: Buffer) => (this.out += d.toString()));
    this.child.stderr!.on('data', (d: Buffer) => (this.err += d.toString()));
    this.exited = new Promise((r) => this.child.on('close', (code) => r(code)));
  }

  waitFor(re: RegExp, timeoutMs = 10_000): Promise<RegExpExecArray> {
    return waitUntil(() => re.exec(this.out), timeoutMs, () => `no ${re} in stdout:\n${this.out}\nstderr:\n${this.err}`, 20);
  }

  async stop(signal: NodeJS.Signals = 'SIGINT'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }
}

describe(`etcdctl lock and elect (${SERVER})`, () => {
  const ctls: Ctl[] = [];
  const ctl = (c: Cluster, args: string[]) => {
    const x = new Ctl(c, args);
    ctls.push(x);
    return x;
  };
  after(async () => {
    await Promise.all(ctls.map((x) => x.stop('SIGKILL')));
    await Cluster.stopEverything();
  });

  test('lock runs a command holding the lock and releases it', T, () =>
    withCluster({ size: 1 }, async (c) => {
      const r = await c.etcdctl(['lock', 'mylock', '--', 'sh', '-c', 'echo "key=$ETCD_LOCK_KEY rev=$ETCD_LOCK_REV"']);
      assert.equal(r.code, 0, r.stderr);
      // A fresh store: the lock key is the first write (revision 2).
      assert.match(r.stdout, /^key=mylock\/[0-9a-f]+ rev=2\n$/);
      const left = await c.etcdctl(['get', '--prefix', 'mylock/']);
      assert.equal(left.stdout, '', 'the key is deleted after the command');
      const failing = await c.etcdctl(['lock', 'mylock', 'false']);
      assert.equal(failing.code, 1, 'the command exit status is reported');
    }),
  );

  test('lock without a command prints the key, holds it, and unlocks on SIGINT', T, () =>
    withCluster({ size: 1 }, async (c) => {
      const a = ctl(c, ['lock', 'held']);
      const m = await a.waitFor(/^(held\/[0-9a-f]+)\n\n$/);
      const keys = await c.etcdctl(['get', '--prefix', 'held/', '--keys-only']);
      assert.equal(keys.stdout, `${m[1]}\n\n`);
      assert.equal(await a.stop('SIGINT'), 0);
      assert.equal((await c.etcdctl(['get', '--prefix', 'held/'])).stdout, '');
    }),
  );

  test('two lockers exclude each other', T, () =>
    withCluster({ size: 1 }, async (c) => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsetcd-lock-'));
      const log = path.join(dir, 'log');
      try {
        const a = ctl(c, ['lock', 'mx', '--', 'sh', '-c', `echo A-in >> ${log}; sleep 1; echo A-out >> ${log}`]);
        await waitUntil(() => fs.existsSync(log), 10_000, () => `A never got the lock: ${a.err}`, 20);
        const b = ctl(c, ['lock', 'mx', '--', 'sh', '-c', `echo B-in >> ${log}`]);
        assert.equal(await a.exited, 0, a.err);
        assert.equal(await b.exited, 0, b.err);
        assert.equal(fs.readFileSync(log, 'utf8'), 'A-in\nA-out\nB-in\n');
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    }),
  );

  test('a killed holder loses the lock when its session lease expires', T, () =>
    withCluster({ size: 1 }, async (c) => {
      const a = ctl(c, ['lock', '--ttl=2', 'kx']);
      await a.waitFor(/^kx\//);
      await a.stop('SIGKILL');
      const t0 = Date.now();
      const b = await c.etcdctl(['lock', 'kx', 'echo', 'B-got-it'], { timeoutMs: 15_000 });
      assert.equal(b.stdout, 'B-got-it\n', b.stderr);
      assert.ok(Date.now() - t0 >= 500, 'B had to wait for the lease to expire');
    }),
  );

  test('elect: leader, observer, hand-over on resign', T, () =>
    withCluster({ size: 1 }, async (c) => {
      const obs = ctl(c, ['elect', '-l', 'myel']);
      await new Promise((r) => setTimeout(r, 300));
      const p1 = ctl(c, ['elect', 'myel', 'p1']);
      const k1 = (await p1.waitFor(/^(myel\/[0-9a-f]+)\np1\n$/))[1];
      await obs.waitFor(new RegExp(`^${k1}\\np1\\n$`));
      const p2 = ctl(c, ['elect', 'myel', 'p2']);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(p2.out, '', 'p2 waits while p1 leads');
      const leader = await c.etcdctl(['get', '--prefix', 'myel/', '--sort-by=CREATE', '--limit=1']);
      assert.equal(leader.stdout, `${k1}\np1\n`);
      assert.equal(await p1.stop('SIGINT'), 0, 'SIGINT resigns');
      const k2 = (await p2.waitFor(/^(myel\/[0-9a-f]+)\np2\n$/))[1];
      assert.notEqual(k2, k1);
      await obs.waitFor(new RegExp(`^${k1}\\np1\\n${k2}\\np2\\n$`));
      await p2.stop('SIGINT');
      await obs.stop('SIGINT');
    }),
  );
});
