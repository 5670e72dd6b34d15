// `stabilize [<id>…] [log-level=<level>]`: runs Ready handling, message delivery and the storage
// threads over the listed nodes (default: all) until nothing changes.
import type { CmdArg } from '../datadriven.js';
import { nodeIdxs } from './args.js';
import type { InteractionEnv, Node } from './env.js';
import { ANY_TYPE, deliverMsgs, splitMsgs } from './handleDeliverMsgs.js';
import { setLogLevel } from './handleLogLevel.js';
import { processAppendThread } from './handleProcessAppendThread.js';
import { processApplyThread } from './handleProcessApplyThread.js';
import { processReady } from './handleProcessReady.js';

export function handleStabilize(env: InteractionEnv, args: CmdArg[]): Error | null {
  const idxs = nodeIdxs(args);
  // log-level= applies to this directive only.
  const oldLvl = env.output.lvl;
  try {
    for (const arg of args) {
      for (const val of arg.vals) {
        if (arg.key !== 'log-level') continue;
        const err = setLogLevel(env, val);
        if (err !== null) return err;
      }
    }
    return stabilize(env, idxs);
  } finally {
    env.output.lvl = oldLvl;
  }
}

/** Repeats the ready → receive → append thread → apply thread rounds until a fixed point. */
export function stabilize(env: InteractionEnv, idxs: readonly number[]): Error | null {
  const nodes: number[] = idxs.length > 0 ? [...idxs] : env.nodes.map((_, i) => i);
  const node = (idx: number): Node => env.nodes[idx];
  for (;;) {
    let done = true;
    for (const idx of nodes) {
      if (!node(idx).rawNode.hasReady()) continue;
      env.output.write(`> ${idx + 1} handling Ready\n`);
      let err: Error | null = null;
      env.withIndent(() => {
        err = processReady(env, idx);
      });
      if (err !== null) return err;
      done = false;
    }
    for (const idx of nodes) {
      const id = BigInt(idx + 1);
      const [msgs] = splitMsgs(env.messages, id, ANY_TYPE, false);
      if (msgs.length === 0) continue;
      env.output.write(`> ${id} receiving messages\n`);
      env.withIndent(() => deliverMsgs(env, ANY_TYPE, [{ id, drop: false }]));
      done = false;
    }
    for (const idx of nodes) {
      const n = node(idx);
      if (n.appendWork.length === 0) continue;
      env.output.write(`> ${idx + 1} processing append thread\n`);
      while (n.appendWork.length > 0) {
        let err: Error | null = null;
        env.withIndent(() => {
          err = processAppendThread(env, idx);
        });
        if (err !== null) return err;
      }
      done = false;
    }
    for (const idx of nodes) {
      const n = node(idx);
      if (n.applyWork.length === 0) continue;
      env.output.write(`> ${idx + 1} processing apply thread\n`);
      // As in Go, apply-thread errors do not stop stabilization.
      while (n.applyWork.length > 0) env.withIndent(() => void processApplyThread(env, idx));
      done = false;
    }
    if (done) return null;
  }
}
