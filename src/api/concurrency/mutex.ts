// etcd's distributed mutex (client/v3/concurrency mutex.go) run inside the server: each contender
// puts "<name>/<lease hex>" under its lease; the oldest key (lowest create revision) holds the
// lock; the others wait for every older key to be deleted. Locking twice with one lease is one
// acquisition.

import type { EtcdServerApi, RequestContext, ResponseHeader } from '../types.js';
import { fillHeader } from '../v3rpc/header.js';
import {
  EMPTY,
  contenderKey,
  createRevisionIs,
  firstCreated,
  prefixOf,
  putOf,
  rangeOf,
  recipeError,
  waitDeletes,
  type RecipeCall,
} from './keys.js';

export const ErrSessionExpired = recipeError('mutex: session is expired');

export interface Held {
  /** The ownership key: it exists exactly as long as the lock is held. */
  key: Buffer;
  header: ResponseHeader;
}

/** Waits for and takes the lock `name` under `lease` (which must exist). */
export async function lock(s: EtcdServerApi, call: RecipeCall, name: Buffer, lease: bigint): Promise<Held> {
  const prefix = prefixOf(name);
  const myKey = contenderKey(prefix, lease);
  const owner = firstCreated(prefix);
  // One round trip on the uncontended path: enqueue (or find our earlier entry) and read the owner.
  const resp = await s.txn(
    {
      compare: [createRevisionIs(myKey, 0)],
      success: [{ requestPut: putOf(myKey, EMPTY, lease) }, { requestRange: owner }],
      failure: [{ requestRange: rangeOf(myKey) }, { requestRange: owner }],
    },
    call.ctx,
  );
  const header = fillHeader(resp.header, s);
  const myRev = resp.succeeded ? header.revision : resp.responses[0].responseRange!.kvs[0].createRevision;
  const first = resp.responses[1].responseRange!.kvs;
  if (first.length === 0 || first[0].createRevision === myRev) return { key: myKey, header };

  let got;
  try {
    await waitDeletes(s, call, prefix, myRev - 1);
    // The lease may have expired while we waited: then our key is gone and so is the lock.
    got = await s.range(rangeOf(myKey), call.ctx);
  } catch (e) {
    await unlockQuietly(s, call.ctx, myKey);
    throw e;
  }
  if (got.kvs.length === 0) throw ErrSessionExpired;
  return { key: myKey, header: fillHeader(got.header, s) };
}

/** Releases a lock by deleting its ownership key. */
export async function unlock(s: EtcdServerApi, ctx: RequestContext, key: Buffer): Promise<ResponseHeader> {
  const resp = await s.deleteRange({ key, rangeEnd: EMPTY, prevKv: false }, ctx);
  return fillHeader(resp.header, s);
}

/** Cleanup after a failed or cancelled wait: the caller already has an error to report. */
async function unlockQuietly(s: EtcdServerApi, ctx: RequestContext, key: Buffer): Promise<void> {
  try {
    await unlock(s, ctx, key);
  } catch {
    // the key goes with its lease anyway
  }
}
