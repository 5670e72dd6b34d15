// `propose <id> <data>`: proposes a normal entry whose payload is the bare word <data>.
import { DataDrivenError } from '../datadriven.js';
import type { CmdArg } from '../datadriven.js';
import { firstAsNodeIdx } from './args.js';
import type { InteractionEnv } from './env.js';

export function handlePropose(env: InteractionEnv, args: CmdArg[]): Error | null {
  const idx = firstAsNodeIdx(args);
  if (args.length !== 2 || args[1].vals.length > 0) {
    throw new DataDrivenError(`expected exactly one key with no vals: ${JSON.stringify(args.slice(1))}`);
  }
  return env.nodes[idx].rawNode.propose(Buffer.from(args[1].key, 'latin1')) ?? null;
}
