// The Lock service (etcd's v3lock/lock.go): Lock waits for the named lock under the caller's
// lease (or a fresh 60 s lease when none is given) and returns the ownership key; Unlock deletes
// that key. Errors reach the client as gRPC Unknown with etcd's text, as etcd's in-process
// client reports them.

import { lock, unlock } from '../concurrency/mutex.js';
import { sessionLease, type RecipeCall, type RecipeHandlers } from '../concurrency/keys.js';
import { ErrGRPCEmptyKey } from '../errors.js';
import type { EtcdServerApi, ResponseHeader } from '../types.js';

export interface LockRequest {
  name: Buffer;
  lease: bigint;
}

export interface LockResponse {
  header: ResponseHeader;
  key: Buffer;
}

export interface UnlockRequest {
  key: Buffer;
}

export interface UnlockResponse {
  header: ResponseHeader;
}

export function lockHandlers(s: EtcdServerApi): RecipeHandlers {
  return {
    async Lock(r: LockRequest, call: RecipeCall): Promise<LockResponse> {
      const lease = await sessionLease(s, call.ctx, r.lease);
      const held = await lock(s, call, r.name, lease);
      return { header: held.header, key: held.key };
    },
    async Unlock(r: UnlockRequest, call: RecipeCall): Promise<UnlockResponse> {
      if (r.key.length === 0) throw ErrGRPCEmptyKey;
      return { header: await unlock(s, call.ctx, r.key) };
    },
  };
}
