// Test helpers for tsetcdutl: snapshot files in transfer form from a backend, a capturing logger, and
// `bin/tsetcd` / `bin/tsetcdutl` child processes started on a given data dir.

import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Backend } from '../../src/storage/backend/index.js';
import type { Io } from '../../src/etcdutl/command.js';
import { healthy, run, waitUntil, type RunResult } from '../support/cluster.js';

// dist/test/etcdutl -> repository root.
const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const TSETCD_BIN = path.join(REPO_ROOT, 'bin', 'tsetcd');
export const TSETCDUTL_BIN = path.join(REPO_ROOT, 'bin', 'tsetcdutl');

/** Writes the backend's snapshot as Maintenance.Snapshot streams it: db bytes, then their SHA-256. */
export async function saveSnapshotFile(be: Backend, file: string): Promise<Buffer> {
  const snap = await be.snapshot();
  const hash = createHash('sha256');
  const parts: Buffer[] = [];
  for await (const c of snap.stream) {
    hash.update(c as Buffer);
    parts.push(c as Buffer);
  }
  const db = Buffer.concat(parts);
  fs.writeFileSync(file, Buffer.concat([db, hash.digest()]));
  return db;
}

/** An Io that keeps what a command prints. */
export function captureIo(): Io & { stdout: () => string; stderr: () => string; logs: string[] } {
  let out = '';
  let err = '';
  const logs: string[] = [];
  return {
    out: (t) => (out += t),
    err: (t) => (err += t),
    logger: {
      info: (_c, msg) => logs.push(msg),
      warn: (_c, msg) => logs.push(msg),
    },
    stdout: () => out,
    stderr: () => err,
    logs,
  };
}

export function tsetcdutl(args: string[], timeoutMs = 15_000): Promise<RunResult> {
  return run(process.execPath, [TSETCDUTL_BIN, ...args], { timeoutMs });
}

export interface MemberSpec {
  name: string;
  dataDir: string;
  clientPort: number;
  peerPort: number;
  initialCluster: string;
  token?: string;
}

/** A `bin/tsetcd` child on a prepared data dir. */
export class Member {
  log = '';
  private proc: ChildProcess | null;
  private readonly exited: Promise<void>;

  constructor(readonly spec: MemberSpec) {
    const peer = `http://127.0.0.1:${spec.peerPort}`;
    const client = `http://127.0.0.1:${spec.clientPort}`;
    const args = [
      TSETCD_BIN,
      `--name=${spec.name}`,
      `--data-dir=${spec.dataDir}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=${spec.initialCluster}`,
      `--initial-cluster-token=${spec.token ?? 'etcd-cluster'}`,
      '--heartbeat-interval=20',
      '--election-timeout=200',
    ];
    const proc = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = proc;
    const append = (b: Buffer) => (this.log += b.toString());
    proc.stdout!.on('data', append);
    proc.stderr!.on('data', append);
    this.exited = new Promise((resolve) =>
      proc.on('close', (code, signal) => {
        this.log += `\n[exited: ${signal ?? code}]\n`;
        this.proc = null;
        resolve();
      }),
    );
  }

  get endpoint(): string {
    return `127.0.0.1:${this.spec.clientPort}`;
  }

  health(): Promise<boolean> {
    return healthy(this.spec.clientPort, 500);
  }


  async waitHealthy(timeoutMs = 10_000): Promise<void> {
    await waitUntil(
      async () => {
        if (this.proc === null) throw new Error(`${this.spec.name} exited:\n${this.log}`);
        return this.health();
      },
      timeoutMs,
      () => `${this.spec.name} never became healthy:\n${this.log.split('\n').slice(-30).join('\n')}`,
    );
  }

  /** SIGKILL by default; SIGTERM lets the server commit its backend and close cleanly. */
  async stop(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    this.proc?.kill(signal);
    await this.exited;
  }
}
