// The revision history of one key: generations of revisions, each generation running from a
// creation to a tombstone (etcd's key_index.go). A generation keeps its revisions in one array of
// interleaved main and sub numbers, and a key index its key as the index's latin1 string: every
// key in memory costs a few small objects and no buffer of its own.

import { revKey, type Revision } from './revision.js';
import { NO_LEASE } from './kv.js';

export class Generation {
  ver = 0;
  createdMain = 0;
  createdSub = 0;
  /** main0, sub0, main1, sub1, ... in increasing order. */
  private revs: number[] = [];

  /** Number of revisions. */
  get count(): number {
    return this.revs.length >>> 1;
  }

  main(i: number): number {
    return this.revs[2 * i];
  }

  sub(i: number): number {
    return this.revs[2 * i + 1];
  }

  push(main: number, sub: number): void {
    // A literal for the first: most keys are written once, and push() would reserve 17 slots.
    if (this.revs.length === 0) this.revs = [main, sub];
    else this.revs.push(main, sub);
  }

  /** Drops the first n revisions. */
  dropFirst(n: number): void {
    this.revs = this.revs.slice(2 * n);
  }

  isEmpty(): boolean {
    return this.revs.length === 0;
  }

  /** Index of the last revision with main <= atRev, or -1. */
  findRevisionIndex(atRev: number): number {
    const r = this.revs;
    let lo = 0;
    let hi = (r.length >>> 1) - 1;
    let result = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (r[2 * mid] <= atRev) {
        result = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return result;
  }

  lastMain(): number {
    return this.revs[this.revs.length - 2];
  }
}

/** What a key looked like at a revision. */
export interface KeyAt {
  modMain: number;
  modSub: number;
  createdMain: number;
  ver: number;
}

export class KeyIndex {
  /** The key as a latin1 string (the same string the index maps). */
  readonly skey: string;
  modMain = 0;
  modSub = 0;
  generations: Generation[] = [];
  /** Lease of the key's latest revision (the lessor is told about changes of it). */
  lease: bigint = NO_LEASE;

  constructor(skey: string) {
    this.skey = skey;
  }

  /** The key's bytes (made on demand: deletes and lease bookkeeping need them, lookups do not). */
  get key(): Buffer {
    return Buffer.from(this.skey, 'latin1');
  }

  put(main: number, sub: number): void {
    if (!(main > this.modMain || (main === this.modMain && sub > this.modSub))) {
      throw new Error(
        `mvcc: 'put' with an unexpected smaller revision ${main}.${sub} (modified ${this.modMain}.${this.modSub})`,
      );
    }
    // Literals, not push(): a first push() reserves 17 slots, and most keys keep one generation.
    if (this.generations.length === 0) this.generations = [new Generation()];
    const g = this.generations[this.generations.length - 1];
    if (g.isEmpty()) {
      g.createdMain = main;
      g.createdSub = sub;
    }
    g.push(main, sub);
    g.ver++;
    this.modMain = main;
    this.modSub = sub;
  }

  /** Rebuilds a key from its newest stored revision (restore on start). */
  restore(createdMain: number, modMain: number, modSub: number, ver: number): void {
    if (this.generations.length !== 0) throw new Error("mvcc: 'restore' got an unexpected non-empty generations");
    this.modMain = modMain;
    this.modSub = modSub;
    const g = new Generation();
    g.createdMain = createdMain;
    g.ver = ver;
    g.push(modMain, modSub);
    this.generations = [g];
  }

  /** Appends a tombstone and opens a new empty generation; false if the key is already deleted. */
  tombstone(main: number, sub: number): boolean {
    if (this.isEmpty()) throw new Error(`mvcc: 'tombstone' got an unexpected empty keyIndex (${this.skey})`);
    if (this.generations[this.generations.length - 1].isEmpty()) return false;
    this.put(main, sub);
    this.generations.push(new Generation());
    return true;
  }

  /** The key at atRev, or null when it did not exist then. */
  get(atRev: number): KeyAt | null {
    const g = this.findGeneration(atRev);
    if (g === null || g.isEmpty()) return null;
    const n = g.findRevisionIndex(atRev);
    if (n === -1) return null;
    return { modMain: g.main(n), modSub: g.sub(n), createdMain: g.createdMain, ver: g.ver - (g.count - n - 1) };
  }

  /** Whether the key existed at atRev (cheaper than get). */
  existsAt(atRev: number): boolean {
    const g = this.findGeneration(atRev);
    return g !== null && !g.isEmpty() && g.findRevisionIndex(atRev) !== -1;
  }

  /** Revisions since rev, keeping only the largest sub of each main. */
  since(rev: number): Revision[] {
    const gens = this.generations;
    let gi = gens.length - 1;
    for (; gi > 0; gi--) {
      const g = gens[gi];
      if (g.isEmpty()) continue;
      if (rev > g.createdMain) break;
    }
    const revs: Revision[] = [];
    let last = 0;
    for (; gi < gens.length; gi++) {
      const g = gens[gi];
      for (let i = 0; i < g.count; i++) {
        const main = g.main(i);
        if (main < rev) continue;
        if (main === last && revs.length > 0) {
          revs[revs.length - 1] = { main, sub: g.sub(i) };
          continue;
        }
        revs.push({ main, sub: g.sub(i) });
        last = main;
      }
    }
    return revs;
  }

  /** Drops revisions <= atRev except the newest of them; adds the kept one to `available`. */
  compact(atRev: number, available: Set<string>): void {
    if (this.isEmpty()) throw new Error(`mvcc: 'compact' got an unexpected empty keyIndex (${this.skey})`);
    const [genIdx, revIndex] = this.doCompact(atRev, available);
    const g = this.generations[genIdx];
    if (!g.isEmpty() && revIndex > 0) g.dropFirst(revIndex);
    if (genIdx > 0) this.generations = this.generations.slice(genIdx);
  }

  /** The revision a compaction at atRev would keep, for hashing (a final tombstone is not kept). */
  keep(atRev: number, available: Set<string>): void {
    if (this.isEmpty()) return;
    const [genIdx, revIndex] = this.doCompact(atRev, available);
    const g = this.generations[genIdx];
    if (!g.isEmpty() && revIndex === g.count - 1 && genIdx !== this.generations.length - 1) {
      available.delete(revKey(g.main(revIndex), g.sub(revIndex)));
    }
  }

  private doCompact(atRev: number, available: Set<string>): [number, number] {
    const gens = this.generations;
    let genIdx = 0;
    let g = gens[0];
    // the first generation that includes atRev or was created after it
    while (genIdx < gens.length - 1) {
      if (g.lastMain() >= atRev) break;
      genIdx++;
      g = gens[genIdx];
    }
    const revIndex = g.findRevisionIndex(atRev);
    if (revIndex !== -1) available.add(revKey(g.main(revIndex), g.sub(revIndex)));
    return [genIdx, revIndex];
  }

  isEmpty(): boolean {
    return this.generations.length === 1 && this.generations[0].isEmpty();
  }

  /** The generation holding rev, or null when rev falls between generations (key absent). */
  findGeneration(rev: number): Generation | null {
    const gens = this.generations;
    const lastg = gens.length - 1;
    for (let cg = lastg; cg >= 0; cg--) {
      const g = gens[cg];
      if (g.isEmpty()) continue;
      if (cg !== lastg && g.lastMain() <= rev) return null;
      if (g.main(0) <= rev) return g;
    }
    return null;
  }
}
