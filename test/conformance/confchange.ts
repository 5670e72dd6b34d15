// Runner for confchange/testdata (README §7.1): `simple`, `enter-joint` and `leave-joint` applied
// through a Changer to a tracker that persists across the directives of one file.
import { Changer, type ChangeResult } from '../../src/raft/confchange/confchange.js';
import { progressMapString } from '../../src/raft/tracker/progress.js';
import { ProgressTracker } from '../../src/raft/tracker/tracker.js';
import { confChangesFromString } from './confChangeString.js';
import { scanArgBool, type TestCase } from './datadriven.js';

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

function run(c: Changer, tracker: ProgressTracker, tc: TestCase): string {
  const ccs = confChangesFromString(tc.input);
  if (ccs instanceof Error) return ccs.message;
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
