// `process-append-thread <id>…`: the async append thread handles one queued MsgStorageAppend per
// node: persist its HardState, entries or snapshot, then release its responses to the queue.
import type { CmdArg } from '../datadriven.js';
import type { Entry, HardState, Snapshot } from '../../../src/raft/raftpb/types.js';
import { isEmptyHardState, isEmptySnap } from '../../../src/raft/raftpb/types.js';
import { describeMessage } from '../../../src/raft/util.js';
import { nodeIdxs } from './args.js';
import type { InteractionEnv, Node } from './env.js';
import { defaultEntryFormatter } from './output.js';
import { storageErr } from './storage.js';

export function handleProcessAppendThread(env: InteractionEnv, args: CmdArg[]): Error | null {
  const idxs = nodeIdxs(args);
  for (const idx of idxs) {
    let err: Error | null = null;
    if (idxs.length > 1) {
      env.output.write(`> ${idx + 1} processing append thread\n`);
      env.withIndent(() => {
        err = processAppendThread(env, idx);
      });
    } else {
      err = processAppendThread(env, idx);
    }
    if (err !== null) return err;
  }
  return null;
}

/** Processes the first queued MsgStorageAppend of the node with the given index. */
export function processAppendThread(env: InteractionEnv, idx: number): Error | null {
  const n = env.nodes[idx];
  const m = n.appendWork.shift();
  if (m === undefined) {
    env.output.write('no append work to perform');
    return null;
  }
  const resps = m.responses;
  // Printed without its responses; those are listed after the work is done.
  env.output.write('Processing:\n');
  env.output.write(describeMessage({ ...m, responses: [] }, defaultEntryFormatter) + '\n');
  const st: HardState = { term: m.term, vote: m.vote, commit: m.commit };
  const err = processAppend(n, st, m.entries, m.snapshot);
  if (err !== null) return err;
  env.output.write('Responses:\n');
  for (const r of resps) env.output.write(describeMessage(r, defaultEntryFormatter) + '\n');
  env.messages.push(...resps);
  return null;
}

/** Persists a HardState (unless absent or empty) and then either a snapshot or entries. */
export function processAppend(
  n: Node,
  st: HardState | null,
  ents: readonly Entry[],
  snap: Snapshot | null,
): Error | null {
  const s = n.storage;
  if (st !== null && !isEmptyHardState(st)) {
    const err = storageErr(() => s.setHardState(st));
    if (err !== null) return err;
  }
  if (!isEmptySnap(snap)) {
    if (ents.length > 0) return new Error("can't apply snapshot and entries at the same time");
    return storageErr(() => s.applySnapshot(snap!));
  }
  return storageErr(() => s.append(ents as Entry[]));
}
