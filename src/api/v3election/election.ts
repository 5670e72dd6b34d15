// The Election service (etcd's v3election/election.go): Campaign waits for leadership, Proclaim
// and Resign act on a LeaderKey the caller holds, Leader reads the current leader and Observe
// streams every proclamation. Calls without a lease run under a fresh 60 s lease, as etcd's
// sessions do. Errors reach the client as gRPC Unknown with etcd's text.

import type { StreamCall } from '../grpc/server.js';
import {
  campaign,
  currentLeader,
  observe,
  proclaim,
  resign,
  type Leadership,
  type Proclamation,
} from '../concurrency/election.js';
import { recipeError, sessionLease, type RecipeCall, type RecipeHandlers } from '../concurrency/keys.js';
import type { EtcdServerApi, KeyValue, ResponseHeader } from '../types.js';
import type { StreamHandlers } from '../v3rpc/handlers.js';

export const ErrMissingLeaderKey = recipeError('"leader" field must be provided');

export interface LeaderKey {
  name: Buffer;
  key: Buffer;
  rev: number;
  lease: bigint;
}

export interface CampaignRequest {
  name: Buffer;
  lease: bigint;
  value: Buffer;
}

export interface CampaignResponse {
  header: ResponseHeader;
  leader: LeaderKey;
}

export interface ProclaimRequest {
  leader?: LeaderKey;
  value: Buffer;
}

export interface LeaderRequest {
  name: Buffer;
}

export interface LeaderResponse {
  header: ResponseHeader;
  kv: KeyValue;
}

export interface ResignRequest {
  leader?: LeaderKey;
}

/** The leadership a request names, under the lease its session would use. */
async function held(s: EtcdServerApi, call: RecipeCall, l: LeaderKey | undefined): Promise<Leadership> {
  if (l === undefined) throw ErrMissingLeaderKey;
  return { name: l.name, key: l.key, rev: l.rev, lease: await sessionLease(s, call.ctx, l.lease) };
}

export function electionHandlers(s: EtcdServerApi): RecipeHandlers {
  return {
    async Campaign(r: CampaignRequest, call: RecipeCall): Promise<CampaignResponse> {
      const lease = await sessionLease(s, call.ctx, r.lease);
      const { leader, header } = await campaign(s, call, r.name, lease, r.value);
      return { header, leader: { name: r.name, key: leader.key, rev: leader.rev, lease: leader.lease } };
    },
    async Proclaim(r: ProclaimRequest, call: RecipeCall): Promise<{ header: ResponseHeader }> {
      const leader = await held(s, call, r.leader);
      return { header: await proclaim(s, call.ctx, leader, r.value) };
    },
    async Leader(r: LeaderRequest, call: RecipeCall): Promise<LeaderResponse> {
      return currentLeader(s, call.ctx, r.name);
    },
    async Resign(r: ResignRequest, call: RecipeCall): Promise<{ header: ResponseHeader }> {
      const leader = await held(s, call, r.leader);
      return { header: await resign(s, call.ctx, leader) };
    },
  };
}

export function electionStreamHandlers(s: EtcdServerApi): StreamHandlers {
  return {
    Observe(call: StreamCall<LeaderRequest, LeaderResponse>): void {
      const ac = new AbortController();
      let started = false;
      call.onCancel = () => ac.abort();
      call.onHalfClose = () => {
        if (!started) call.end();
      };
      call.onMessage = (req) => {
        if (started) return;
        started = true;
        const rc: RecipeCall = { ctx: call.ctx, signal: ac.signal };
        const send = (p: Proclamation) => call.write({ header: p.header, kv: p.kv });
        // etcd's Observe ends normally (status OK) when its read or watch fails.
        const end = () => call.end();
        observe(s, rc, req.name, send).then(end, end);
      };
    },
  };
}
