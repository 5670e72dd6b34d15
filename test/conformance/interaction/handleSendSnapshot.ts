// `send-snapshot <from> <to>`: queues (does not deliver) a MsgSnap carrying the sender's latest
// applied state.
import { DataDrivenError } from '../datadriven.js';
import type { CmdArg } from '../datadriven.js';
import { MessageType, newMessage } from '../../../src/raft/raftpb/types.js';
import { describeMessage } from '../../../src/raft/util.js';
import { nodeIdxs } from './args.js';
import type { InteractionEnv } from './env.js';

export function handleSendSnapshot(env: InteractionEnv, args: CmdArg[]): Error | null {
  const idxs = nodeIdxs(args);
  if (idxs.length !== 2) throw new DataDrivenError(`send-snapshot: expected 2 node ids, got ${idxs.length}`);
  const [fromIdx, toIdx] = idxs;
  const from = env.nodes[fromIdx];
  const msg = newMessage({
    type: MessageType.MsgSnap,
    term: from.rawNode.basicStatus().term,
    from: BigInt(fromIdx + 1),
    to: BigInt(toIdx + 1),
    snapshot: from.storage.snapshot(),
  });
  env.messages.push(msg);
  env.output.write(describeMessage(msg, null));
  return null;
}
