// The write-ahead log: Raft's durable entries and HardState, in segment files of framed, CRC-chained
// records (see encoder.ts / decoder.ts), following etcd's wal package.
//
// Life cycle: `WAL.create` makes a new log (crc, metadata and an empty snapshot marker) and is ready to
// append. `WAL.open(dir, snap)` locks the directory and selects the segments holding entries after
// `snap`; `readAll()` then replays them — verifying the chain, repairing a torn last record, refusing
// corruption anywhere else — and leaves the WAL ready to append. `save(hardState, entries)` is one
// write and at most one fdatasync; a segment over `segmentSize` is sealed and the next one (prepared in
// the background) takes over. `releaseLockTo(index)` lets segments before a snapshot be purged.
// save() writes synchronously (page cache) and fdatasyncs off the event loop.
// Calls are serialized internally; a failed write or sync makes the WAL unusable (a later sync cannot
// be trusted to cover data whose write failed).

import { writeSync } from 'node:fs';
import * as fs from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { decodeEntry, decodeHardState, encodeEntry, encodeHardState } from '../raft/raftpb/codec.js';
import { Entry, HardState, emptyHardState, isEmptyHardState } from '../raft/raftpb/types.js';
import {
  DirLock,
  PRIVATE_FILE_MODE,
  PreallocateMode,
  createDirAll,
  fsyncDir,
  holdFile,
  preallocate,
  releaseFile,
  writeFullAt,
  zeroRange,
} from '../pkg/fileutil.js';
import { RecordEncoder } from './encoder.js';
import { WalCorruptionError, WalError } from './errors.js';
import { FilePipeline } from './filePipeline.js';
import { parseWalName, selectWalFiles, walExists, walName } from './names.js';
import { scanSegments } from './reader.js';
import { checkMetadata, isSnapshotMarker, validSnapshotEntries, verify } from './verify.js';
import {
  CrcType,
  EntryType,
  MetadataType,
  SnapshotType,
  StateType,
  WalRecord,
  WalSnapshot,
  encodeWalSnapshot,
} from './walpb.js';

/** etcd's segment size: 64 MB. */
export const SEGMENT_SIZE_BYTES = 64 * 1000 * 1000;
const WARN_SYNC_MS = 1000;

export interface WalLogger {
  info(text: string): void;
  warning(text: string): void;
}

const nopLogger: WalLogger = { info() {}, warning() {} };

export interface WalOptions {
  /** Size segments are preallocated to and cut at (default 64 MB); small in tests. */
  segmentSize?: number;
  /** How segments are preallocated (default 'sparse'). */
  preallocate?: PreallocateMode;
  logger?: WalLogger;
  /** Skip fdatasync (etcd's --unsafe-no-fsync): data survives a process crash, not a power loss. */
  unsafeNoFsync?: boolean;
  /** Called with each fdatasync's duration in seconds (for the server's fsync histogram). */
  onFsync?: (seconds: number) => void;
}

export interface ReadAllResult {
  metadata: Uint8Array;
  hardState: HardState;
  /** Entries after the snapshot WAL was opened at, later entries overriding earlier ones. */
  entries: Entry[];
}

/** Counters for metrics and tests. */
export interface WalStats {
  fsyncs: number;
  bytesWritten: number;
  /** Total seconds spent in fdatasync. */
  fsyncSeconds: number;
}

interface Segment {
  path: string;
  seq: number;
  firstIndex: number;
}

type Mode = 'read' | 'append' | 'closed';

const EMPTY = new Uint8Array(0);

export class WAL {
  private mode: Mode = 'read';
  private lock: DirLock | null = null;
  private dirFh: FileHandle | null = null;
  private start: WalSnapshot = { index: 0, term: 0 };
  /** Segments selected for reading (read mode). */
  private names: string[] = [];
  /** Segments this WAL still needs, oldest first; the last is the tail. */
  private held: Segment[] = [];
  private tailFh: FileHandle | null = null;
  /** Write position in the tail segment. */
  private offset = 0;
  private encoder: RecordEncoder = new RecordEncoder(0, 0);
  private metadata: Uint8Array = EMPTY;
  private state: HardState = emptyHardState();
  /** Index of the last entry written. */
  private enti = 0;
  private fp: FilePipeline | null = null;
  private failed: unknown = null;
  // The last call still running (null when idle).
  private queue: Promise<unknown> | null = null;
  private readonly segmentSize: number;
  private readonly prealloc: PreallocateMode;
  private readonly lg: WalLogger;
  private readonly noSync: boolean;
  private readonly onFsync: ((seconds: number) => void) | undefined;
  readonly stats: WalStats = { fsyncs: 0, bytesWritten: 0, fsyncSeconds: 0 };

