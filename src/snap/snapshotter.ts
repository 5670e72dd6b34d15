// The snapshotter: Raft snapshots as `%016x-%016x.snap` files (term, index) in the snap directory,
// each a snappb envelope {crc, data = raftpb.Snapshot} with a CRC-32C of the data (etcd's format).
// Saving writes a temporary file, fsyncs it and renames it into place; loading tries the newest
// first and renames unreadable files to `.broken` so they are not tried again; purging keeps the
// newest N. The backend database snapshots beside them (`<index>.snap.db`) are handled in db.ts.

import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { crc32c } from '../pkg/crc32c.js';
import { fsyncDir, purgeFiles, writeAndSyncFile } from '../pkg/fileutil.js';
import { decodeSnapshot, encodeSnapshot } from '../raft/raftpb/codec.js';
import { Snapshot, isEmptySnap } from '../raft/raftpb/types.js';
import { dbFileName, dbFilePath, saveDBFrom } from './db.js';
import { SnapError } from './errors.js';
import { decodeSnapEnvelope, encodeSnapEnvelope } from './snappb.js';

export const SNAP_SUFFIX = '.snap';

export interface SnapLogger {
  info(text: string): void;
  warning(text: string): void;
}

const nopLogger: SnapLogger = { info() {}, warning() {} };

/** A snapshot position as the WAL records it. */
export interface SnapPosition {
  index: number;
  term: number;
}

export function snapName(term: number, index: number): string {
  return `${term.toString(16).padStart(16, '0')}-${index.toString(16).padStart(16, '0')}${SNAP_SUFFIX}`;
}

/** Reads and checks one snapshot file. Throws SnapError (or a decode error) when it is unusable. */
export async function readSnap(file: string): Promise<Snapshot> {
  const b = await fs.readFile(file);
  if (b.length === 0) throw new SnapError('ErrEmptySnapshot', file);
  const env = decodeSnapEnvelope(b);
  if (env.data.length === 0 || env.crc === 0) throw new SnapError('ErrEmptySnapshot', file);
  const crc = crc32c(env.data);
  if (crc !== env.crc) {
    throw new SnapError('ErrCRCMismatch', `${file}: stored ${env.crc.toString(16)}, computed ${crc.toString(16)}`);
  }
  return decodeSnapshot(env.data);
}

/** Files that belong in a snap directory besides `.snap` files. */
function isKnownNonSnap(name: string): boolean {
  return (
    name === 'db' ||
    name === 'db-lock' || // LMDB's lock file beside the backend database
    name.endsWith('.snap.db') ||
    name.endsWith('.broken') ||
    name.endsWith('.tmp') ||
    name.startsWith('tmp')
  );
}

export class Snapshotter {
  protected readonly lg: SnapLogger;
  private readonly ready: Promise<void>;

  constructor(
    readonly dir: string,
    opts: { logger?: SnapLogger } = {},
  ) {
    this.lg = opts.logger ?? nopLogger;
    // Broken snapshots left by earlier runs: keep only the most recent one for inspection.
    this.ready = this.cleanupBroken(1).catch((e) => this.lg.warning(`failed to clean up broken snapshots: ${e}`));
  }

  /** Saves `snapshot` durably; an empty snapshot (index 0) is ignored. */
  async saveSnap(snapshot: Snapshot): Promise<void> {
    if (isEmptySnap(snapshot)) return;
    await this.ready;
    const data = encodeSnapshot(snapshot);
    const file = path.join(this.dir, snapName(snapshot.metadata.term, snapshot.metadata.index));
    const tmp = `${file}.tmp`;
    try {
      await writeAndSyncFile(tmp, encodeSnapEnvelope(crc32c(data), data), 0o666);
      await fs.rename(tmp, file);
    } catch (e) {
      this.lg.warning(`failed to write a snap file ${file}: ${e}`);
      await fs.unlink(tmp).catch(() => {});
      throw e;
    }
    await fsyncDir(this.dir);
  }

  /** The newest readable snapshot. Throws ErrNoSnapshot when there is none. */
  load(): Promise<Snapshot> {
    return this.loadMatching(() => true);
  }

  /** The newest readable snapshot whose (term, index) is one of `walSnaps`. */
  loadNewestAvailable(walSnaps: readonly SnapPosition[]): Promise<Snapshot> {
    return this.loadMatching((s) => {
      const m = s.metadata;
      for (let i = walSnaps.length - 1; i >= 0; i--) {
        if (walSnaps[i]!.term === m.term && walSnaps[i]!.index === m.index) return true;
      }
      return false;
    });
  }

