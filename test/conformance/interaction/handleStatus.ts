// `status <id>`: the node's progress map (only a leader has one), one `id: progress` line per peer.
import type { CmdArg } from '../datadriven.js';
import { compareIds } from '../../../src/raft/raftpb/types.js';
import { firstAsNodeIdx } from './args.js';
import type { InteractionEnv } from './env.js';

export function handleStatus(env: InteractionEnv, args: CmdArg[]): Error | null {
  const st = env.nodes[firstAsNodeIdx(args)].rawNode.status();
  const progress = st.progress;
  const ids = [...progress.keys()].sort(compareIds);
  let out = '';
  for (const id of ids) out += `${id}: ${progress.get(id)!.toString()}\n`;
  env.output.write(out);
  return null;
}
