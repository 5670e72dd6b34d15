// The revision history of one key: generations of revisions, each generation running from a
// creation to a tombstone (etcd's key_index.go). Revisions are kept as parallel arrays of main
// and sub numbers to avoid an object per revision.

import { revKey, type Revision } from './revision.js';
import { NO_LEASE } from './kv.js';

export class Generation {
  ver = 0;
  createdMain = 0;
  createdSub = 0;
  mains: number[] = [];
  subs: number[] = [];

  isEmpty(): boolean {
    return this.mains.length === 0;
  }

  /** Index of the last revision with main <= atRev, or -1. */
  findRevisionIndex(atRev: number): number {
    const m = this.mains;
    let lo = 0;
    let hi = m.length - 1;
    let result = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (m[mid] <= atRev) {
        result = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return result;
  }

  lastMain(): number {
    return this.mains[this.mains.length - 1];
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
  readonly key: Buffer;
  modMain = 0;
  modSub = 0;
  generations: Generation[] = [];
  /** Lease of the key's latest revision (the lessor is told about changes of it). */
  lease: bigint = NO_LEASE;

  constructor(key: Buffer) {
    this.key = key;
  }

  put(main: number, sub: number): void {
    if (!(main > this.modMain || (main === this.modMain && sub > this.modSub))) {
      throw new Error(
        `mvcc: 'put' with an unexpected smaller revision ${main}.${sub} (modified ${this.modMain}.${this.modSub})`,
      );
    }
    if (this.generations.length === 0) this.generations.push(new Generation());
    const g = this.generations[this.generations.length - 1];
    if (g.mains.length === 0) {
      g.createdMain = main;
      g.createdSub = sub;
      // Literals of one element: most keys are written once, and a first push() would reserve 17.
      g.mains = [main];
      g.subs = [sub];
    } else {
      g.mains.push(main);
      g.subs.push(sub);
    }
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
    g.mains.push(modMain);
    g.subs.push(modSub);
    this.generations.push(g);
  }

  /** Appends a tombstone and opens a new empty generation; false if the key is already deleted. */
  tombstone(main: number, sub: number): boolean {
    if (this.isEmpty()) throw new Error(`mvcc: 'tombstone' got an unexpected empty keyIndex (${this.key})`);
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
    return { modMain: g.mains[n], modSub: g.subs[n], createdMain: g.createdMain, ver: g.ver - (g.mains.length - n - 1) };
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
      for (let i = 0; i < g.mains.length; i++) {
        const main = g.mains[i];
        if (main < rev) continue;
        if (main === last && revs.length > 0) {
          revs[revs.length - 1] = { main, sub: g.subs[i] };
          continue;
        }
        revs.push({ main, sub: g.subs[i] });
        last = main;
      }
    }
    return revs;
  }

  /** Drops revisions <= atRev except the newest of them; adds the kept one to `available`. */
  compact(atRev: number, available: Set<string>): void {
    if (this.isEmpty()) throw new Error(`mvcc: 'compact' got an unexpected empty keyIndex (${this.key})`);
    const [genIdx, revIndex] = this.doCompact(atRev, available);
    const g = this.generations[genIdx];
    if (!g.isEmpty() && revIndex > 0) {
      g.mains = g.mains.slice(revIndex);
      g.subs = g.subs.slice(revIndex);
    }
    if (genIdx > 0) this.generations = this.generations.slice(genIdx);
  }

  /** The revision a compaction at atRev would keep, for hashing (a final tombstone is not kept). */
  keep(atRev: number, available: Set<string>): void {
    if (this.isEmpty()) return;
    const [genIdx, revIndex] = this.doCompact(atRev, available);
    const g = this.generations[genIdx];
    if (!g.isEmpty() && revIndex === g.mains.length - 1 && genIdx !== this.generations.length - 1) {
      available.delete(revKey(g.mains[revIndex], g.subs[revIndex]));
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
    if (revIndex !== -1) available.add(revKey(g.mains[revIndex], g.subs[revIndex]));
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
      if (g.mains.length === 0) continue;
      if (cg !== lastg && g.lastMain() <= rev) return null;
      if (g.mains[0] <= rev) return g;
    }
    return null;
  }
}
