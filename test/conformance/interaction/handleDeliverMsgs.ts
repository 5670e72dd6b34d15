// `deliver-msgs [<id>…] [drop=(<id>,…)] [type=<MsgType>]`: takes queued messages for each recipient
// in argument order, printing each and stepping it into the recipient (or dropping it).
import { DataDrivenError } from '../datadriven.js';
import type { CmdArg } from '../datadriven.js';
import type { Message, NodeId } from '../../../src/raft/raftpb/types.js';
import { MESSAGE_TYPE_NAMES, describeMessage, isLocalMsgTarget } from '../../../src/raft/util.js';
import { scanUint } from './args.js';
import { defaultEntryFormatter } from './output.js';
import type { InteractionEnv } from './env.js';

export interface Recipient {
  id: NodeId;
  drop: boolean;
}

/** Any message type (for `typ`). */
export const ANY_TYPE = -1;

export function handleDeliverMsgs(env: InteractionEnv, args: CmdArg[]): Error | null {
  let typ = ANY_TYPE;
  const rs: Recipient[] = [];
  for (const arg of args) {
    if (arg.vals.length === 0) rs.push({ id: scanUint(arg.key), drop: false });
    for (const val of arg.vals) {
      switch (arg.key) {
        case 'drop': {
          const id = scanUint(val);
          if (rs.some((r) => r.id === id)) throw new DataDrivenError(`can't both deliver and drop msgs to ${id}`);
          rs.push({ id, drop: true });
          break;
        }
        case 'type':
          typ = MESSAGE_TYPE_NAMES.indexOf(val);
          if (typ < 0) throw new DataDrivenError(`unknown message type ${val}`);
          break;
      }
    }
  }
  if (deliverMsgs(env, typ, rs) === 0) env.output.write('no messages\n');
  return null;
}

/**
 * Delivers (or drops) every queued message of type `typ` addressed to each recipient in turn and
 * returns how many were handled. Step errors are printed, not returned.
 */
export function deliverMsgs(env: InteractionEnv, typ: number, rs: readonly Recipient[]): number {
  let n = 0;
  for (const r of rs) {
    const [msgs, rest] = splitMsgs(env.messages, r.id, typ, r.drop);
    env.messages = rest;
    n += msgs.length;
    for (const m of msgs) {
      if (r.drop) env.output.write('dropped: ');
      env.output.write(describeMessage(m, defaultEntryFormatter) + '\n');
      // Dropped messages may be addressed to nodes that do not exist yet.
      if (r.drop) continue;
      const err = env.nodes[Number(m.to) - 1].rawNode.step(m);
      if (err) env.output.write(err.message + '\n');
    }
  }
  return n;
}

/**
 * Splits `msgs` into those for `to` of type `typ` and the rest, keeping order. When dropping,
 * local messages are never taken: they need reliable delivery.
 */
export function splitMsgs(msgs: readonly Message[], to: NodeId, typ: number, drop: boolean): [Message[], Message[]] {
  const toMsgs: Message[] = [];
  const rest: Message[] = [];
  for (const m of msgs) {
    if (m.to === to && !(drop && isLocalMessage(m)) && (typ < 0 || m.type === typ)) toMsgs.push(m);
    else rest.push(m);
  }
  return [toMsgs, rest];
}

function isLocalMessage(m: Message): boolean {
  return m.from === m.to || isLocalMsgTarget(m.from) || isLocalMsgTarget(m.to);
}
