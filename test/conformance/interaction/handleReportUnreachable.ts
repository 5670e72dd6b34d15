// `report-unreachable <id1> <id2>`: tells node id1 that id2 is unreachable.
import type { CmdArg } from '../datadriven.js';
import { nodeIdxs } from './args.js';
import type { InteractionEnv } from './env.js';

export function handleReportUnreachable(env: InteractionEnv, args: CmdArg[]): Error | null {
  const sl = nodeIdxs(args);
  if (sl.length !== 2) {
    return new Error('must specify exactly two node indexes: node on which to report, and reported node');
  }
  env.nodes[sl[0]].rawNode.reportUnreachable(env.nodes[sl[1]].config.id);
  return null;
}
