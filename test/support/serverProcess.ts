// One server process for end-to-end tests that manage their own members (TLS setups and the like):
// tsetcd (bin/tsetcd) or real etcd when E2E_SERVER=etcd, its output collected in `log`, stopped with
// SIGKILL. Every started process is tracked so an `after` hook can stop what a failed test left.

import { spawn, type ChildProcess } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ETCD_BIN, SERVER } from './cluster.js';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const TSETCD_BIN = path.join(REPO_ROOT, 'bin', 'tsetcd');

const started = new Set<ServerProcess>();

export class ServerProcess {
  log = '';
  private proc: ChildProcess | null = null;
  exited: Promise<number | null> = Promise.resolve(null);

  /** Starts the server with `args` (and extra environment variables). */
  start(args: string[], env: NodeJS.ProcessEnv = {}): void {
    const [bin, argv] = SERVER === 'etcd' ? [ETCD_BIN, args] : [process.execPath, [TSETCD_BIN, ...args]];
    const p = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    this.proc = p;
    started.add(this);
    const add = (b: Buffer) => (this.log += b.toString());
    p.stdout!.on('data', add);
    p.stderr!.on('data', add);
    this.exited = new Promise((resolve) =>
      p.on('close', (code) => {
        this.proc = null;
        started.delete(this);
        resolve(code);
      }),
    );
  }

  get running(): boolean {
    return this.proc !== null;
  }

  async stop(): Promise<void> {
    this.proc?.kill('SIGKILL');
    await this.exited;
  }

  /** Stops every process still running. */
  static stopAll(): Promise<void> {
    return Promise.all([...started].map((p) => p.stop())).then(() => {});
  }
}