  private constructor(
    readonly dir: string,
    opts: WalOptions,
  ) {
    this.segmentSize = opts.segmentSize ?? SEGMENT_SIZE_BYTES;
    this.prealloc = opts.preallocate ?? 'sparse';
    this.lg = opts.logger ?? nopLogger;
    this.noSync = opts.unsafeNoFsync ?? false;
    this.onFsync = opts.onFsync;
  }

  /** Whether `dir` holds WAL segments. */
  static exists(dir: string): Promise<boolean> {
    return walExists(dir);
  }

  /** Read-only check of the log from `snap` on (see verify.ts); returns the last HardState. */
  static verify(dir: string, snap: WalSnapshot): Promise<HardState> {
    return verify(dir, snap);
  }

  /** Snapshot markers usable for a restart (see verify.ts). */
  static validSnapshotEntries(dir: string): Promise<WalSnapshot[]> {
    return validSnapshotEntries(dir);
  }

  /**
   * Creates a WAL in `dir` (which must hold no segments) with `metadata` recorded at the head of every
   * segment. It is built in `<dir>.tmp` and renamed into place, so creation appears atomic.
   */
  static async create(dir: string, metadata: Uint8Array, opts: WalOptions = {}): Promise<WAL> {
    dir = path.resolve(dir);
    if (await walExists(dir)) throw new WalError('ErrExist', `wal: ${dir} already holds a WAL`);
    const tmp = `${dir}.tmp`;
    await fs.rm(tmp, { recursive: true, force: true });
    await createDirAll(tmp);
    const w = new WAL(dir, opts);
    try {
      w.lock = await DirLock.acquire(tmp);
      const first = path.join(tmp, walName(0, 0));
      w.tailFh = await fs.open(first, 'w', PRIVATE_FILE_MODE);
      await preallocate(w.tailFh, w.segmentSize, w.prealloc);
      w.mode = 'append';
      w.metadata = Buffer.from(metadata);
      w.encoder = new RecordEncoder(0);
      w.encoder.encode(CrcType, null);
      w.encoder.encode(MetadataType, w.metadata);
      w.encoder.encode(SnapshotType, encodeWalSnapshot({ index: 0, term: 0 }));
      await w.flush();
      await w.fsyncTail();
      await fs.rm(dir, { recursive: true, force: true });
      await fs.rename(tmp, dir);
      w.lock.moved(dir);
      await fsyncDir(path.dirname(dir));
      w.dirFh = await fs.open(dir, 'r');
      w.addSegment(path.join(dir, walName(0, 0)));
      w.fp = new FilePipeline(dir, w.segmentSize, w.prealloc);
      return w;
    } catch (e) {
      await w.tailFh?.close().catch(() => {});
      await w.lock?.release();
      await fs.rm(tmp, { recursive: true, force: true }).catch(() => {});
      throw e;
    }
  }

  /**
   * Opens the WAL in `dir` for reading from snapshot `snap` (which should have been saved to it) and
   * then appending. Locks the directory against other processes.
   */
  static async open(dir: string, snap: WalSnapshot, opts: WalOptions = {}): Promise<WAL> {
    dir = path.resolve(dir);
    // Selecting first reports a missing or unusable WAL as such rather than as a lock failure;
    // selecting again under the lock sees what no other writer can change any more.
    await selectWalFiles(dir, snap.index);
    const w = new WAL(dir, opts);
    w.lock = await DirLock.acquire(dir);
    try {
      w.names = await selectWalFiles(dir, snap.index);
      w.start = { index: snap.index, term: snap.term };
      w.dirFh = await fs.open(dir, 'r');
      for (const n of w.names) w.addSegment(path.join(dir, n));
      return w;
    } catch (e) {
      await w.dirFh?.close().catch(() => {});
      await w.lock.release();
      throw e;
    }
  }

