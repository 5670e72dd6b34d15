// `raft-log <id>`: prints the node's stable storage log (not raft's unstable entries).
import type { CmdArg } from '../datadriven.js';
import { describeEntries } from '../../../src/raft/util.js';
import { firstAsNodeIdx } from './args.js';
import { defaultEntryFormatter } from './output.js';
import type { InteractionEnv } from './env.js';

export function handleRaftLog(env: InteractionEnv, args: CmdArg[]): Error | null {
  return raftLog(env, firstAsNodeIdx(args));
}

export function raftLog(env: InteractionEnv, idx: number): Error | null {
  const s = env.nodes[idx].storage;
  const fi = s.firstIndex();
  const li = s.lastIndex();
  if (li < fi) {
    env.output.write(`log is empty: first index=${fi}, last index=${li}`);
    return null;
  }
  env.output.write(describeEntries(s.entries(fi, li + 1, Infinity), defaultEntryFormatter));
  return null;
}
