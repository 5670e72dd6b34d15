// `process-apply-thread <id>…`: the async apply thread handles one queued MsgStorageApply per node:
// apply its entries to the toy state machine, then release its responses to the queue. Also holds
// the "appender" state machine shared with sync Ready handling.
import type { CmdArg } from '../datadriven.js';
import { EntryType } from '../../../src/raft/raftpb/types.js';
import type { ConfState, Entry, Snapshot } from '../../../src/raft/raftpb/types.js';
import { decodeConfChange, decodeConfChangeV2 } from '../../../src/raft/raftpb/codec.js';
import { ProtoDecodeError } from '../../../src/pkg/protobuf.js';
import { describeMessage } from '../../../src/raft/util.js';
import { nodeIdxs } from './args.js';
import type { InteractionEnv, Node } from './env.js';
import { defaultEntryFormatter } from './output.js';

export function handleProcessApplyThread(env: InteractionEnv, args: CmdArg[]): Error | null {
  const idxs = nodeIdxs(args);
  for (const idx of idxs) {
    let err: Error | null = null;
    if (idxs.length > 1) {
      env.output.write(`> ${idx + 1} processing apply thread\n`);
      env.withIndent(() => {
        err = processApplyThread(env, idx);
      });
    } else {
      err = processApplyThread(env, idx);
    }
    if (err !== null) return err;
  }
  return null;
}

/** Processes the first queued MsgStorageApply of the node with the given index. */
export function processApplyThread(env: InteractionEnv, idx: number): Error | null {
  const n = env.nodes[idx];
  const m = n.applyWork.shift();
  if (m === undefined) {
    env.output.write('no apply work to perform');
    return null;
  }
  const resps = m.responses;
  env.output.write('Processing:\n');
  env.output.write(describeMessage({ ...m, responses: [] }, defaultEntryFormatter) + '\n');
  const err = processApply(n, m.entries);
  if (err !== null) return err;
  env.output.write('Responses:\n');
  for (const r of resps) env.output.write(describeMessage(r, defaultEntryFormatter) + '\n');
  env.messages.push(...resps);
  return null;
}

/**
 * Applies committed entries: conf changes go to raft, and every entry appends its payload to the
 * "appender" state machine, recorded as a new snapshot in the node's history.
 */
export function processApply(n: Node, ents: readonly Entry[]): Error | null {
  for (const ent of ents) {
    let update: Uint8Array;
    let cs: ConfState | null = null;
    try {
      switch (ent.type) {
        case EntryType.EntryConfChange: {
          const cc = decodeConfChange(ent.data);
          update = cc.context;
          cs = n.rawNode.applyConfChange(cc);
          break;
        }
        case EntryType.EntryConfChangeV2: {
          const cc = decodeConfChangeV2(ent.data);
          cs = n.rawNode.applyConfChange(cc);
          update = cc.context;
          break;
        }
        default:
          update = ent.data;
      }
    } catch (e) {
      if (e instanceof ProtoDecodeError) return e;
      throw e;
    }
    const last = n.history[n.history.length - 1];
    const data = new Uint8Array(last.data.length + update.length);
    data.set(last.data, 0);
    data.set(update, last.data.length);
    const snap: Snapshot = {
      data,
      metadata: { index: ent.index, term: ent.term, confState: cs ?? last.metadata.confState },
    };
    n.history.push(snap);
  }
  return null;
}
