// A 3-member cluster of real tsetcd processes (bin/tsetcd) on free 127.0.0.1 ports: kill -9 the
// leader under a write load through every member; the survivors elect a new leader within a few
// election timeouts, every acknowledged write is readable from every member (the killed one too,
// once restarted on its data dir), and `etcdctl member list` / `endpoint status` agree everywhere.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Etcd3 } from 'etcd3';
import { freePort, sleep } from '../support/cluster.js';

const BIN = new URL('../../../bin/tsetcd', import.meta.url).pathname;
const ETCDCTL = '/usr/bin/etcdctl';
const HEARTBEAT_MS = 50;
const ELECTION_MS = 500;

async function waitFor<T>(fn: () => Promise<T | undefined | null | false>, ms: number, what: () => string): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what()}`);
    await sleep(25);
  }
}

function etcdctl(endpoints: string, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(ETCDCTL, [`--endpoints=${endpoints}`, '--command-timeout=3s', ...args], { env: { ...process.env, ETCDCTL_API: '3' } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`etcdctl ${args.join(' ')}: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
}

interface Member {
  name: string;
  dir: string;
  cport: number;
  pport: number;
  proc: ChildProcess | null;
  log: string;
}

class ProcCluster {
  constructor(
    readonly root: string,
    readonly members: Member[],
  ) {}

  static async create(n: number): Promise<ProcCluster> {
    const root = fs.mkdtempSync(os.tmpdir() + '/tsetcd-kill-');
    const members: Member[] = [];
    for (let i = 0; i < n; i++) {
      members.push({ name: `m${i}`, dir: path.join(root, `m${i}`), cport: await freePort(), pport: await freePort(), proc: null, log: '' });
    }
    const c = new ProcCluster(root, members);
    await Promise.all(members.map((_, i) => c.start(i)));
    return c;
  }

