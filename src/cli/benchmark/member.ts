// Starts a single-member server, or a cluster of several (real etcd or tsetcd: both take etcd's
// flags), as child processes on free 127.0.0.1 ports with data dirs of their own, waits until each
// serves a linearizable Range, and stops them. Used by bench/server.bench and the benchmark tests.
import { ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GrpcConn } from './grpcConn.js';
import { Endpoint } from './endpoint.js';
import { KV_RANGE, encodeRange } from './requests.js';

/** Returns `n` distinct free TCP ports on 127.0.0.1 (held together while chosen, then released). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Server>((resolve, reject) => {
          const s = net.createServer();
          s.once('error', reject);
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  return ports;
}

export interface MemberOptions {
  /** Shown in messages, e.g. "etcd" or "tsetcd". */
  label: string;
  /** Executable, and arguments placed before the member flags (e.g. [bin/tsetcd] for node). */
  command: string;
  prefixArgs?: string[];
  /** How long to wait for the first successful Range. */
  readyTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export class MemberProcess {
  private tail = '';
  private exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private readonly exitPromise: Promise<void>;

  constructor(
    readonly label: string,
    readonly proc: ChildProcess,
    readonly endpoint: Endpoint,
    readonly dataDir: string,
    private readonly tmpRoot: string,
  ) {
    // Keep the last 16 KiB of output for error messages; reading also keeps the pipes drained.
    const keep = (d: Buffer): void => {
      this.tail = (this.tail + d.toString('utf8')).slice(-16384);
    };
    proc.stdout?.on('data', keep);
    proc.stderr?.on('data', keep);
    this.exitPromise = new Promise((resolve) => {
      proc.once('exit', (code, signal) => {
        this.exited = { code, signal };
        resolve();
      });
      proc.once('error', (err) => {
        keep(Buffer.from(`\nspawn error: ${err.message}\n`));
        this.exited ??= { code: -1, signal: null };
        resolve();
      });
    });
  }

  get clientUrl(): string {
    return `http://${this.endpoint.host}:${this.endpoint.port}`;
  }

  /** The last lines the process printed. */
  logTail(lines = 20): string {
    return this.tail.trimEnd().split('\n').slice(-lines).join('\n');
  }

  get exitStatus(): { code: number | null; signal: NodeJS.Signals | null } | null {
    return this.exited;
  }

  /** Waits until a linearizable Range succeeds; throws with the process's output if it exits or times out. */
  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const req = encodeRange(Buffer.from('tsetcd-benchmark-ready'), Buffer.alloc(0), false);
    let lastErr = 'no answer';
    while (Date.now() < deadline) {
      if (this.exited) {
        const how = this.exited.signal ? `signal ${this.exited.signal}` : `code ${this.exited.code}`;
        throw new Error(`${this.label} exited during start-up (${how}); its last output:\n${this.logTail()}`);
      }
      try {
        const conn = await GrpcConn.connect({ ...this.endpoint, timeoutMs: Math.max(100, Math.min(1000, deadline - Date.now())) });
        try {
          await new Promise<void>((resolve, reject) => {
            const t = setTimeout(() => reject(new Error('Range timed out')), Math.max(100, Math.min(2000, deadline - Date.now())));
            conn.unary(conn.method(KV_RANGE), req, (err) => {
              clearTimeout(t);
              if (err) reject(err);
              else resolve();
            });
          });
          return;
        } finally {
          conn.close();
        }
      } catch (e) {
        lastErr = (e as Error).message;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(
      `${this.label} did not answer a Range on ${this.clientUrl} within ${timeoutMs} ms (last error: ${lastErr}); its last output:\n${this.logTail()}`,
    );
  }

  /** SIGTERM, then SIGKILL after `graceMs`; removes the data dir. */
  async stop(graceMs = 10000): Promise<void> {
    if (!this.exited) {
      this.proc.kill('SIGTERM');
      const timer = setTimeout(() => {
        if (!this.exited) this.proc.kill('SIGKILL');
      }, graceMs);
      await this.exitPromise;
      clearTimeout(timer);
    }
    rmSync(this.tmpRoot, { recursive: true, force: true });
  }
}

/** Starts a member with a fresh data dir and free ports, and waits until it answers. */
export async function startMember(opts: MemberOptions): Promise<MemberProcess> {
  return (await startCluster(1, opts))[0]!;
}

/**
 * Starts `size` members of one new cluster (names m0, m1, ... or "default" alone), each with a
 * data dir of its own and free ports, and waits until every one answers a linearizable Range.
 */
export async function startCluster(size: number, opts: MemberOptions): Promise<MemberProcess[]> {
  const ports = await freePorts(2 * size);
  const names = size === 1 ? ['default'] : Array.from({ length: size }, (_, i) => `m${i}`);
  const peerUrl = (i: number): string => `http://127.0.0.1:${ports[2 * i + 1]}`;
  const initialCluster = names.map((n, i) => `${n}=${peerUrl(i)}`).join(',');
  const members = names.map((name, i) => {
    const tmpRoot = mkdtempSync(join(tmpdir(), `bench-${opts.label}-`));
    const dataDir = join(tmpRoot, 'data');
    const client = `http://127.0.0.1:${ports[2 * i]}`;
    const args = [
      ...(opts.prefixArgs ?? []),
      '--name', name,
      '--data-dir', dataDir,
      '--listen-client-urls', client,
      '--advertise-client-urls', client,
      '--listen-peer-urls', peerUrl(i),
      '--initial-advertise-peer-urls', peerUrl(i),
      '--initial-cluster', initialCluster,
    ];
    const proc = spawn(opts.command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: opts.env ?? process.env });
    return new MemberProcess(opts.label, proc, { host: '127.0.0.1', port: ports[2 * i]! }, dataDir, tmpRoot);
  });
  try {
    await Promise.all(members.map((m) => m.waitReady(opts.readyTimeoutMs ?? 30000)));
  } catch (e) {
    await Promise.all(members.map((m) => m.stop(2000)));
    throw e;
  }
  return members;
}
