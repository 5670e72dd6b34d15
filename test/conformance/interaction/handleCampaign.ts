// `campaign <id>`: the node starts an election (a local MsgHup); its messages stay in raft until
// the next Ready.
import type { CmdArg } from '../datadriven.js';
import { firstAsNodeIdx } from './args.js';
import type { InteractionEnv } from './env.js';

export function handleCampaign(env: InteractionEnv, args: CmdArg[]): Error | null {
  const idx = firstAsNodeIdx(args);
  if (idx < 0 || idx >= env.nodes.length) {
    return new Error(`node index ${idx} out of range [0, ${env.nodes.length})`);
  }
  return env.nodes[idx].rawNode.campaign() ?? null;
}
