// `compact <id> <index>`: compacts the node's storage so that <index>+1 becomes its first index,
// then prints the remaining log like `raft-log`.
import { goParseUint } from '../datadriven.js';
import type { CmdArg } from '../datadriven.js';
import { firstAsNodeIdx } from './args.js';
import type { InteractionEnv } from './env.js';
import { raftLog } from './handleRaftLog.js';
import { storageErr } from './storage.js';

export function handleCompact(env: InteractionEnv, args: CmdArg[]): Error | null {
  const idx = firstAsNodeIdx(args);
  const index = goParseUint(args[1]?.key ?? '');
  if (index instanceof Error) return index;
  const storage = env.nodes[idx].storage;
  const err = storageErr(() => storage.compact(Number(index)));
  if (err !== null) return err;
  return raftLog(env, idx);
}
