// Auto-compaction (etcd's v3compactor): periodic mode compacts to the revision seen one retention
// period ago (checking every retention/10, at most hourly); revision mode keeps the last
// `retention` revisions (checking every 5 minutes). Compactions go through raft like a client's.
import type { ServerLogger } from './config.js';
import type { CompactionRequest, CompactionResponse } from './etcdserverpb/rpc.js';

export interface Compactable {
  readonly kv: { rev(): number; compactMainRev: number };
  compact(r: CompactionRequest): Promise<CompactionResponse>;
  /** Only the leader compacts (etcd pauses the compactor on followers); absent: always. */
  isLeader?(): boolean;
}

const REVISION_CHECK_MS = 5 * 60 * 1000;

export class Compactor {
  private timer: NodeJS.Timeout | null = null;
  /** Periodic mode: (time, revision) samples, oldest first. */
  private samples: { at: number; rev: number }[] = [];
  private running = false;

  constructor(
    private readonly s: Compactable,
    private readonly mode: 'periodic' | 'revision',
    private readonly retention: number,
    private readonly lg: ServerLogger,
    private readonly now: () => number = Date.now,
  ) {}

  start(): void {
    if (this.retention <= 0 || this.timer !== null) return;
    const interval =
      this.mode === 'periodic' ? Math.max(1, Math.min(this.retention / 10, 3600_000)) : REVISION_CHECK_MS;
    this.samples.push({ at: this.now(), rev: this.s.kv.rev() });
    this.timer = setInterval(() => void this.tick(), interval);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** One check: returns the revision compacted to, or 0. Exposed for tests. */
  async tick(): Promise<number> {
    if (this.running) return 0;
    const rev = this.s.kv.rev();
    let target = 0;
    if (this.mode === 'periodic') {
      const now = this.now();
      this.samples.push({ at: now, rev });
      // The newest sample at least one retention period old is the revision to compact to.
      let i = -1;
      for (let j = 0; j < this.samples.length; j++) if (now - this.samples[j]!.at >= this.retention) i = j;
      if (i < 0) return 0;
      target = this.samples[i]!.rev;
      this.samples.splice(0, i);
    } else {
      target = rev - this.retention;
    }
    if (target <= 0 || target <= this.s.kv.compactMainRev) return 0;
    if (this.s.isLeader !== undefined && !this.s.isLeader()) return 0;
    this.running = true;
    try {
      await this.s.compact({ revision: target });
      this.lg.info({ 'compact-revision': target }, 'completed auto revision compaction');
      return target;
    } catch (err) {
      this.lg.warn({ 'compact-revision': target, error: (err as Error).message }, 'failed auto compaction');
      return 0;
    } finally {
      this.running = false;
    }
  }
}
