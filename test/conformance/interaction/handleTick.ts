// `tick-election <id>` / `tick-heartbeat <id>`: ticks the node for one election timeout (the
// configured electionTick, not the randomized one) or one heartbeat interval.
import type { CmdArg } from '../datadriven.js';
import { firstAsNodeIdx } from './args.js';
import type { InteractionEnv } from './env.js';

export function handleTickElection(env: InteractionEnv, args: CmdArg[]): Error | null {
  const idx = firstAsNodeIdx(args);
  tick(env, idx, env.nodes[idx].config.electionTick);
  return null;
}

export function handleTickHeartbeat(env: InteractionEnv, args: CmdArg[]): Error | null {
  const idx = firstAsNodeIdx(args);
  tick(env, idx, env.nodes[idx].config.heartbeatTick);
  return null;
}

export function tick(env: InteractionEnv, idx: number, num: number): void {
  const rn = env.nodes[idx].rawNode;
  for (let i = 0; i < num; i++) rn.tick();
}
