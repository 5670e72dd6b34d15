// End-to-end test support: starts N server members (tsetcd, or real etcd when E2E_SERVER=etcd) as
// child processes on free 127.0.0.1 ports with temporary data dirs, waits for health, kills and
// restarts members, captures their logs for failure messages, and runs the real `etcdctl`.
// Every wait has a deadline so a missing or broken server fails a test instead of hanging it.

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Which server the e2e tests drive: 'etcd' (real /usr/bin/etcd) or 'tsetcd' (this repo). */
export const SERVER: 'etcd' | 'tsetcd' = process.env.E2E_SERVER === 'etcd' ? 'etcd' : 'tsetcd';
export const ETCD_BIN = process.env.E2E_ETCD_BIN ?? '/usr/bin/etcd';
export const ETCDCTL_BIN = process.env.E2E_ETCDCTL_BIN ?? '/usr/bin/etcdctl';

// dist/test/support/cluster.js -> repository root.
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const TSETCD_BIN = path.join(REPO_ROOT, 'bin', 'tsetcd');

const LOG_LIMIT = 256 * 1024;

export interface ClusterOptions {
  size?: number;
  /** Milliseconds; small values keep elections (and so start-up and fail-over) fast. */
  heartbeatMs?: number;
  electionMs?: number;
  /** Deadline for every member to report healthy at start. */
  startTimeoutMs?: number;
  extraFlags?: string[];
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

export interface EtcdctlOptions {
  stdin?: string;
  /** Overrides the cluster's endpoints (comma-separated host:port list). */
  endpoints?: string;
  timeoutMs?: number;
}

/** A TCP port nobody listens on right now (listen on 0, read the port, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Polls `fn` until it returns something other than undefined, null or false (0 and '' count as
 * answers), or the deadline passes (then throws `what()`).
 */
export async function waitUntil<T>(
  fn: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  timeoutMs: number,
  what: () => string,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== null && v !== false) return v;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms: ${what()}`);
    await sleep(intervalMs);
  }
}

/** GET /health on 127.0.0.1:port; true when the server answers {"health":"true"} in time. */
export function healthy(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/health', timeout: timeoutMs }, (res) => {
      let body = '';
      res.on('data', (b: Buffer) => (body += b.toString()));
      res.on('end', () => resolve(res.statusCode === 200 && /"health"\s*:\s*"true"/.test(body)));
      res.on('error', () => resolve(false));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/** Runs a process to completion with a hard deadline; stdin (if any) is written and closed. */
export function run(
  bin: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; stdin?: string; timeoutMs?: number } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = spawn(bin, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 15_000);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.stdin.on('error', () => {}); // the child may exit before reading its input
    child.on('error', (e) => err.push(Buffer.from(String(e))));
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), timedOut });
    });
    child.stdin.end(opts.stdin ?? '');
  });
}

/** A long-running etcdctl (e.g. `watch`) whose output is read while it runs. */
export class Streaming {
  private out = '';
  private err = '';
  private exited = false;
  private readonly closed: Promise<void>;

  constructor(private readonly child: ChildProcess) {
    child.stdout!.on('data', (b: Buffer) => (this.out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => (this.err += b.toString()));
    this.closed = new Promise((r) => child.on('close', () => ((this.exited = true), r())));
  }

  get stdout(): string {
    return this.out;
  }

  get stderr(): string {
    return this.err;
  }

  /** Waits until stdout satisfies `pred`; returns stdout. */
  async waitFor(pred: (stdout: string) => boolean, timeoutMs = 10_000): Promise<string> {
    await waitUntil(
      () => {
        if (pred(this.out)) return true;
        if (this.exited) throw this.failure('exited');
        return false;
      },
      timeoutMs,
      () => this.failure('did not print the expected output').message,
      20,
    );
    return this.out;
  }

  private failure(why: string): Error {
    return new Error(`etcdctl ${why}; stdout so far:\n${this.out}\nstderr:\n${this.err}`);
  }

  async stop(): Promise<string> {
    if (!this.exited) this.child.kill('SIGKILL');
    await this.closed;
    return this.out;
  }
}

interface Member {
  name: string;
  clientPort: number;
  peerPort: number;
  dataDir: string;
  proc: ChildProcess | null;
  exited: Promise<void>;
  exitInfo: string | null;
  log: string;
}

// Children still alive when the test process exits are killed, so a crashed test never leaks servers.
const live = new Set<ChildProcess>();
process.on('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

const clusters = new Set<Cluster>();
let startHang: string | null = null;

export class Cluster {
  readonly members: Member[] = [];
  private constructor(
    private readonly root: string,
    private readonly opts: Required<ClusterOptions>,
  ) {}

  /** Starts `size` members and waits until every one is healthy; retries on port collisions. */
  static async start(options: ClusterOptions = {}): Promise<Cluster> {
    const opts: Required<ClusterOptions> = {
      size: options.size ?? 1,
      heartbeatMs: options.heartbeatMs ?? 20,
      electionMs: options.electionMs ?? 200,
      startTimeoutMs: options.startTimeoutMs ?? 15_000,
      extraFlags: options.extraFlags ?? [],
    };
    if (startHang) throw new Error(`not started: an earlier start in this process never became healthy\n${startHang}`);
    for (let attempt = 1; ; attempt++) {
      const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsetcd-e2e-'));
      const c = new Cluster(root, opts);
      clusters.add(c);
      try {
        await c.boot();
        return c;
      } catch (e) {
        const collided = c.members.some((m) => /address already in use/i.test(m.log));
        // A server that runs but never answers would cost every later test the full start timeout.
        if (!collided && /never became healthy/.test(String(e))) startHang = String(e).split('\n')[0];
        await c.stopAll();
        if (!collided || attempt >= 3) throw e;
      }
    }
  }

  private async boot(): Promise<void> {
    for (let i = 0; i < this.opts.size; i++) {
      const name = `m${i}`;
      this.members.push({
        name,
        clientPort: await freePort(),
        peerPort: await freePort(),
        dataDir: path.join(this.root, `${name}.etcd`),
        proc: null,
        exited: Promise.resolve(),
        exitInfo: null,
        log: '',
      });
    }
    for (let i = 0; i < this.members.length; i++) this.spawnMember(i, 'new');
    await Promise.all(this.members.map((_, i) => this.waitHealthy(i, this.opts.startTimeoutMs)));
  }

  private args(i: number, state: 'new' | 'existing'): string[] {
    const m = this.members[i];
    const initialCluster = this.members.map((x) => `${x.name}=http://127.0.0.1:${x.peerPort}`).join(',');
    return [
      `--name=${m.name}`,
      `--data-dir=${m.dataDir}`,
      `--listen-client-urls=http://127.0.0.1:${m.clientPort}`,
      `--advertise-client-urls=http://127.0.0.1:${m.clientPort}`,
      `--listen-peer-urls=http://127.0.0.1:${m.peerPort}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${m.peerPort}`,
      `--initial-cluster=${initialCluster}`,
      `--initial-cluster-state=${state}`,
      '--initial-cluster-token=e2e-cluster',
      `--heartbeat-interval=${this.opts.heartbeatMs}`,
      `--election-timeout=${this.opts.electionMs}`,
      '--logger=zap',
      ...this.opts.extraFlags,
    ];
  }

  private spawnMember(i: number, state: 'new' | 'existing', extraFlags: string[] = []): void {
    const m = this.members[i];
    const args = [...this.args(i, state), ...extraFlags];
    const [bin, argv] = SERVER === 'etcd' ? [ETCD_BIN, args] : [process.execPath, [TSETCD_BIN, ...args]];
    const proc = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(proc);
    m.proc = proc;
    m.exitInfo = null;
    const append = (b: Buffer) => {
      m.log += b.toString();
      if (m.log.length > LOG_LIMIT) m.log = m.log.slice(-LOG_LIMIT / 2);
    };
    proc.stdout!.on('data', append);
    proc.stderr!.on('data', append);
    proc.on('error', (e) => append(Buffer.from(`spawn error: ${e.message}\n`)));
    m.exited = new Promise((resolve) =>
      proc.on('close', (code, signal) => {
        live.delete(proc);
        m.exitInfo = signal ? `killed by ${signal}` : `exited with code ${code}`;
        if (m.proc === proc) m.proc = null;
        resolve();
      }),
    );
  }

  get size(): number {
    return this.members.length;
  }

  /** `127.0.0.1:port` of member i's client listener. */
  endpoint(i: number): string {
    return `127.0.0.1:${this.members[i].clientPort}`;
  }

  /** Endpoints of every member still running (or all, when `all`). */
  endpoints(all = false): string {
    return this.members
      .map((m, i) => (all || m.proc ? this.endpoint(i) : null))
      .filter((e): e is string => e !== null)
      .join(',');
  }

  isRunning(i: number): boolean {
    return this.members[i].proc !== null;
  }

  /** The last `lines` lines of member i's output, with how it ended if it did. */
  logTail(i: number, lines = 40): string {
    const m = this.members[i];
    const tail = m.log.split('\n').slice(-lines).join('\n');
    return `--- ${m.name} (${m.exitInfo ?? 'running'}) last ${lines} log lines ---\n${tail}`;
  }

  allLogs(lines = 40): string {
    return this.members.map((_, i) => this.logTail(i, lines)).join('\n');
  }

  /** GET /health on the client port; true when the member answers {"health":"true"}. */
  health(i: number, timeoutMs = 1000): Promise<boolean> {
    return healthy(this.members[i].clientPort, timeoutMs);
  }


  /** Waits until member i is healthy; fails at once (with its log) if the process exits. */
  async waitHealthy(i: number, timeoutMs = 15_000): Promise<void> {
    const m = this.members[i];
    await waitUntil(
      async () => {
        if (!m.proc) throw new Error(`${m.name} is not running (${m.exitInfo})\n${this.logTail(i)}`);
        return this.health(i, 500);
      },
      timeoutMs,
      () => `${m.name} never became healthy on ${this.endpoint(i)}\n${this.logTail(i)}`,
    );
  }

  /** Sends a signal to member i (SIGKILL by default) and waits for the process to end. */
  async kill(i: number, signal: NodeJS.Signals = 'SIGKILL', timeoutMs = 10_000): Promise<void> {
    const m = this.members[i];
    if (!m.proc) return;
    m.proc.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      m.exited,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${m.name} did not exit on ${signal}`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  /**
   * Starts member i again on the same ports and data dir, then waits for health. `extraFlags` are
   * added to this start only (after the cluster's own extra flags).
   */
  async restart(i: number, timeoutMs = 15_000, extraFlags: string[] = []): Promise<void> {
    await this.kill(i);
    this.spawnMember(i, 'existing', extraFlags);
    await this.waitHealthy(i, timeoutMs);
  }

  /** Kills every member and removes the data directories. Safe to call more than once. */
  async stopAll(): Promise<void> {
    await Promise.all(this.members.map((_, i) => this.kill(i).catch(() => {})));
    fs.rmSync(this.root, { recursive: true, force: true });
    clusters.delete(this);
  }

  /** Stops every cluster still running (for `after` hooks, in case a test was cut short). */
  static async stopEverything(): Promise<void> {
    await Promise.all([...clusters].map((c) => c.stopAll()));
  }

  /** Runs etcdctl (ETCDCTL_API=3) against this cluster's running members. */
  etcdctl(args: string[], opts: EtcdctlOptions = {}): Promise<RunResult> {
    return etcdctl(args, { ...opts, endpoints: opts.endpoints ?? this.endpoints() });
  }

  /** Starts a long-running etcdctl (e.g. watch) against this cluster. */
  etcdctlStream(args: string[], endpoints = this.endpoints()): Streaming {
    const child = spawn(ETCDCTL_BIN, [`--endpoints=${endpoints}`, ...args], {
      env: { ...process.env, ETCDCTL_API: '3' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    live.add(child);
    child.on('close', () => live.delete(child));
    return new Streaming(child);
  }

  /** `endpoint status -w json` of member i, with the IDs kept exact (as decimal strings). */
  async status(i: number): Promise<EndpointStatus> {
    const r = await this.etcdctl(['endpoint', 'status', '-w', 'json'], { endpoints: this.endpoint(i), timeoutMs: 5000 });
    if (r.code !== 0) throw new Error(`endpoint status of m${i} failed: ${r.stderr}`);
    const s = parseJsonExact(r.stdout)[0].Status;
    return {
      clusterId: String(s.header.cluster_id),
      memberId: String(s.header.member_id),
      leader: String(s.leader),
      raftTerm: Number(s.raftTerm),
      raftIndex: Number(s.raftIndex),
      revision: Number(s.header.revision),
    };
  }

  /** Index of the member every running member agrees is leader, or -1 if they do not agree yet. */
  async leaderIndex(): Promise<number> {
    const ids: string[] = [];
    const leaders = new Set<string>();
    for (let i = 0; i < this.size; i++) {
      if (!this.isRunning(i)) {
        ids.push('');
        continue;
      }
      try {
        const s = await this.status(i);
        ids.push(s.memberId);
        leaders.add(s.leader);
      } catch {
        return -1;
      }
    }
    if (leaders.size !== 1) return -1;
    const [leader] = leaders;
    return ids.indexOf(leader);
  }

  /** Waits until the running members agree on a leader; resolves to its index. */
  waitLeader(timeoutMs = 10_000): Promise<number> {
    return waitUntil(
      async () => {
        const i = await this.leaderIndex();
        return i >= 0 ? i : null;
      },
      timeoutMs,
      () => 'the members never agreed on a leader',
    );
  }
}

export interface EndpointStatus {
  clusterId: string;
  memberId: string;
  leader: string;
  raftTerm: number;
  raftIndex: number;
  revision: number;
}

/** Runs etcdctl with ETCDCTL_API=3; stdin is always closed so commands that read it never wait. */
export function etcdctl(args: string[], opts: EtcdctlOptions = {}): Promise<RunResult> {
  const argv = opts.endpoints ? [`--endpoints=${opts.endpoints}`, ...args] : args;
  return run(ETCDCTL_BIN, argv, {
    env: { ...process.env, ETCDCTL_API: '3' },
    stdin: opts.stdin,
    timeoutMs: opts.timeoutMs ?? 15_000,
  });
}

/** JSON.parse that keeps integers beyond 2^53 (member, cluster and lease IDs) exact, as strings. */
export function parseJsonExact(text: string): any {
  return JSON.parse(text.replace(/([:,[]\s*)(-?\d{16,})(?=\s*[,}\]])/g, '$1"$2"'));
}

/** Runs `fn` on a fresh cluster, adds the members' logs to any failure, and always stops it. */
export async function withCluster<T>(options: ClusterOptions, fn: (c: Cluster) => Promise<T>): Promise<T> {
  const c = await Cluster.start(options);
  try {
    return await fn(c);
  } catch (e) {
    if (e instanceof Error && !e.message.includes('log lines ---')) e.message += '\n' + c.allLogs();
    throw e;
  } finally {
    await c.stopAll();
  }
}
