// File-system helpers shared by the WAL and the snapshotter: a directory lock against a second
// process, fsync of directories, preallocation, durable whole-file writes, and purging old files
// (with an in-process registry of files still in use, standing in for etcd's per-file flocks).
//
// Why a pid lock file and not flock: Node exposes no flock/fcntl, and no native addon is available.
// `<dir>/.lock` is created atomically (hard link of a complete temporary file, O_EXCL where links
// are unsupported) and holds the pid, the process start time and the host name.
// A lock whose owner is gone is stale and may be taken over: the owner is gone when it ran on this
// host and its pid is dead, or the pid now belongs to a different process (start time differs: pid
// reuse after a reboot or in a restarted container, where the same pid is common). A lock left by
// our own pid that this process does not hold is a previous incarnation's. A lock from another host
// (shared storage) is never broken automatically; pids are checked in this process's pid namespace,
// so containers sharing a data dir must not share a host name. Takeover renames the stale file aside first and
// checks that what it moved is still the stale content, so two processes breaking the same stale
// lock cannot both win.

import { constants as fsc } from 'node:fs';
import * as fs from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';

export const PRIVATE_FILE_MODE = 0o600;
export const PRIVATE_DIR_MODE = 0o700;
export const LOCK_FILE_NAME = '.lock';

// ---- small helpers ----------------------------------------------------------------------------

function errCode(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | null)?.code;
}

export async function exists(p: string): Promise<boolean> {
  try {
    await fs.access(p);
    return true;
  } catch {
    return false;
  }
}

/** Names in `dir`, sorted; only those ending with `ext` when given. */
export async function readDirNames(dir: string, ext?: string): Promise<string[]> {
  const names = await fs.readdir(dir);
  const out = ext === undefined ? names : names.filter((n) => n.endsWith(ext));
  return out.sort();
}

