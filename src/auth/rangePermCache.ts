// Per-user key-range permissions merged into sorted, disjoint intervals (etcd's
// range_perm_cache.go over an interval tree, unified the way its unifyKeyRange did), so a check is
// one binary search. Conventions (etcd's): a permission with an empty range_end covers one key;
// range_end "\0" means "to the end of the keyspace"; a request with an empty range_end is a point.

import { PermType, type Permission, type Role } from './authpb.js';

/** Sorted, disjoint, non-adjacent half-open intervals; an end of null is +infinity. */
export class KeyRanges {
  private readonly begins: Buffer[];
  private readonly ends: (Buffer | null)[];

  private constructor(begins: Buffer[], ends: (Buffer | null)[]) {
    this.begins = begins;
    this.ends = ends;
  }

  static build(intervals: { begin: Buffer; end: Buffer | null }[]): KeyRanges {
    const sorted = [...intervals].sort((a, b) => Buffer.compare(a.begin, b.begin));
    const begins: Buffer[] = [];
    const ends: (Buffer | null)[] = [];
    for (const iv of sorted) {
      const n = ends.length;
      const last = n > 0 ? ends[n - 1] : undefined;
      // Overlapping or touching the previous interval: extend it.
      if (last !== undefined && (last === null || Buffer.compare(iv.begin, last) <= 0)) {
        if (last !== null && (iv.end === null || Buffer.compare(iv.end, last) > 0)) ends[n - 1] = iv.end;
        continue;
      }
      begins.push(iv.begin);
      ends.push(iv.end);
    }
    return new KeyRanges(begins, ends);
  }

  get size(): number {
    return this.begins.length;
  }

  /** Index of the last interval beginning at or before key, or -1. */
  private floor(key: Uint8Array): number {
    let lo = 0;
    let hi = this.begins.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (Buffer.compare(this.begins[mid], key) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return lo - 1;
  }

  containsKey(key: Uint8Array): boolean {
    const i = this.floor(key);
    if (i < 0) return false;
    const end = this.ends[i];
    return end === null || Buffer.compare(key, end) < 0;
  }

  /** Whether [begin, end) lies inside one interval (intervals are merged, so that is coverage). */
  containsRange(begin: Uint8Array, end: Uint8Array | null): boolean {
    if (end !== null && Buffer.compare(end, begin) <= 0) return false; // empty request range
    const i = this.floor(begin);
    if (i < 0) return false;
    const e = this.ends[i];
    if (e === null) return true;
    return end !== null && Buffer.compare(end, e) <= 0;
  }
}

export interface UnifiedRangePermissions {
  read: KeyRanges;
  write: KeyRanges;
}

const ZERO = Buffer.from([0]);

function isOpenEnded(rangeEnd: Uint8Array | null | undefined): boolean {
  return rangeEnd != null && rangeEnd.length === 1 && rangeEnd[0] === 0;
}

/** The interval a permission covers. */
function permInterval(p: Permission): { begin: Buffer; end: Buffer | null } {
  if (p.rangeEnd.length === 0) return { begin: p.key, end: Buffer.concat([p.key, ZERO]) };
  return { begin: p.key, end: isOpenEnded(p.rangeEnd) ? null : p.rangeEnd };
}

/** Merges the permissions of a user's roles (missing roles are skipped by the caller). */
export function mergePermissions(roles: Iterable<Role>): UnifiedRangePermissions {
  const read: { begin: Buffer; end: Buffer | null }[] = [];
  const write: { begin: Buffer; end: Buffer | null }[] = [];
  for (const role of roles) {
    for (const p of role.keyPermission) {
      const iv = permInterval(p);
      if (p.permType === PermType.READ || p.permType === PermType.READWRITE) read.push(iv);
      if (p.permType === PermType.WRITE || p.permType === PermType.READWRITE) write.push(iv);
    }
  }
  return { read: KeyRanges.build(read), write: KeyRanges.build(write) };
}

/** Whether a request on key (and range end, empty for one key) is covered for the given type. */
export function checkKeyRange(
  perms: UnifiedRangePermissions,
  key: Uint8Array,
  rangeEnd: Uint8Array | null | undefined,
  permType: typeof PermType.READ | typeof PermType.WRITE,
): boolean {
  const ranges = permType === PermType.READ ? perms.read : perms.write;
  if (rangeEnd == null || rangeEnd.length === 0) return ranges.containsKey(key);
  return ranges.containsRange(key, isOpenEnded(rangeEnd) ? null : rangeEnd);
}

/** etcd's isValidPermissionRange: a non-empty key and a range end that is empty, "\0" or > key. */
export function isValidPermissionRange(key: Uint8Array, rangeEnd: Uint8Array): boolean {
  if (key.length === 0) return false;
  if (rangeEnd.length === 0) return true;
  if (Buffer.compare(key, rangeEnd) < 0) return true;
  return isOpenEnded(rangeEnd);
}
