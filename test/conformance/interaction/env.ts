// The interaction test environment (etcd-io/raft rafttest.InteractionEnv): a group of RawNodes, the
// global in-flight message queue, the shared output buffer/logger, and the per-directive dispatcher.
// Each directive lives in its own handle*.ts file; `newInteractionHandler()` makes a fresh env per file.
import { parseLine } from '../datadriven.js';
import type { CmdArg, TestCase } from '../datadriven.js';
import type { RawNode } from '../../../src/raft/rawNode.js';
import type { Config } from '../../../src/raft/raft.js';
import type { Message, Snapshot } from '../../../src/raft/raftpb/types.js';
import { OutputBuffer } from './output.js';
import type { HarnessStorage } from './storage.js';
import { handleAddNodes } from './handleAddNodes.js';
import { handleCampaign } from './handleCampaign.js';
import { handleCompact } from './handleCompact.js';
import { handleDeliverMsgs } from './handleDeliverMsgs.js';
import { handleForgetLeader } from './handleForgetLeader.js';
import { handleLogLevel } from './handleLogLevel.js';
import { handleProcessAppendThread } from './handleProcessAppendThread.js';
import { handleProcessApplyThread } from './handleProcessApplyThread.js';
import { handleProcessReady } from './handleProcessReady.js';
import { handlePropose } from './handlePropose.js';
import { handleProposeConfChange } from './handleProposeConfChange.js';
import { handleRaftLog } from './handleRaftLog.js';
import { handleRaftState } from './handleRaftState.js';
import { handleReportUnreachable } from './handleReportUnreachable.js';
import { handleSendSnapshot } from './handleSendSnapshot.js';
import { handleSetRandomizedElectionTimeout } from './handleSetRandomizedElectionTimeout.js';
import { handleStabilize } from './handleStabilize.js';
import { handleStatus } from './handleStatus.js';
import { handleTickElection, handleTickHeartbeat } from './handleTick.js';
import { handleTransferLeadership } from './handleTransferLeadership.js';

/** One member of the group. Node i (0-based) has raft ID i+1. */
export interface Node {
  rawNode: RawNode;
  storage: HarnessStorage;
  /** Kept so ticks can read electionTick/heartbeatTick. */
  config: Config;
  /** Queued MsgStorageAppend messages (async storage writes only). */
  appendWork: Message[];
  /** Queued MsgStorageApply messages (async storage writes only). */
  applyWork: Message[];
  /** States of the "appender" state machine; the last one is what storage.snapshot() returns. */
  history: Snapshot[];
}

/** A directive handler: returns the error to print (null if none); throws DataDrivenError on misuse. */
export type Handler = (env: InteractionEnv, args: CmdArg[], input: string) => Error | null;

const HANDLERS: ReadonlyMap<string, Handler> = new Map<string, Handler>([
  ['_breakpoint', () => null],
  ['add-nodes', handleAddNodes],
  ['campaign', handleCampaign],
  ['compact', handleCompact],
  ['deliver-msgs', handleDeliverMsgs],
  ['forget-leader', handleForgetLeader],
  ['log-level', handleLogLevel],
  ['process-append-thread', handleProcessAppendThread],
  ['process-apply-thread', handleProcessApplyThread],
  ['process-ready', handleProcessReady],
  ['propose', handlePropose],
  ['propose-conf-change', handleProposeConfChange],
  ['raft-log', handleRaftLog],
  ['raft-state', handleRaftState],
  ['report-unreachable', handleReportUnreachable],
  ['send-snapshot', handleSendSnapshot],
  ['set-randomized-election-timeout', handleSetRandomizedElectionTimeout],
  ['stabilize', handleStabilize],
  ['status', handleStatus],
  ['tick-election', handleTickElection],
  ['tick-heartbeat', handleTickHeartbeat],
  ['transfer-leadership', handleTransferLeadership],
]);

const UNKNOWN_COMMAND = (): Error => new Error('unknown command');

export class InteractionEnv {
  nodes: Node[] = [];
  /** The global FIFO of in-flight messages, including storage-thread responses. */
  messages: Message[] = [];
  /** Output of the current directive; also every node's raft Logger. */
  readonly output = new OutputBuffer();

  withIndent(f: () => void): void {
    this.output.withIndent(f);
  }

  /** Runs one directive and returns its output (`ok` when it printed nothing). */
  handle(tc: TestCase): string {
    this.output.reset();
    let err: Error | null;
    if (tc.cmd === 'propose-conf-change') {
      err = this.dispatch(tc.cmd, tc.cmdArgs, tc.input);
    } else {
      err = this.handleMultiCommand(tc);
    }
    // Errors show even at level NONE, which silences everything else.
    if (err !== null) {
      if (this.output.quiet()) return err.message;
      this.output.write(err.message);
    }
    return this.output.length === 0 ? 'ok' : this.output.toString();
  }

  // Besides its own directive, a test case may list further directives in its input, one per line
  // (no file in the suite does); their errors are printed and do not stop the rest.
  private handleMultiCommand(tc: TestCase): Error | null {
    const err = this.dispatch(tc.cmd, tc.cmdArgs, '');
    if (err !== null) return err;
    if (tc.input === '') return null;
    for (const line of tc.input.split('\n')) {
      const { cmd, cmdArgs } = parseLine(line);
      const e = this.dispatch(cmd, cmdArgs, '');
      if (e !== null) {
        if (this.output.quiet()) return e;
        this.output.write(e.message);
      }
    }
    return null;
  }

  private dispatch(cmd: string, args: CmdArg[], input: string): Error | null {
    const h = HANDLERS.get(cmd);
    return h === undefined ? UNKNOWN_COMMAND() : h(this, args, input);
  }
}

/** A directive handler over a fresh environment, for one test file. */
export function newInteractionHandler(): (tc: TestCase) => string {
  const env = new InteractionEnv();
  return (tc) => env.handle(tc);
}
