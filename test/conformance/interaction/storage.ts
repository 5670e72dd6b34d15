// The storage each interaction node uses: a MemoryStorage whose snapshot() returns the node's latest
// applied state from the harness's history instead of MemoryStorage's compaction snapshot, so a
// leader catching up a follower sends what the toy state machine has actually applied.
import { MemoryStorage } from '../../../src/raft/storage.js';
import type { Snapshot } from '../../../src/raft/raftpb/types.js';
import { RaftError } from '../../../src/raft/errors.js';

export class HarnessStorage extends MemoryStorage {
  constructor(private readonly snapshotOverride: () => Snapshot) {
    super();
  }

  override snapshot(): Snapshot {
    return this.snapshotOverride();
  }
}

/**
 * Runs a MemoryStorage mutation (applySnapshot, compact, append, setHardState) and returns the
 * storage error it reported, whether returned or thrown; panics and bugs propagate.
 */
export function storageErr(f: () => unknown): Error | null {
  try {
    const r = f();
    return r instanceof Error ? r : null;
  } catch (e) {
    if (e instanceof RaftError) return e;
    throw e;
  }
}