  /** Index of the last entry (or snapshot marker) written. */
  get lastIndex(): number {
    return this.enti;
  }

  /** The HardState last saved. */
  get hardState(): HardState {
    return this.state;
  }

  /**
   * Reads every record from the snapshot position on and returns the metadata, the last HardState
   * and the entries after the snapshot. Repairs a torn last record; throws WalCorruptionError
   * (naming file and offset) on any other damage, ErrSnapshotNotFound if the snapshot marker was
   * not found, ErrSnapshotMismatch if its term differs. Afterwards the WAL is ready to append.
   */
  readAll(): Promise<ReadAllResult> {
    return this.serialized(() => this.doReadAll());
  }

  private async doReadAll(): Promise<ReadAllResult> {
    if (this.mode !== 'read') throw new WalError('ErrDecoderNotFound', 'wal: decoder not found');
    const start = this.start;
    let metadata: Uint8Array | null = null;
    let state = emptyHardState();
    const ents: Entry[] = [];
    let match = false;
    const visit = (rec: WalRecord, file: string, off: number): void => {
      switch (rec.type) {
        case EntryType: {
          const e = decodeEntry(rec.data);
          if (e.index > start.index) {
            const pos = e.index - start.index - 1;
            if (pos > ents.length) {
              throw new WalError(
                'ErrSliceOutOfRange',
                `wal: slice bounds out of range, snapshot[Index: ${start.index}, Term: ${start.term}], ` +
                  `current entry[Index: ${e.index}, Term: ${e.term}], len(ents): ${ents.length} (in file '${file}' at offset ${off})`,
              );
            }
            // A later entry at an existing index overrides it and everything after it.
            if (pos < ents.length) ents.length = pos;
            ents.push(e);
          }
          this.enti = e.index;
          break;
        }
        case StateType:
          state = decodeHardState(rec.data);
          break;
        case MetadataType:
          metadata = checkMetadata(metadata, rec.data, file, off);
          break;
        case SnapshotType:
          if (isSnapshotMarker(rec.data, start)) match = true;
          break;
        default:
          throw new WalCorruptionError('ErrCorrupt', file, off, `unexpected block type ${rec.type}`);
      }
    };
    // Entries are views into the segment buffers; a mostly empty (preallocated) tail is compacted so
    // the retained entries do not pin a whole segment's worth of zeros.
    const compact = (buf: Buffer, validEnd: number): void => {
      if (validEnd * 2 >= buf.length) return;
      const small = Buffer.from(buf.subarray(0, validEnd));
      for (let i = ents.length - 1; i >= 0; i--) {
        const d = ents[i]!.data;
        if (d.length === 0) continue;
        const at = d.byteOffset - buf.byteOffset;
        if (d.buffer !== buf.buffer || at < 0 || at >= buf.length) break;
        ents[i]!.data = small.subarray(at, at + d.length);
      }
    };
    const res = await scanSegments(this.dir, this.names, visit, compact);
    const md = Buffer.from(metadata ?? EMPTY);

    // Prepare the tail for appending: keep a copy of a torn segment, then clear everything after the
    // last valid record so new records are never followed by stale ones.
    const tail = res.tailPath;
    if (res.torn !== null) {
      await fs.copyFile(tail, `${tail}.broken`);
      this.lg.warning(
        `wal: repairing torn last record in '${tail}' at offset ${res.validEnd} (${res.torn}); ` +
          `discarding ${res.dirtyEnd - res.validEnd} bytes from there; original kept as '${tail}.broken'`,
      );
    }
    const fh = await fs.open(tail, 'r+');
    try {
      if (res.dirtyEnd > res.validEnd) {
        if (res.torn === null) {
          this.lg.info(`wal: discarding ${res.dirtyEnd - res.validEnd} unsynced bytes after offset ${res.validEnd} in '${tail}'`);
        }
        await zeroRange(fh, res.validEnd, res.dirtyEnd);
        await fh.sync();
      }
      // A tail cut short (a torn write past the preallocated end, or truncated by a repair tool)
      // gets its preallocation back.
      await preallocate(fh, this.segmentSize, this.prealloc);
    } catch (e) {
      await fh.close();
      throw e;
    }
    this.tailFh = fh;
    this.offset = res.validEnd;
    this.encoder = new RecordEncoder(res.crc);
    this.metadata = md;
    this.state = state;
    this.mode = 'append';
    this.names = [];
    this.start = { index: 0, term: 0 };
    this.fp = new FilePipeline(this.dir, this.segmentSize, this.prealloc);
    if (!match) {
      throw new WalError('ErrSnapshotNotFound', `wal: snapshot not found (index ${start.index}, term ${start.term})`);
    }
    return { metadata: md, hardState: state, entries: ents };
  }

