// Prepares the next WAL segment in the background: a preallocated temporary file (`0.tmp` / `1.tmp`,
// alternating so the one being renamed is never the one being made), ready when the WAL cuts.

import * as fs from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import * as path from 'node:path';
import { PRIVATE_FILE_MODE, PreallocateMode, preallocate } from '../pkg/fileutil.js';

export interface PreparedFile {
  fh: FileHandle;
  path: string;
}

export class FilePipeline {
  private count = 0;
  private pending: Promise<PreparedFile> | null;

  constructor(
    private readonly dir: string,
    private readonly size: number,
    private readonly mode: PreallocateMode,
  ) {
    this.pending = this.prepare();
  }

  private prepare(): Promise<PreparedFile> {
    const p = this.alloc();
    p.catch(() => {}); // reported by open()
    return p;
  }

  private async alloc(): Promise<PreparedFile> {
    const file = path.join(this.dir, `${this.count % 2}.tmp`);
    this.count++;
    // Truncate: a leftover from a crash must not leave old bytes after the new segment's records.
    const fh = await fs.open(file, 'w', PRIVATE_FILE_MODE);
    try {
      await preallocate(fh, this.size, this.mode);
    } catch (e) {
      await fh.close();
      throw e;
    }
    return { fh, path: file };
  }

  /** The next prepared file; the caller must rename it before calling open again. */
  async open(): Promise<PreparedFile> {
    if (!this.pending) throw new Error('wal: file pipeline closed');
    const cur = this.pending;
    let f: PreparedFile;
    try {
      f = await cur;
    } finally {
      this.pending = this.prepare();
    }
    return f;
  }

  /** Stops preparing and removes the unused file. */
  async close(): Promise<void> {
    const p = this.pending;
    this.pending = null;
    if (!p) return;
    try {
      const f = await p;
      await f.fh.close();
      await fs.unlink(f.path);
    } catch {
      // nothing was prepared
    }
  }
}
