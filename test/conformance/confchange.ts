// Runner for confchange/testdata (README §7.1): `simple`, `enter-joint` and `leave-joint` applied
// through a Changer to a tracker that persists across the directives of one file.
import { ConfChangeType, type ConfChangeSingle } from '../../src/raft/raftpb/types.js';
import { Changer, type ChangeResult } from '../../src/raft/confchange/confchange.js';
import { progressMapString } from '../../src/raft/tracker/progress.js';
import { ProgressTracker } from '../../src/raft/tracker/tracker.js';
import { goParseUint, scanArgBool, type TestCase } from './datadriven.js';

/** A handler with a fresh tracker (max 10 inflight, no byte limit) and LastIndex 0. */
export function makeHandler(): (tc: TestCase) => string {
  const tracker = new ProgressTracker(10, 0);
  const c = new Changer(tracker, 0);
  return (tc) => {
    try {
      return run(c, tracker, tc);
    } finally {
      // Every directive, even a failed one, advances LastIndex: `next=` shows who created a peer.
      c.lastIndex++;
    }
  };
}

// Parses `v1 l2 r3 u4` into changes; a string result is the directive's output.
function parseChanges(input: string): ConfChangeSingle[] | string {
  const ccs: ConfChangeSingle[] = [];
  const toks = input.trim() === '' ? [] : input.trim().split(' ');
  for (const tok of toks) {
    if (tok.length < 2) return `unknown token ${tok}`;
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
        return `unknown input: ${tok}`;
    }
    const id = goParseUint(tok.slice(1));
    if (id instanceof Error) return id.message;
    ccs.push({ type, nodeId: id });
  }
  return ccs;
}

function run(c: Changer, tracker: ProgressTracker, tc: TestCase): string {
  const ccs = parseChanges(tc.input);
  if (typeof ccs === 'string') return ccs;
  let res: ChangeResult | Error;
  switch (tc.cmd) {
    case 'simple':
      res = c.simple(ccs);
      break;
    case 'enter-joint': {
      const autoLeave = tc.cmdArgs.length > 0 ? scanArgBool(tc, 'autoleave') : false;
      res = c.enterJoint(autoLeave, ccs);
      break;
    }
    case 'leave-joint':
      res = ccs.length > 0 ? new Error('this command takes no input') : c.leaveJoint();
      break;
    default:
      return 'unknown command';
  }
  if (res instanceof Error) return res.message + '\n';
  tracker.config = res[0];
  tracker.progress = res[1];
  return `${tracker.config.toString()}\n${progressMapString(tracker.progress)}`;
}
