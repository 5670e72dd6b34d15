// `process-ready <id>…`: one round of Ready handling per listed node. In sync mode the harness
// persists, applies and Advances itself; in async mode the storage work is queued for the append
// and apply threads. Messages to peers go to the global queue.
import type { CmdArg } from '../datadriven.js';
import { MessageType } from '../../../src/raft/raftpb/types.js';
import { describeReady, isLocalMsgTarget } from '../../../src/raft/util.js';
import { nodeIdxs } from './args.js';
import type { InteractionEnv } from './env.js';
import { defaultEntryFormatter } from './output.js';
import { processAppend } from './handleProcessAppendThread.js';
import { processApply } from './handleProcessApplyThread.js';

export function handleProcessReady(env: InteractionEnv, args: CmdArg[]): Error | null {
  const idxs = nodeIdxs(args);
  for (const idx of idxs) {
    let err: Error | null = null;
    if (idxs.length > 1) {
      env.output.write(`> ${idx + 1} handling Ready\n`);
      env.withIndent(() => {
        err = processReady(env, idx);
      });
    } else {
      err = processReady(env, idx);
    }
    if (err !== null) return err;
  }
  return null;
}

/** Runs Ready handling on the node with the given index, even when it has nothing to do. */
export function processReady(env: InteractionEnv, idx: number): Error | null {
  const n = env.nodes[idx];
  const async = n.config.asyncStorageWrites === true;
  const rd = n.rawNode.ready();
  env.output.write(describeReady(rd, defaultEntryFormatter));

  if (!async) {
    const err = processAppend(n, rd.hardState, rd.entries, rd.snapshot) ?? processApply(n, rd.committedEntries);
    if (err !== null) return err;
  }

  for (const m of rd.messages) {
    if (!isLocalMsgTarget(m.to)) {
      env.messages.push(m);
      continue;
    }
    if (!async) throw new Error('unexpected local msg target');
    switch (m.type) {
      case MessageType.MsgStorageAppend:
        n.appendWork.push(m);
        break;
      case MessageType.MsgStorageApply:
        n.applyWork.push(m);
        break;
      default:
        throw new Error(`unexpected message type ${MessageType[m.type]}`);
    }
  }

  if (!async) n.rawNode.advance(rd);
  return null;
}