  /** Removes the oldest `.snap` files beyond `max`; returns the names removed. */
  async purge(max: number): Promise<string[]> {
    await this.ready;
    return purgeFiles(this.dir, SNAP_SUFFIX, max, this.lg);
  }

  /** Stores a database snapshot for `index` from `src` (plain bytes); returns the bytes stored. */
  async saveDBFrom(src: AsyncIterable<Uint8Array>, index: number): Promise<number> {
    const n = await saveDBFrom(this.dir, src, index, false);
    this.lg.info(`saved database snapshot to disk: ${path.join(this.dir, dbFileName(index))} (${n} bytes)`);
    return n;
  }

  /** Like saveDBFrom for a database in transfer form (bytes + SHA-256), verified before it is kept. */
  async saveDBFromTransfer(src: AsyncIterable<Uint8Array>, index: number): Promise<number> {
    return saveDBFrom(this.dir, src, index, true);
  }

  /** Path of the database snapshot for `index`; throws ErrNoDBSnapshot if there is none. */
  dbFilePath(index: number): Promise<string> {
    return dbFilePath(this.dir, index);
  }

  /** Removes database snapshots (`.snap.db`) older than `snap`, which no longer serve any transfer. */
  async releaseSnapDBs(snap: Snapshot): Promise<void> {
    for (const name of await fs.readdir(this.dir)) {
      if (!name.endsWith('.snap.db')) continue;
      const index = parseInt(name.slice(0, -'.snap.db'.length), 16);
      if (Number.isNaN(index)) {
        this.lg.warning(`failed to parse index from filename ${name}`);
        continue;
      }
      if (index < snap.metadata.index) {
        this.lg.info(`found orphaned .snap.db file; deleting ${name}`);
        await fs.unlink(path.join(this.dir, name)).catch(() => {});
      }
    }
  }

  private async loadMatching(match: (s: Snapshot) => boolean): Promise<Snapshot> {
    await this.ready;
    for (const name of await this.snapNames()) {
      let snap: Snapshot;
      try {
        snap = await readSnap(path.join(this.dir, name));
      } catch (e) {
        await this.markBroken(name, e);
        continue;
      }
      if (match(snap)) return snap;
    }
    throw new SnapError('ErrNoSnapshot');
  }

  private async markBroken(name: string, err: unknown): Promise<void> {
    const file = path.join(this.dir, name);
    this.lg.warning(`failed to read a snap file ${file}: ${err}`);
    try {
      await fs.rename(file, `${file}.broken`);
      this.lg.warning(`renamed to a broken snap file ${file}.broken`);
    } catch (e) {
      this.lg.warning(`failed to rename a broken snap file ${file}: ${e}`);
    }
  }

  /** `.snap` names, newest first; removes orphaned `db.tmp*` files of an interrupted defragmentation. */
  private async snapNames(): Promise<string[]> {
    const names = await fs.readdir(this.dir);
    const snaps: string[] = [];
    for (const name of names) {
      if (name.startsWith('db.tmp')) {
        this.lg.info(`found orphaned defragmentation file; deleting ${name}`);
        await fs.unlink(path.join(this.dir, name)).catch(() => {});
      } else if (name.endsWith(SNAP_SUFFIX)) snaps.push(name);
      else if (!isKnownNonSnap(name)) this.lg.warning(`found unexpected non-snap file; skipping ${name}`);
    }
    if (snaps.length === 0) throw new SnapError('ErrNoSnapshot');
    return snaps.sort().reverse();
  }

  private async cleanupBroken(keep: number): Promise<void> {
    let names: string[];
    try {
      names = (await fs.readdir(this.dir)).filter((n) => n.endsWith('.snap.broken'));
    } catch {
      return; // no directory yet
    }
    if (names.length <= keep) return;
    const withTimes = await Promise.all(
      names.map(async (n) => ({ n, t: (await fs.stat(path.join(this.dir, n))).mtimeMs })),
    );
    withTimes.sort((a, b) => b.t - a.t || (a.n < b.n ? 1 : -1));
    for (const { n } of withTimes.slice(keep)) await fs.unlink(path.join(this.dir, n)).catch(() => {});
  }
}