  /**
   * Appends `entries` and `hardState` (when not empty) with one write, then one fdatasync when Raft
   * requires it (new entries, or a changed term or vote — a commit-only change need not be synced).
   * Cuts to a new segment when the tail is full.
   */
  save(hardState: HardState, entries: readonly Entry[]): Promise<void> {
    if (entries.length === 0 && isEmptyHardState(hardState)) return Promise.resolve();
    return this.serialized(async () => {
      this.checkWritable();
      try {
        const mustSync = entries.length !== 0 || hardState.vote !== this.state.vote || hardState.term !== this.state.term;
        const enc = this.encoder;
        for (let i = 0; i < entries.length; i++) enc.encode(EntryType, encodeEntry(entries[i]!));
        if (entries.length !== 0) this.enti = entries[entries.length - 1]!.index;
        if (!isEmptyHardState(hardState)) {
          this.state = { term: hardState.term, vote: hardState.vote, commit: hardState.commit };
          enc.encode(StateType, encodeHardState(hardState));
        }
        this.flushNow();
        if (this.offset < this.segmentSize) {
          if (mustSync) await this.fsyncTail();
          return;
        }
        await this.cut();
      } catch (e) {
        this.failed = e;
        throw e;
      }
    });
  }

  /** Records a snapshot position (so a later open can start there) and syncs. */
  saveSnapshot(snap: WalSnapshot): Promise<void> {
    if (snap.index > 0 && !snap.confState) {
      return Promise.reject(new Error(`Saved (not-initial) snapshot is missing ConfState: index ${snap.index} term ${snap.term}`));
    }
    return this.serialized(async () => {
      this.checkWritable();
      try {
        this.encoder.encode(SnapshotType, encodeWalSnapshot(snap));
        await this.flush();
        if (this.enti < snap.index) this.enti = snap.index;
        await this.fsyncTail();
      } catch (e) {
        this.failed = e;
        throw e;
      }
    });
  }

  /** fdatasyncs the tail segment. */
  sync(): Promise<void> {
    return this.serialized(async () => {
      this.checkWritable();
      try {
        await this.fsyncTail();
      } catch (e) {
        this.failed = e;
        throw e;
      }
    });
  }

  /**
   * Lets go of segments that only hold entries before `index` so they may be purged, keeping the
   * last segment starting before `index` (it may hold entries at or after it) and the tail.
   */
  releaseLockTo(index: number): void {
    const h = this.held;
    if (h.length === 0) return;
    let smaller = h.length - 1;
    for (let i = 0; i < h.length; i++) {
      if (h[i]!.firstIndex >= index) {
        smaller = i - 1;
        break;
      }
    }
    if (smaller <= 0) return;
    for (let i = 0; i < smaller; i++) releaseFile(h[i]!.path);
    this.held = h.slice(smaller);
  }

  /** Paths of the segments still held (oldest first). */
  heldSegments(): string[] {
    return this.held.map((s) => s.path);
  }

