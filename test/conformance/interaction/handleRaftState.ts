// `raft-state`: one line per node with its role, whether it is a voter in its own view of the
// config, its term and its leader.
import { STATE_NAMES } from '../../../src/raft/ready.js';
import type { InteractionEnv } from './env.js';

export function handleRaftState(env: InteractionEnv): Error | null {
  for (const n of env.nodes) {
    const st = n.rawNode.status();
    const voter = st.config.voters.ids().has(st.id) ? '(Voter)' : '(Non-Voter)';
    env.output.write(`${st.id}: ${STATE_NAMES[st.raftState]} ${voter} Term:${st.term} Lead:${st.lead}\n`);
  }
  return null;
}
