// A majority configuration: a set of voter IDs deciding by simple majority (etcd-raft's
// quorum/majority.go): its committed index, a vote tally, and the printable forms.
import { type AckedIndexer, VoteResult } from './quorum.js';

function compareBigint(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The IDs of a set sorted ascending. */
export function sortedIds(ids: Iterable<bigint>): bigint[] {
  return Array.from(ids).sort(compareBigint);
}

/** `(1 2 3)`: the IDs sorted ascending, in hex (etcd member IDs print in hex). */
export function idSetString(ids: Iterable<bigint>): string {
  const sl = sortedIds(ids);
  let s = '(';
  for (let i = 0; i < sl.length; i++) {
    if (i > 0) s += ' ';
    s += sl[i].toString(16);
  }
  return s + ')';
}

// Scratch space for committedIndex: it runs on every append acknowledgement, so it reuses one array
// instead of allocating (JS is single-threaded, and the function does not re-enter).
let scratch = new Float64Array(16);

/** A set of voter IDs that uses majority quorums to make decisions. */
export class MajorityConfig extends Set<bigint> {
  override toString(): string {
    return idSetString(this);
  }

  /** The IDs sorted ascending. */
  slice(): bigint[] {
    return sortedIds(this);
  }

  /** A multi-line table of the acknowledged indexes, used by tests and debugging. */
  describe(l: AckedIndexer): string {
    return describeMajority(this, l);
  }

  /**
   * The highest index acknowledged by a majority. The empty config returns Infinity, so that a
   * joint config with one empty half behaves like its other half.
   */
  committedIndex(l: AckedIndexer): number {
    return majorityCommittedIndex(this, l);
  }

  /** Tallies yes (true) / no (false) votes; voters missing from `votes` have not voted yet. */
  voteResult(votes: ReadonlyMap<bigint, boolean>): VoteResult {
    return majorityVoteResult(this, votes);
  }
}

export function describeMajority(c: ReadonlySet<bigint>, l: AckedIndexer): string {
  const n = c.size;
  if (n === 0) return '<empty majority quorum>';
  interface Tup {
    id: bigint;
    idx: number;
    ok: boolean;
    bar: number;
  }
  const info: Tup[] = [];
  for (const id of c) {
    const idx = l(id);
    info.push({ id, idx: idx ?? 0, ok: idx !== undefined, bar: 0 });
  }
  // The i-th smallest index gets bar i, and equal indexes share a bar, so the table reads like a
  // progress chart.
  info.sort((a, b) => (a.idx !== b.idx ? (a.idx < b.idx ? -1 : 1) : compareBigint(a.id, b.id)));
  for (let i = 1; i < n; i++) {
    info[i].bar = info[i - 1].idx < info[i].idx ? i : info[i - 1].bar;
  }
  info.sort((a, b) => compareBigint(a.id, b.id));
  let s = ' '.repeat(n) + '    idx\n';
  for (const t of info) {
    s += t.ok ? 'x'.repeat(t.bar) + '>' + ' '.repeat(n - t.bar) : '?' + ' '.repeat(n);
    s += ' ' + String(t.idx).padStart(5, ' ') + '    (id=' + t.id.toString(16) + ')\n';
  }
  return s;
}

export function majorityCommittedIndex(c: ReadonlySet<bigint>, l: AckedIndexer): number {
  const n = c.size;
  if (n === 0) return Infinity;
  if (scratch.length < n) scratch = new Float64Array(n * 2);
  const srt = scratch;
  // Voters that have not reported count as 0.
  let i = 0;
  for (const id of c) {
    const idx = l(id);
    srt[i++] = idx === undefined ? 0 : idx;
  }
  // Insertion sort: configurations are small (typically 3-7 voters).
  for (let j = 1; j < n; j++) {
    const v = srt[j];
    let k = j - 1;
    while (k >= 0 && srt[k] > v) {
      srt[k + 1] = srt[k];
      k--;
    }
    srt[k + 1] = v;
  }
  // The highest index that n/2+1 voters have reached.
  return srt[n - (Math.floor(n / 2) + 1)];
}

export function majorityVoteResult(
  c: ReadonlySet<bigint>,
  votes: ReadonlyMap<bigint, boolean>,
): VoteResult {
  // An empty config wins by convention, so that a half-populated joint config acts like a majority.
  if (c.size === 0) return VoteResult.VoteWon;
  let yes = 0;
  let missing = 0;
  for (const id of c) {
    const v = votes.get(id);
    if (v === undefined) missing++;
    else if (v) yes++;
  }
  const q = Math.floor(c.size / 2) + 1;
  if (yes >= q) return VoteResult.VoteWon;
  if (yes + missing >= q) return VoteResult.VotePending;
  return VoteResult.VoteLost;
}