  /** Syncs (when appending), closes the files and unlocks the directory. */
  close(): Promise<void> {
    return this.serialized(async () => {
      if (this.mode === 'closed') return;
      const wasAppending = this.mode === 'append';
      this.mode = 'closed';
      let err: unknown = null;
      try {
        await this.fp?.close();
        if (wasAppending && this.failed === null && this.tailFh) await this.fsyncTail();
      } catch (e) {
        err = e;
      }
      await this.tailFh?.close().catch(() => {});
      await this.dirFh?.close().catch(() => {});
      this.tailFh = null;
      this.dirFh = null;
      for (const s of this.held) releaseFile(s.path);
      this.held = [];
      await this.lock?.release();
      this.lock = null;
      if (err !== null) throw err;
    });
  }

  // ---- internals ---------------------------------------------------------------------------------

  /**
   * Runs `fn` after every earlier call finished, so writes, syncs and cuts never interleave. When
   * idle it starts at once, so the write is under way before the caller's next synchronous work.
   */
  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue === null ? fn() : this.queue.then(fn);
    const q: Promise<void> = p.then(
      (): void => this.idle(q),
      (): void => this.idle(q),
    );
    this.queue = q;
    return p;
  }

  private idle(q: Promise<unknown>): void {
    if (this.queue === q) this.queue = null;
  }

  private checkWritable(): void {
    if (this.mode === 'closed') throw new WalError('ErrClosed', 'wal: closed');
    if (this.mode !== 'append') throw new Error('wal: records must be read out (readAll) before appending');
    if (this.failed !== null) throw this.failed;
  }

  private addSegment(file: string): void {
    const parsed = parseWalName(path.basename(file))!;
    this.held.push({ path: file, seq: parsed[0], firstIndex: parsed[1] });
    holdFile(file);
  }

  /** Writes the encoder's pending records at the tail's write position. */
  private async flush(): Promise<void> {
    const enc = this.encoder;
    if (enc.len === 0) return;
    await writeFullAt(this.tailFh!, enc.buf, 0, enc.len, this.offset);
    this.offset += enc.len;
    this.stats.bytesWritten += enc.len;
    enc.reset();
  }

  /**
   * flush() for the commit point: one synchronous write of a Ready's records (a copy into the page
   * cache), so the fdatasync that follows starts at once instead of after an event-loop turn behind
   * request handling, and runs in the threadpool while the loop applies and serves.
   */
  private flushNow(): void {
    const enc = this.encoder;
    if (enc.len === 0) return;
    const fd = this.tailFh!.fd;
    let off = 0;
    while (off < enc.len) off += writeSync(fd, enc.buf, off, enc.len - off, this.offset + off);
    this.offset += enc.len;
    this.stats.bytesWritten += enc.len;
    enc.reset();
  }

  private async fsyncTail(): Promise<void> {
    if (this.noSync) return;
    const t0 = performance.now();
    await this.tailFh!.datasync();
    const ms = performance.now() - t0;
    this.stats.fsyncs++;
    this.stats.fsyncSeconds += ms / 1000;
    this.onFsync?.(ms / 1000);
    if (ms > WARN_SYNC_MS) this.lg.warning(`slow fdatasync: took ${ms.toFixed(0)}ms, expected-duration ${WARN_SYNC_MS}ms`);
  }

  /**
   * Seals the tail (truncated to its records and synced) and continues in a new segment named
   * (seq + 1, lastIndex + 1) that opens with the crc, metadata and HardState records; the new file
   * is written and synced under a temporary name and renamed into place atomically.
   */
  private async cut(): Promise<void> {
    const old = this.tailFh!;
    await old.truncate(this.offset);
    await this.fsyncTail();
    const tail = this.held[this.held.length - 1]!;
    const seq = tail.seq + 1;
    const final = path.join(this.dir, walName(seq, this.enti + 1));
    const next = await this.fp!.open();
    const enc = this.encoder;
    enc.encode(CrcType, null);
    enc.encode(MetadataType, this.metadata);
    if (!isEmptyHardState(this.state)) enc.encode(StateType, encodeHardState(this.state));
    this.tailFh = next.fh;
    this.offset = 0;
    await this.flush();
    await this.fsyncTail();
    await fs.rename(next.path, final);
    if (!this.noSync) await this.dirFh!.sync();
    await old.close();
    this.addSegment(final);
    this.lg.info(`created a new WAL segment: ${final}`);
  }
}
