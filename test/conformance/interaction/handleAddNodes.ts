// `add-nodes N [voters=(..) learners=(..) index=I content=S inflight=N async-storage-writes=B
// prevote=B checkquorum=B max-committed-size-per-ready=N disable-conf-change-validation=B
// read-only=safe|lease-based step-down-on-removal=B]`: creates N nodes with consecutive IDs, all
// bootstrapped from the same initial snapshot when one was described.
import type { CmdArg } from '../datadriven.js';
import { newRawNode } from '../../../src/raft/rawNode.js';
import { validateConfig } from '../../../src/raft/raft.js';
import type { Config } from '../../../src/raft/raft.js';
import { ReadOnlyOption } from '../../../src/raft/readOnly.js';
import { emptySnapshot } from '../../../src/raft/raftpb/types.js';
import type { Snapshot } from '../../../src/raft/raftpb/types.js';
import { goQuoteString, scanBool, scanIndex, scanInt, scanUint } from './args.js';
import type { InteractionEnv } from './env.js';
import { HarnessStorage, storageErr } from './storage.js';

/** Config fields the harness sets; id, storage and logger are filled in per node. */
type ConfigStub = Omit<Config, 'id' | 'storage' | 'logger'>;

// Testing defaults (Go's raftConfigStub): short timeouts and no size limits.
function raftConfigStub(): ConfigStub {
  return {
    electionTick: 3,
    heartbeatTick: 1,
    maxSizePerMsg: Infinity,
    maxInflightMsgs: 2147483647,
  };
}

export function handleAddNodes(env: InteractionEnv, args: CmdArg[]): Error | null {
  const n = scanInt(args[0].key);
  const snap = emptySnapshot();
  // Any snapshot field given makes the nodes bootstrap from it (Go compares with the empty proto).
  let bootstrap = false;
  const cfg = raftConfigStub();
  for (const arg of args.slice(1)) {
    for (const val of arg.vals) {
      switch (arg.key) {
        case 'voters':
          snap.metadata.confState.voters.push(scanUint(val));
          bootstrap = true;
          break;
        case 'learners':
          snap.metadata.confState.learners.push(scanUint(val));
          bootstrap = true;
          break;
        case 'inflight':
          cfg.maxInflightMsgs = scanInt(val);
          break;
        case 'index':
          snap.metadata.index = scanIndex(val);
          cfg.applied = snap.metadata.index;
          bootstrap = true;
          break;
        case 'content':
          snap.data = Buffer.from(val, 'latin1');
          bootstrap = true;
          break;
        case 'async-storage-writes':
          cfg.asyncStorageWrites = scanBool(val);
          break;
        case 'prevote':
          cfg.preVote = scanBool(val);
          break;
        case 'checkquorum':
          cfg.checkQuorum = scanBool(val);
          break;
        case 'max-committed-size-per-ready':
          cfg.maxCommittedSizePerReady = scanIndex(val);
          break;
        case 'disable-conf-change-validation':
          cfg.disableConfChangeValidation = scanBool(val);
          break;
        case 'step-down-on-removal':
          cfg.stepDownOnRemoval = scanBool(val);
          break;
        case 'read-only':
          switch (val) {
            case 'safe':
              cfg.readOnlyOption = ReadOnlyOption.ReadOnlySafe;
              break;
            case 'lease-based':
              cfg.readOnlyOption = ReadOnlyOption.ReadOnlyLeaseBased;
              break;
            default:
              return new Error(`invalid read-only option ${goQuoteString(val)}`);
          }
          break;
        // Unknown keys are ignored, as in Go.
      }
    }
  }
  return addNodes(env, n, cfg, snap, bootstrap);
}

/** Adds n nodes configured from `cfg`, bootstrapped from `snap` when `bootstrap` is set. */
export function addNodes(
  env: InteractionEnv,
  n: number,
  cfg: ConfigStub,
  snap: Snapshot,
  bootstrap: boolean,
): Error | null {
  for (let i = 0; i < n; i++) {
    const idx = env.nodes.length;
    const id = BigInt(idx + 1);
    const storage = new HarnessStorage(() => {
      const h = env.nodes[idx].history;
      return h[h.length - 1];
    });
    if (bootstrap) {
      // MemoryStorage needs the dummy entry above index 0 for a bootstrap snapshot.
      if (snap.metadata.index <= 1) return new Error('index must be specified as > 1 due to bootstrap');
      snap.metadata.term = 1;
      const err = storageErr(() => storage.applySnapshot(snap));
      if (err !== null) return err;
      const fi = storage.firstIndex();
      const exp = snap.metadata.index + 1;
      if (fi !== exp) return new Error(`failed to establish first index ${exp}; got ${fi}`);
    }
    const config: Config = { ...cfg, id, storage, logger: env.output };
    // A rejected config is the directive's error (raft itself would panic on it).
    const err = validateConfig(config);
    if (err !== null) return err;
    const rawNode = newRawNode(config);
    env.nodes.push({ rawNode, storage, config, appendWork: [], applyWork: [], history: [snap] });
  }
  return null;
}
