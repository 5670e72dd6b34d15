// etcd's leader election (client/v3/concurrency election.go) run inside the server. Campaigners
// put "<name>/<lease hex>" = value under their lease; the oldest key leads. The leader proves its
// leadership with create_revision(key) == rev in the transactions that proclaim and resign.
// Observers follow the leading key: its value changes, then its deletion hands over to the next.

import { EventType } from '../../storage/mvcc/kv.js';
import type { EtcdServerApi, KeyValue, RequestContext, ResponseHeader } from '../types.js';
import { fillHeader, headerAt } from '../v3rpc/header.js';
import {
  EMPTY,
  KeyWatch,
  contenderKey,
  createRevisionIs,
  firstCreated,
  prefixOf,
  putOf,
  rangeOf,
  recipeError,
  waitDeletes,
  watchEndOf,
  type RecipeCall,
} from './keys.js';

export const ErrElectionNotLeader = recipeError('election: not leader');
export const ErrElectionNoLeader = recipeError('election: no leader');

/** What identifies a leadership (v3electionpb.LeaderKey). */
export interface Leadership {
  name: Buffer;
  key: Buffer;
  rev: number;
  lease: bigint;
}

export interface Proclamation {
  header: ResponseHeader;
  kv: KeyValue;
}

/** Waits until the caller leads election `name`; its key then holds `value`. */
export async function campaign(
  s: EtcdServerApi,
  call: RecipeCall,
  name: Buffer,
  lease: bigint,
  value: Buffer,
): Promise<{ leader: Leadership; header: ResponseHeader }> {
  const prefix = prefixOf(name);
  const key = contenderKey(prefix, lease);
  const resp = await s.txn(
    {
      compare: [createRevisionIs(key, 0)],
      success: [{ requestPut: putOf(key, value, lease) }],
      failure: [{ requestRange: rangeOf(key) }],
    },
    call.ctx,
  );
  const header = fillHeader(resp.header, s);
  const leader: Leadership = { name, key, rev: header.revision, lease };
  if (!resp.succeeded) {
    // Campaigning again with the same lease resumes the earlier candidacy, with the new value.
    const kv = resp.responses[0].responseRange!.kvs[0];
    leader.rev = kv.createRevision;
    if (!kv.value.equals(value)) {
      try {
        await proclaim(s, call.ctx, leader, value);
      } catch (e) {
        await resignQuietly(s, call.ctx, leader);
        throw e;
      }
    }
  }
  try {
    await waitDeletes(s, call, prefix, leader.rev - 1);
  } catch (e) {
    if (call.signal.aborted) await resignQuietly(s, call.ctx, leader);
    throw e;
  }
  return { leader, header };
}

/** The leader posts a new value; fails with "election: not leader" if it no longer leads. */
export async function proclaim(s: EtcdServerApi, ctx: RequestContext, leader: Leadership, value: Buffer): Promise<ResponseHeader> {
  const resp = await s.txn(
    { compare: [createRevisionIs(leader.key, leader.rev)], success: [{ requestPut: putOf(leader.key, value, leader.lease) }], failure: [] },
    ctx,
  );
  if (!resp.succeeded) throw ErrElectionNotLeader;
  return fillHeader(resp.header, s);
}

/** Gives up leadership (a no-op when it is already lost). */
export async function resign(s: EtcdServerApi, ctx: RequestContext, leader: Leadership): Promise<ResponseHeader> {
  const resp = await s.txn(
    {
      compare: [createRevisionIs(leader.key, leader.rev)],
      success: [{ requestDeleteRange: { key: leader.key, rangeEnd: EMPTY, prevKv: false } }],
      failure: [],
    },
    ctx,
  );
  return fillHeader(resp.header, s);
}

async function resignQuietly(s: EtcdServerApi, ctx: RequestContext, leader: Leadership): Promise<void> {
  try {
    await resign(s, ctx, leader);
  } catch {
    // the key goes with its lease anyway
  }
}

/** The current leader's key-value. */
export async function currentLeader(s: EtcdServerApi, ctx: RequestContext, name: Buffer): Promise<Proclamation> {
  const resp = await s.range(firstCreated(prefixOf(name)), ctx);
  if (resp.kvs.length === 0) throw ErrElectionNoLeader;
  return { header: fillHeader(resp.header, s), kv: resp.kvs[0] };
}

/**
 * Sends every proclamation of election `name` in order until `send` returns false, the call is
 * cancelled, or a read or watch fails (which etcd reports as a normal end of the stream).
 */
export async function observe(
  s: EtcdServerApi,
  call: RecipeCall,
  name: Buffer,
  send: (p: Proclamation) => boolean,
): Promise<void> {
  const prefix = prefixOf(name);
  for (;;) {
    const resp = await s.range(firstCreated(prefix), call.ctx);
    let header = fillHeader(resp.header, s);
    let kv: KeyValue | undefined = resp.kvs[0];
    if (kv === undefined) {
      // No leader yet: the first put under the prefix is the first leader.
      const w = new KeyWatch(s, call.ctx, prefix, watchEndOf(prefix), header.revision, call.signal);
      try {
        while (kv === undefined) {
          const r = await w.next();
          kv = r.events.find((ev) => ev.type === EventType.PUT)?.kv;
        }
      } finally {
        w.close();
      }
      header = headerAt(s, kv.modRevision);
    }
    if (!send({ header, kv })) return;
    // Follow this leader's key until it is deleted, then look for the next leader.
    const w = new KeyWatch(s, call.ctx, kv.key, null, header.revision + 1, call.signal);
    try {
      for (let deleted = false; !deleted; ) {
        const r = await w.next();
        for (const ev of r.events) {
          if (ev.type === EventType.DELETE) {
            deleted = true;
            break;
          }
          if (!send({ header: headerAt(s, r.revision), kv: ev.kv })) return;
        }
      }
    } finally {
      w.close();
    }
  }
}