  async start(i: number): Promise<void> {
    const m = this.members[i]!;
    const cu = `http://127.0.0.1:${m.cport}`;
    const pu = `http://127.0.0.1:${m.pport}`;
    const initial = this.members.map((x) => `${x.name}=http://127.0.0.1:${x.pport}`).join(',');
    m.log = '';
    const proc = spawn(process.execPath, [BIN, '--name', m.name, '--data-dir', m.dir,
      '--listen-client-urls', cu, '--advertise-client-urls', cu, '--listen-peer-urls', pu,
      '--initial-advertise-peer-urls', pu, '--initial-cluster', initial,
      '--heartbeat-interval', String(HEARTBEAT_MS), '--election-timeout', String(ELECTION_MS)], { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr!.on('data', (d: Buffer) => {
      if (m.log.length < 1 << 20) m.log += d.toString();
    });
    m.proc = proc;
    // Serving: the client listener is up once this line is logged.
    await waitFor(async () => m.log.includes('serving client traffic') || proc.exitCode !== null, 10_000, () => `${m.name} did not start:\n${m.log}`);
    if (proc.exitCode !== null) throw new Error(`${m.name} exited with ${proc.exitCode}:\n${m.log}`);
  }

  kill(i: number): Promise<void> {
    const p = this.members[i]!.proc;
    this.members[i]!.proc = null;
    if (p === null || p.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      p.once('exit', () => resolve());
      p.kill('SIGKILL');
    });
  }

  endpoint(i: number): string {
    return `127.0.0.1:${this.members[i]!.cport}`;
  }

  live(): number[] {
    return this.members.flatMap((m, i) => (m.proc !== null ? [i] : []));
  }

  /** Leader ID (hex) as each live member reports it in endpoint status; null if it cannot answer. */
  async leaders(): Promise<(string | null)[]> {
    return Promise.all(
      this.live().map(async (i) => {
        try {
          const out = await etcdctl(this.endpoint(i), 'endpoint', 'status', '-w', 'fields');
          const leader = /"Leader" : (\d+)/.exec(out)?.[1];
          return leader === undefined || leader === '0' ? null : BigInt(leader).toString(16);
        } catch {
          return null;
        }
      }),
    );
  }

  /** The index of the member every live member names as leader. */
  async agreedLeader(): Promise<number | undefined> {
    const ls = await this.leaders();
    const first = ls[0];
    if (first === null || first === undefined || !ls.every((l) => l === first)) return undefined;
    const list = await etcdctl(this.endpoint(this.live()[0]!), 'member', 'list');
    const line = list.split('\n').find((l) => l.startsWith(`${first},`));
    const name = line?.split(', ')[2];
    const i = this.members.findIndex((m) => m.name === name);
    return i >= 0 ? i : undefined;
  }

  async close(): Promise<void> {
    await Promise.all(this.members.map((_, i) => this.kill(i)));
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** Writers of unique keys through every member; a write counts once its Put is acknowledged. */
class WriteLoad {
  readonly acked = new Map<string, string>();
  failures = 0;
  private stopped = false;
  private readonly done: Promise<void[]>;

  constructor(clients: Etcd3[], perClient: number) {
    const workers: Promise<void>[] = [];
    clients.forEach((cl, ci) => {
      for (let w = 0; w < perClient; w++) workers.push(this.worker(cl, `${ci}-${w}`));
    });
    this.done = Promise.all(workers);
  }

  private async worker(cl: Etcd3, w: string): Promise<void> {
    for (let seq = 0; !this.stopped; seq++) {
      const key = `load/${w}/${String(seq).padStart(6, '0')}`;
      try {
        await cl.put(key).value(key).exec();
        this.acked.set(key, key);
      } catch {
        this.failures++;
        await sleep(20);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}

async function missingOn(c: ProcCluster, i: number, acked: Map<string, string>): Promise<number> {
  // Linearizable read through member i, values only, one key per line pair.
  const out = await etcdctl(c.endpoint(i), 'get', 'load/', '--prefix');
  const lines = out.split('\n');
  const have = new Map<string, string>();
  for (let k = 0; k + 1 < lines.length; k += 2) have.set(lines[k]!, lines[k + 1]!);
  let missing = 0;
  for (const [k, v] of acked) if (have.get(k) !== v) missing++;
  return missing;
}

test('3 processes: kill -9 the leader under write load', { skip: !fs.existsSync(ETCDCTL), timeout: 60_000 }, async (t) => {
  const c = await ProcCluster.create(3);
  const clients = c.members.map((m) => new Etcd3({
    hosts: `http://127.0.0.1:${m.cport}`,
    dialTimeout: 1000,
    defaultCallOptions: () => ({ deadline: Date.now() + 2000 }),
  }));
  let load: WriteLoad | null = null;
  try {
    const leader = await waitFor(() => c.agreedLeader(), 10_000, () => 'no agreed leader');
    load = new WriteLoad(clients, 4);
    await waitFor(async () => load!.acked.size >= 150, 15_000, () => `only ${load!.acked.size} writes acknowledged`);

    await c.kill(leader);
    const killedAt = Date.now();
    const newLeader = await waitFor(
      async () => {
        const l = await c.agreedLeader();
        return l !== undefined && l !== leader ? l : undefined;
      },
      10 * ELECTION_MS,
      () => 'no new leader among the survivors',
    );
    const failoverMs = Date.now() - killedAt;
    assert.ok(failoverMs <= 6 * ELECTION_MS, `new leader after ${failoverMs} ms`);
    const atElection = load.acked.size;
    await waitFor(async () => load!.acked.size >= atElection + 100, 15_000, () => 'writes did not resume');
    await load.stop();

    for (const i of c.live()) assert.equal(await missingOn(c, i, load.acked), 0, `acknowledged writes missing on m${i}`);
    await c.start(leader);
    await waitFor(async () => (await missingOn(c, leader, load!.acked).catch(() => -1)) === 0, 15_000, () => 'restarted member did not catch up');
    const all = c.members.map((_, i) => c.endpoint(i)).join(',');
    await waitFor(
      async () => {
        const out = await etcdctl(all, 'endpoint', 'status', '-w', 'json').catch(() => '');
        const revs = [...out.matchAll(/"revision":(\d+)/g)].map((m) => m[1]);
        return revs.length === 3 && new Set(revs).size === 1;
      },
      10_000,
      () => 'members did not converge on one revision',
    );
    t.diagnostic(`${load.acked.size} acknowledged writes, ${load.failures} failed; failover ${failoverMs} ms (m${leader} -> m${newLeader})`);
  } finally {
    await load?.stop();
    for (const cl of clients) cl.close();
    await c.close();
  }
});
