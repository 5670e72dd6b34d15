// `forget-leader <id>`: the node forgets its leader (MsgForgetLeader); raft's refusal is only logged.
import type { CmdArg } from '../datadriven.js';
import { firstAsNodeIdx } from './args.js';
import type { InteractionEnv } from './env.js';

export function handleForgetLeader(env: InteractionEnv, args: CmdArg[]): Error | null {
  env.nodes[firstAsNodeIdx(args)].rawNode.forgetLeader();
  return null;
}
