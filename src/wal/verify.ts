// Read-only checks of a WAL directory that do not take the lock (safe next to a running writer):
// `verify` walks the log from a snapshot checking the chain and the snapshot marker;
// `validSnapshotEntries` lists the snapshot markers a restart may use. A torn last record is
// tolerated (a writer may be in the middle of it); any other damage throws.

import { decodeHardState } from '../raft/raftpb/codec.js';
import { HardState, emptyHardState } from '../raft/raftpb/types.js';
import { WalCorruptionError, WalError } from './errors.js';
import { readWalNames, selectWalFiles } from './names.js';
import { scanSegments } from './reader.js';
import {
  EntryType,
  MetadataType,
  SnapshotType,
  StateType,
  WalRecord,
  WalSnapshot,
  decodeWalSnapshot,
} from './walpb.js';

/** Every metadata record must repeat the first one; returns the metadata to keep. */
export function checkMetadata(prev: Uint8Array | null, data: Uint8Array, file: string, off: number): Uint8Array {
  if (prev !== null && Buffer.compare(prev, data) !== 0) {
    throw new WalError('ErrMetadataConflict', `wal: conflicting metadata found (in file '${file}' at offset ${off})`);
  }
  return data;
}

/** Whether a snapshot record marks `want`; the same index with another term is refused. */
export function isSnapshotMarker(data: Uint8Array, want: WalSnapshot): boolean {
  const s = decodeWalSnapshot(data);
  if (s.index !== want.index) return false;
  if (s.term !== want.term) {
    throw new WalError(
      'ErrSnapshotMismatch',
      `wal: snapshot mismatch: found term ${s.term} at index ${s.index}, expected term ${want.term}`,
    );
  }
  return true;
}

/**
 * Checks the WAL in `dir` from snapshot `snap` on: metadata consistent, CRC chain intact, snapshot
 * marker present with the expected term. Returns the last HardState.
 */
export async function verify(dir: string, snap: WalSnapshot): Promise<HardState> {
  const names = await selectWalFiles(dir, snap.index);
  let metadata: Uint8Array | null = null;
  let state = emptyHardState();
  let match = false;
  await scanSegments(dir, names, (rec: WalRecord, file: string, off: number) => {
    switch (rec.type) {
      case MetadataType:
        metadata = checkMetadata(metadata, rec.data, file, off);
        break;
      case SnapshotType:
        if (isSnapshotMarker(rec.data, snap)) match = true;
        break;
      case EntryType:
        break;
      case StateType:
        state = decodeHardState(rec.data);
        break;
      default:
        throw new WalCorruptionError('ErrCorrupt', file, off, `unexpected block type ${rec.type}`);
    }
  });
  if (!match) throw new WalError('ErrSnapshotNotFound', `wal: snapshot not found (index ${snap.index}, term ${snap.term})`);
  return state;
}

/**
 * The snapshot markers in every segment of `dir` whose index is covered by the last committed
 * HardState (a marker beyond the commit may belong to a snapshot that was never completed).
 */
export async function validSnapshotEntries(dir: string): Promise<WalSnapshot[]> {
  const names = await readWalNames(dir);
  const snaps: WalSnapshot[] = [];
  let state = emptyHardState();
  await scanSegments(dir, names, (rec: WalRecord) => {
    if (rec.type === SnapshotType) snaps.push(decodeWalSnapshot(rec.data));
    else if (rec.type === StateType) state = decodeHardState(rec.data);
  });
  return snaps.filter((s) => s.index <= state.commit);
}
