// `set-randomized-election-timeout <id> timeout=<n>`: pins the node's current randomized election
// timeout (raft draws a new one at its next state change).
import { DataDrivenError } from '../datadriven.js';
import type { CmdArg } from '../datadriven.js';
import { argVal, firstAsNodeIdx, scanInt } from './args.js';
import type { InteractionEnv } from './env.js';

export function handleSetRandomizedElectionTimeout(env: InteractionEnv, args: CmdArg[]): Error | null {
  const idx = firstAsNodeIdx(args);
  const timeout = scanInt(argVal(args, 'timeout'));
  if (timeout === 0) throw new DataDrivenError('timeout must not be zero');
  env.nodes[idx].rawNode.raft.randomizedElectionTimeout = timeout;
  return null;
}