/** Creates `dir` (and parents) with private permissions if missing. */
export async function createDirAll(dir: string): Promise<void> {
  await fs.mkdir(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
}

/** Makes creations, renames and removals inside `dir` durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await fs.open(dir, fsc.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes `data` to `file` (created or truncated) and fsyncs it before returning. */
export async function writeAndSyncFile(file: string, data: Uint8Array, mode = PRIVATE_FILE_MODE): Promise<void> {
  const fh = await fs.open(file, 'w', mode);
  try {
    let off = 0;
    while (off < data.length) {
      const { bytesWritten } = await fh.write(data, off, data.length - off, off);
      off += bytesWritten;
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Writes all of `buf[off, off+len)` at file position `pos` (pwrite may write partially). */
export async function writeFullAt(fh: FileHandle, buf: Uint8Array, off: number, len: number, pos: number): Promise<void> {
  while (len > 0) {
    const { bytesWritten } = await fh.write(buf, off, len, pos);
    off += bytesWritten;
    pos += bytesWritten;
    len -= bytesWritten;
  }
}

const ZERO_CHUNK = Buffer.alloc(1 << 20);

/** Writes zeros over `[from, to)`, keeping the blocks allocated (unlike truncate-and-extend). */
export async function zeroRange(fh: FileHandle, from: number, to: number): Promise<void> {
  while (from < to) {
    const n = Math.min(ZERO_CHUNK.length, to - from);
    await writeFullAt(fh, ZERO_CHUNK, 0, n, from);
    from += n;
  }
}

/**
 * How a new file is given its size. `sparse` extends it with ftruncate (what etcd falls back to
 * where fallocate is unsupported; Node has no fallocate): instant, blocks are allocated on first
 * write. `zero` writes zeros, so later appends overwrite allocated blocks and each fdatasync has
 * less metadata to commit, at the cost of writing the segment twice.
 */
export type PreallocateMode = 'sparse' | 'zero';

/** Grows the file to at least `size` bytes (never shrinks it). */
export async function preallocate(fh: FileHandle, size: number, mode: PreallocateMode): Promise<void> {
  const { size: cur } = await fh.stat();
  if (cur >= size) return;
  if (mode === 'zero') await zeroRange(fh, cur, size);
  else await fh.truncate(size);
}

// ---- directory lock ---------------------------------------------------------------------------

export class LockedError extends Error {
  readonly code = 'ELOCKED';
  constructor(message: string) {
    super(message);
    this.name = 'LockedError';
  }
}

interface LockOwner {
  pid: number;
  start: string;
  host: string;
}

/** Locks held by this process, by resolved directory path, and those being acquired. */
const heldLocks = new Map<string, DirLock>();
const acquiring = new Set<string>();

/** Start time of a process in clock ticks since boot (Linux /proc), or '' where unknown. */
async function processStartTime(pid: number): Promise<string> {
  try {
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'latin1');
    // Field 22 (starttime); the command name (field 2) may contain spaces, so count after ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19] ?? '';
  } catch {
    return '';
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errCode(e) === 'EPERM';
  }
}

function formatOwner(o: LockOwner): string {
  return `pid ${o.pid}\nstart ${o.start}\nhost ${o.host}\n`;
}

function parseOwner(text: string): LockOwner | null {
  const m = /^pid (\d+)\nstart (\S*)\nhost (.*)\n$/.exec(text);
  if (!m) return null;
  return { pid: Number(m[1]), start: m[2]!, host: m[3]! };
}

/** Whether the recorded owner may still hold the lock. Unparsable content counts as held. */
async function ownerAlive(o: LockOwner | null): Promise<boolean> {
  if (!o) return true;
  if (o.host !== os.hostname()) return true;
  if (o.pid === process.pid) return false; // not in heldLocks: an earlier incarnation's lock
  if (!pidAlive(o.pid)) return false;
  if (o.start === '') return true;
  const start = await processStartTime(o.pid);
  return start === '' || start === o.start;
}

async function readOrNull(file: string): Promise<string | null> {
  try {
    return await fs.readFile(file, 'utf8');
  } catch (e) {
    if (errCode(e) === 'ENOENT') return null;
    throw e;
  }
}

/** An exclusive lock on a directory, held until `release()`. */
export class DirLock {
  private released = false;

  private constructor(
    private dir: string,
    private readonly content: string,
  ) {}

  get lockPath(): string {
    return path.join(this.dir, LOCK_FILE_NAME);
  }

  /** Takes the lock on `dir` or throws LockedError naming the holder. */
  static async acquire(dir: string): Promise<DirLock> {
    const key = path.resolve(dir);
    // Claimed synchronously, so two acquires in this process never race on the file.
    if (heldLocks.has(key) || acquiring.has(key)) {
      throw new LockedError(`directory ${key} is already locked by this process (pid ${process.pid})`);
    }
    acquiring.add(key);
    try {
      const owner: LockOwner = { pid: process.pid, start: await processStartTime(process.pid), host: os.hostname() };
      const content = formatOwner(owner);
      const lockPath = path.join(key, LOCK_FILE_NAME);
      for (let attempt = 0; attempt < 5; attempt++) {
        if (await createWithContent(lockPath, content)) {
          const lock = new DirLock(key, content);
          heldLocks.set(key, lock);
          return lock;
        }
        const existing = await readOrNull(lockPath);
        if (existing === null) continue; // released meanwhile: retry
        const holder = parseOwner(existing);
        if (await ownerAlive(holder)) {
          const who = holder ? `pid ${holder.pid} on host ${holder.host}` : 'an unknown owner';
          throw new LockedError(
            `directory ${key} is locked by ${who} (${lockPath}); is another tsetcd running on this data dir? ` +
              `If not, remove the lock file`,
          );
        }
        await breakStaleLock(lockPath, existing);
      }
      throw new LockedError(`could not lock directory ${key}: lock file ${lockPath} keeps changing`);
    } finally {
      acquiring.delete(key);
    }
  }

  /** Follows a rename of the locked directory (the lock file moves with it). */
  moved(newDir: string): void {
    heldLocks.delete(this.dir);
    this.dir = path.resolve(newDir);
    heldLocks.set(this.dir, this);
  }

  /** Removes the lock file if it is still ours. Idempotent. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    if (heldLocks.get(this.dir) === this) heldLocks.delete(this.dir);
    const cur = await readOrNull(this.lockPath);
    if (cur === this.content) await fs.unlink(this.lockPath).catch(() => {});
  }
}

/**
 * Creates `file` holding `content` if it does not exist; false if it does. The content is written
 * to a private temporary file first and hard-linked into place, so the lock file is never seen
 * empty or half-written (a crash between create and write would otherwise leave an unreadable lock).
 */
async function createWithContent(file: string, content: string): Promise<boolean> {
  const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  await fs.writeFile(tmp, content, { mode: PRIVATE_FILE_MODE });
  try {
    await fs.link(tmp, file);
    return true;
  } catch (e) {
    if (errCode(e) === 'EEXIST') return false;
    // No hard links on this file system: fall back to O_EXCL creation.
    try {
      const fh = await fs.open(file, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, PRIVATE_FILE_MODE);
      try {
        await fh.writeFile(content);
      } finally {
        await fh.close();
      }
      return true;
    } catch (e2) {
      if (errCode(e2) === 'EEXIST') return false;
      throw e2;
    }
  } finally {
    await fs.unlink(tmp).catch(() => {});
  }
}

/** Moves a stale lock aside; if what moved is no longer the stale content, puts it back. */
async function breakStaleLock(lockPath: string, staleContent: string): Promise<void> {
  const aside = `${lockPath}.stale.${process.pid}.${Math.random().toString(36).slice(2)}`;
  try {
    await fs.rename(lockPath, aside);
  } catch (e) {
    if (errCode(e) === 'ENOENT') return;
    throw e;
  }
  const moved = await readOrNull(aside);
  if (moved !== null && moved !== staleContent) {
    // Another process took over first and we moved its live lock: restore it (link fails if a
    // third process already created a new one, which then keeps the lock).
    await fs.link(aside, lockPath).catch(() => {});
    await fs.unlink(aside).catch(() => {});
    throw new LockedError(`lock ${lockPath} was taken over concurrently by another process`);
  }
  await fs.unlink(aside).catch(() => {});
}

// ---- files in use and purging -----------------------------------------------------------------

/** Files (resolved paths) this process still needs; purging stops at the first one. */
const heldFiles = new Set<string>();

export function holdFile(file: string): void {
  heldFiles.add(path.resolve(file));
}

export function releaseFile(file: string): void {
  heldFiles.delete(path.resolve(file));
}

export function isFileHeld(file: string): boolean {
  return heldFiles.has(path.resolve(file));
}

export interface PurgeLogger {
  info(text: string): void;
  warning(text: string): void;
}

/**
 * One purge pass: while more than `max` files in `dir` end with `suffix`, removes the oldest (by
 * name order). Stops at a file still held, as etcd's purge stops at a file it cannot lock.
 * Returns the names removed.
 */
export async function purgeFiles(dir: string, suffix: string, max: number, lg?: PurgeLogger): Promise<string[]> {
  const names = await readDirNames(dir, suffix);
  const removed: string[] = [];
  let n = names.length;
  for (const name of names) {
    if (n <= max) break;
    const file = path.join(dir, name);
    if (isFileHeld(file)) {
      lg?.warning(`purge stopped: ${file} is still in use`);
      break;
    }
    await fs.unlink(file);
    lg?.info(`purged ${file}`);
    removed.push(name);
    n--;
  }
  if (removed.length > 0) await fsyncDir(dir);
  return removed;
}

export interface Purger {
  /** Stops the loop and waits for a pass in progress. */
  stop(): Promise<void>;
}

/**
 * Runs `purgeFiles` every `intervalMs` until stopped (etcd purges WAL and snap files every 30 s
 * with --max-wals / --max-snapshots). `max` of 0 disables purging. Errors go to `onError`.
 */
export function startPurger(
  dir: string,
  suffix: string,
  max: number,
  intervalMs: number,
  onError: (e: unknown) => void,
  lg?: PurgeLogger,
): Purger {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();
  let stopped = false;
  const tick = () => {
    running = purgeFiles(dir, suffix, max, lg).then(
      () => {},
      (e) => onError(e),
    );
    void running.then(() => {
      if (!stopped) timer = setTimeout(tick, intervalMs);
    });
  };
  if (max > 0) tick();
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
