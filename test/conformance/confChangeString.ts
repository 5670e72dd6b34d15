// raftpb.ConfChangesFromString, shared by the confchange and interaction runners: the conf-change
// token strings of the datadriven files (`v1 l2 r3 u4`) with Go's error texts.
import { ConfChangeType, type ConfChangeSingle } from '../../src/raft/raftpb/types.js';
import { goParseUint } from './datadriven.js';

/** raftpb.ConfChangesFromString: space-separated `v<id>`, `l<id>`, `r<id>`, `u<id>` tokens. */
export function confChangesFromString(s: string): ConfChangeSingle[] | Error {
  const ccs: ConfChangeSingle[] = [];
  const trimmed = s.trim();
  if (trimmed === '') return ccs;
  for (const tok of trimmed.split(' ')) {
    if (tok.length < 2) return new Error(`unknown token ${tok}`);
    let type: ConfChangeType;
    switch (tok[0]) {
      case 'v':
        type = ConfChangeType.ConfChangeAddNode;
        break;
      case 'l':
        type = ConfChangeType.ConfChangeAddLearnerNode;
        break;
      case 'r':
        type = ConfChangeType.ConfChangeRemoveNode;
        break;
      case 'u':
        type = ConfChangeType.ConfChangeUpdateNode;
        break;
      default:
        return new Error(`unknown input: ${tok}`);
    }
    const id = goParseUint(tok.slice(1));
    if (id instanceof Error) return id;
    ccs.push({ type, nodeId: id });
  }
  return ccs;
}
