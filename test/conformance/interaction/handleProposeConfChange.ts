// `propose-conf-change <id> [v1=<bool>] [transition=auto|implicit|explicit]` with the changes as
// input (`v2 l3 r1 u4`): proposes a legacy ConfChange (v1) or a ConfChangeV2.
import { goParseBool } from '../datadriven.js';
import type { CmdArg } from '../datadriven.js';
import { ConfChangeTransition, EMPTY_BYTES } from '../../../src/raft/raftpb/types.js';
import type { ConfChange, ConfChangeV2 } from '../../../src/raft/raftpb/types.js';
import { confChangesFromString } from '../confChangeString.js';
import { firstAsNodeIdx } from './args.js';
import type { InteractionEnv } from './env.js';

export function handleProposeConfChange(env: InteractionEnv, args: CmdArg[], input: string): Error | null {
  const idx = firstAsNodeIdx(args);
  let v1 = false;
  let transition = ConfChangeTransition.ConfChangeTransitionAuto;
  for (const arg of args.slice(1)) {
    for (const val of arg.vals) {
      switch (arg.key) {
        case 'v1': {
          const b = goParseBool(val);
          if (b instanceof Error) return b;
          v1 = b;
          break;
        }
        case 'transition':
          switch (val) {
            case 'auto':
              transition = ConfChangeTransition.ConfChangeTransitionAuto;
              break;
            case 'implicit':
              transition = ConfChangeTransition.ConfChangeTransitionJointImplicit;
              break;
            case 'explicit':
              transition = ConfChangeTransition.ConfChangeTransitionJointExplicit;
              break;
            default:
              return new Error(`unknown transition ${val}`);
          }
          break;
        default:
          return new Error(`unknown command ${arg.key}`);
      }
    }
  }

  const ccs = confChangesFromString(input);
  if (ccs instanceof Error) return ccs;

  let c: ConfChange | ConfChangeV2;
  if (v1) {
    if (ccs.length > 1 || transition !== ConfChangeTransition.ConfChangeTransitionAuto) {
      return new Error('v1 conf change can only have one operation and no transition');
    }
    if (ccs.length === 0) throw new RangeError('v1 conf change needs one operation');
    c = { type: ccs[0].type, nodeId: ccs[0].nodeId, context: EMPTY_BYTES, id: 0n };
  } else {
    c = { transition, changes: ccs, context: EMPTY_BYTES };
  }
  return env.nodes[idx].rawNode.proposeConfChange(c) ?? null;
}

export { confChangesFromString };
