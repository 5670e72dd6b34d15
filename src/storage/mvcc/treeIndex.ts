// The in-memory index: an ordered map from key to its KeyIndex (etcd's index.go over a B-tree).
// Keys are indexed as latin1 strings, whose UTF-16 order is the byte order of the keys. A hash map
// beside the tree answers single-key lookups (most puts and gets) without walking the tree.
// An `end` of null means the single key; an empty end means every key >= key.

import BTreeModule from 'sorted-btree';
import { KeyIndex, type KeyAt } from './keyIndex.js';
import type { Revision } from './revision.js';

const BTree = BTreeModule.default;
type Tree = InstanceType<typeof BTree<string, KeyIndex>>;

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Sorts after every latin1 string: the upper bound of an unbounded range. */
const TOP = '\uffff';

export function keyString(key: Uint8Array): string {
  return Buffer.isBuffer(key) ? key.toString('latin1') : Buffer.from(key.buffer, key.byteOffset, key.length).toString('latin1');
}

export class TreeIndex {
  private tree: Tree = new BTree<string, KeyIndex>(undefined, compareStrings, 64);
  private readonly byKey = new Map<string, KeyIndex>();

  get size(): number {
    return this.byKey.size;
  }

  clear(): void {
    this.tree.clear();
    this.byKey.clear();
  }

  keyIndex(key: string): KeyIndex | undefined {
    return this.byKey.get(key);
  }

  put(skey: string, main: number, sub: number): KeyIndex {
    let ki = this.byKey.get(skey);
    if (ki === undefined) {
      ki = new KeyIndex(skey);
      this.insert(skey, ki);
    }
    ki.put(main, sub);
    return ki;
  }

  insert(skey: string, ki: KeyIndex): void {
    this.tree.set(skey, ki);
    this.byKey.set(skey, ki);
  }

  /** Tombstones a key; false when the key does not exist. */
  tombstone(skey: string, main: number, sub: number): boolean {
    const ki = this.byKey.get(skey);
    if (ki === undefined) return false;
    return ki.tombstone(main, sub);
  }

  get(skey: string, atRev: number): KeyAt | null {
    const ki = this.byKey.get(skey);
    return ki === undefined ? null : ki.get(atRev);
  }

  /** Calls fn for each key index in [key, end) in order; fn returns true to stop. */
  visit(key: string, end: string, fn: (ki: KeyIndex) => boolean | void): void {
    const high = end.length === 0 ? TOP : end;
    if (key >= high) return;
    this.tree.forRange(key, high, false, (_k, ki) => {
      if (fn(ki) === true) return { break: true } as unknown as void;
    });
  }

  /**
   * Revisions of the keys in the range at atRev, at most `limit` (0: all), and the total number of
   * keys that exist at atRev (not capped by the limit).
   */
  revisions(key: string, end: string | null, atRev: number, limit: number): { revs: KeyAt[]; total: number } {
    if (end === null) {
      const r = this.get(key, atRev);
      return r === null ? { revs: [], total: 0 } : { revs: [r], total: 1 };
    }
    const revs: KeyAt[] = [];
    let total = 0;
    this.visit(key, end, (ki) => {
      if (limit <= 0 || revs.length < limit) {
        const r = ki.get(atRev);
        if (r !== null) {
          revs.push(r);
          total++;
        }
      } else if (ki.existsAt(atRev)) total++;
    });
    return { revs, total };
  }

  countRevisions(key: string, end: string | null, atRev: number): number {
    if (end === null) return this.get(key, atRev) === null ? 0 : 1;
    let total = 0;
    this.visit(key, end, (ki) => {
      if (ki.existsAt(atRev)) total++;
    });
    return total;
  }

  /** Keys (with their index entries) that exist at atRev in the range. */
  range(key: string, end: string | null, atRev: number): KeyIndex[] {
    if (end === null) {
      const ki = this.byKey.get(key);
      return ki !== undefined && ki.existsAt(atRev) ? [ki] : [];
    }
    const out: KeyIndex[] = [];
    this.visit(key, end, (ki) => {
      if (ki.existsAt(atRev)) out.push(ki);
    });
    return out;
  }

  /** Compacts every key at rev, removing keys left empty; returns the revisions to keep. */
  compact(rev: number): Set<string> {
    const available = new Set<string>();
    const empty: string[] = [];
    this.tree.forEachPair((k, ki) => {
      ki.compact(rev, available);
      if (ki.isEmpty()) empty.push(k);
    });
    for (const k of empty) {
      this.tree.delete(k);
      this.byKey.delete(k);
    }
    return available;
  }

  /** The revisions a compaction at rev would keep. */
  keep(rev: number): Set<string> {
    const available = new Set<string>();
    this.tree.forEachPair((_k, ki) => ki.keep(rev, available));
    return available;
  }

  /** Revisions of a key since rev (for tests and diagnostics). */
  since(skey: string, rev: number): Revision[] {
    const ki = this.byKey.get(skey);
    return ki === undefined ? [] : ki.since(rev);
  }
}
