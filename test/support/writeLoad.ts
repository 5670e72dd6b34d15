// A write load for cluster tests through the etcd3 npm client: concurrent workers putting unique
// `load/<worker>/<seq>` keys, remembering each write only once its put was acknowledged, so that
// after failures every remembered write can be checked on every member.

import { Etcd3 } from 'etcd3';
import { sleep } from './cluster.js';

/** An etcd3 client for `endpoints` (host:port), each unary call bounded by `callDeadlineMs`. */
export function etcd3Client(endpoints: string[], callDeadlineMs: number): Etcd3 {
  return new Etcd3({
    hosts: endpoints.map((e) => `http://${e}`),
    dialTimeout: 2000,
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + callDeadlineMs }),
  });
}

/** Concurrent writers of unique keys; a write counts only once its put is acknowledged. */
export class WriteLoad {
  readonly acked = new Map<string, string>();
  failures = 0;
  private stopped = false;
  private readonly done: Promise<void[]>;

  constructor(
    private readonly etcd: Etcd3,
    workers: number,
  ) {
    this.done = Promise.all(Array.from({ length: workers }, (_, w) => this.worker(w)));
  }

  private async worker(w: number): Promise<void> {
    for (let seq = 0; !this.stopped; seq++) {
      const key = `load/${w}/${String(seq).padStart(6, '0')}`;
      const value = `v${w}-${seq}`;
      try {
        await this.etcd.put(key).value(value).exec();
        this.acked.set(key, value);
      } catch {
        this.failures++; // outcome unknown: not acknowledged, so not checked
        await sleep(20);
      }
    }
  }

  /** Acknowledged writes so far. */
  get count(): number {
    return this.acked.size;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }
}
