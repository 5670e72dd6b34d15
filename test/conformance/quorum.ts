// Runner for quorum/testdata (README §7.2): `committed` and `vote` over a majority or joint
// config, with the cross-checks of etcd-raft's quorum/datadriven_test.go (they print only when
// two computations disagree).
import { JointConfig } from '../../src/raft/quorum/joint.js';
import { MajorityConfig } from '../../src/raft/quorum/majority.js';
import { type AckedIndexer, indexString, mapAckIndexer, VoteResult } from '../../src/raft/quorum/quorum.js';
import { argUintBig, DataDrivenError, type TestCase } from './datadriven.js';

/**
 * The committed index computed differently: for each acknowledged index, count the voters at or
 * above it, and take the highest index a quorum reached.
 */
export function alternativeMajorityCommittedIndex(c: ReadonlySet<bigint>, l: AckedIndexer): number {
  if (c.size === 0) return Infinity;
  const acked: number[] = [];
  for (const id of c) {
    const idx = l(id);
    if (idx !== undefined) acked.push(idx);
  }
  const q = Math.floor(c.size / 2) + 1;
  let maxQuorumIdx = 0;
  for (const idx of acked) {
    let votes = 0;
    for (const other of acked) if (other >= idx) votes++;
    if (votes >= q && idx > maxQuorumIdx) maxQuorumIdx = idx;
  }
  return maxQuorumIdx;
}

// Go's %v of map[uint64]struct{} and of a slice, for the mismatch message.
function goMapSet(ids: Iterable<bigint>): string {
  const sl = Array.from(ids).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return 'map[' + sl.map((id) => `${id}:{}`).join(' ') + ']';
}

/** A handler for one quorum test file (the quorum suite keeps no state between directives). */
export function makeHandler(): (tc: TestCase) => string {
  return handle;
}

function handle(tc: TestCase): string {
  const fatal = (msg: string): never => {
    throw new DataDrivenError(`${tc.file}:${tc.line}: ${msg}`);
  };
  let joint = false;
  const ids: bigint[] = [];
  const idsj: bigint[] = [];
  // Indexes (0 = no information) and votes (0 = none, 1 = no, 2 = yes), in voter order.
  const idxs: number[] = [];
  const votes: number[] = [];
  for (const arg of tc.cmdArgs) {
    for (let i = 0; i < arg.vals.length; i++) {
      switch (arg.key) {
        case 'cfg':
          ids.push(argUintBig(arg, i, tc));
          break;
        case 'cfgj':
          joint = true;
          if (arg.vals[i] === 'zero') {
            if (arg.vals.length !== 1) fatal("cannot mix 'zero' into configuration");
          } else {
            idsj.push(argUintBig(arg, i, tc));
          }
          break;
        case 'idx': {
          let n = 0;
          if (arg.vals[i] !== '_') {
            n = Number(argUintBig(arg, i, tc));
            if (n === 0) fatal('cannot use 0 as idx');
          }
          idxs.push(n);
          break;
        }
        case 'votes':
          switch (arg.vals[i]) {
            case 'y':
              votes.push(2);
              break;
            case 'n':
              votes.push(1);
              break;
            case '_':
              votes.push(0);
              break;
            default:
              fatal(`unknown vote: ${arg.vals[i]}`);
          }
          break;
        default:
          fatal(`unknown arg ${arg.key}`);
      }
    }
  }

  const c = new MajorityConfig(ids);
  const cj = new MajorityConfig(idsj);

  // Values go to voters in first-appearance order over cfg then cfgj; 0 entries are left out.
  const makeLookup = (vals: number[]): Map<bigint, number> => {
    const l = new Map<bigint, number>();
    let p = 0;
    for (const id of [...ids, ...idsj]) {
      if (l.has(id)) continue;
      if (p < vals.length) l.set(id, vals[p++]);
    }
    for (const [id, v] of l) if (v === 0) l.delete(id);
    return l;
  };

  const input = tc.cmd === 'vote' ? votes : idxs;
  const voters = new JointConfig(c, cj).ids();
  if (voters.size !== input.length) {
    return `error: mismatched input (explicit or _) for voters ${goMapSet(voters)}: [${input.join(' ')}]`;
  }

  let buf = '';
  switch (tc.cmd) {
    case 'committed': {
      const lm = makeLookup(idxs);
      const l = mapAckIndexer(lm);
      if (!joint) {
        const idx = c.committedIndex(l);
        buf += c.describe(l);
        let a = alternativeMajorityCommittedIndex(c, l);
        if (a !== idx) buf += `${indexString(a)} <-- via alternative computation\n`;
        a = new JointConfig(c, new MajorityConfig()).committedIndex(l);
        if (a !== idx) buf += `${indexString(a)} <-- via zero-joint quorum\n`;
        a = new JointConfig(c, c).committedIndex(l);
        if (a !== idx) buf += `${indexString(a)} <-- via self-joint quorum\n`;
        const overlay = (id: bigint, v: number): AckedIndexer => {
          const ll = new Map<bigint, number>();
          for (const iid of c) {
            if (iid === id) ll.set(iid, v);
            else {
              const x = l(iid);
              if (x !== undefined) ll.set(iid, x);
            }
          }
          return mapAckIndexer(ll);
        };
        for (const id of c) {
          const iidx = l(id) ?? 0;
          if (idx > iidx && iidx > 0) {
            // Lowering an index already below the committed one must not change the result.
            a = c.committedIndex(overlay(id, iidx - 1));
            if (a !== idx) buf += `${indexString(a)} <-- overlaying ${id}->${iidx}`;
            a = c.committedIndex(overlay(id, 0));
            if (a !== idx) buf += `${indexString(a)} <-- overlaying ${id}->0`;
          }
        }
        buf += `${indexString(idx)}\n`;
      } else {
        const cc = new JointConfig(c, cj);
        buf += cc.describe(l);
        const idx = cc.committedIndex(l);
        const a = new JointConfig(cj, c).committedIndex(l);
        if (a !== idx) buf += `${indexString(a)} <-- via symmetry\n`;
        buf += `${indexString(idx)}\n`;
      }
      break;
    }
    case 'vote': {
      const l = new Map<bigint, boolean>();
      for (const [id, v] of makeLookup(votes)) l.set(id, v !== 1);
      if (!joint) {
        buf += `${VoteResult[c.voteResult(l)]}\n`;
      } else {
        const r = new JointConfig(c, cj).voteResult(l);
        const ar = new JointConfig(cj, c).voteResult(l);
        if (ar !== r) buf += `${VoteResult[ar]} <-- via symmetry\n`;
        buf += `${VoteResult[r]}\n`;
      }
      break;
    }
    default:
      fatal(`unknown command: ${tc.cmd}`);
  }
  return buf;
}
