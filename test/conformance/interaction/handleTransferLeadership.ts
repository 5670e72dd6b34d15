// `transfer-leadership from=<id> to=<id>`: asks node `from` to hand leadership to `to`.
import { DataDrivenError } from '../datadriven.js';
import type { CmdArg } from '../datadriven.js';
import { argVal, scanUint } from './args.js';
import type { InteractionEnv } from './env.js';

export function handleTransferLeadership(env: InteractionEnv, args: CmdArg[]): Error | null {
  const from = scanUint(argVal(args, 'from'));
  const to = scanUint(argVal(args, 'to'));
  const count = BigInt(env.nodes.length);
  if (from === 0n || from > count) throw new DataDrivenError('expected valid "from" argument');
  if (to === 0n || to > count) throw new DataDrivenError('expected valid "to" argument');
  env.nodes[Number(from) - 1].rawNode.transferLeader(to);
  return null;
}
