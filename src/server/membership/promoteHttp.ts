// Learner promotion between members (etcd's peerMemberPromoteHandler / promoteMemberHTTP): only
// the leader knows whether a learner caught up, so a member that is not the leader forwards
// MemberPromote as POST /members/promote/<id hex> to the leader's peer listener. The leader
// answers 200 with the member list as etcd's member JSON, 404 for an unknown member, 412 with
// the error text when the member is not a learner or not ready, 500 otherwise (retryable).
import * as http2 from 'node:http2';
import { ErrIDNotFound, ErrMemberNotLearner } from './cluster.js';
import { type Member, memberToJson, membersFromJsonArray } from './member.js';
import { ErrLearnerNotReady } from './errors.js';
import type { PeerResponse, PeerSessions } from '../peerSessions.js';

export const PROMOTE_PATH_PREFIX = '/members/promote/';

/** The serving member's side. */
export interface PromoteLocal {
  readonly cluster: { readonly clusterId: bigint };
  /** Promotes on this member, which must be the leader. */
  promoteLocal(id: bigint): Promise<Member[]>;
}

/** A refusal that the forwarding member may retry (no leader yet, timeout, ...). */
export class PromoteHttpError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PromoteHttpError';
  }
}

/** Serves POST /members/promote/<id>; false for any other path. */
export function servePromoteHttp(local: PromoteLocal, stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): boolean {
  const path = headers[':path'];
  if (typeof path !== 'string' || !path.startsWith(PROMOTE_PATH_PREFIX)) return false;
  stream.on('error', () => {});
  const cid = local.cluster.clusterId.toString(16);
  if (headers[':method'] !== 'POST') {
    reply(stream, 405, cid, 'Method Not Allowed');
    return true;
  }
  const hex = path.slice(PROMOTE_PATH_PREFIX.length);
  if (!/^[0-9a-fA-F]{1,16}$/.test(hex)) {
    reply(stream, 400, cid, `strconv.ParseUint: parsing "${hex}": invalid syntax`);
    return true;
  }
  stream.resume();
  local.promoteLocal(BigInt('0x' + hex)).then(
    (members) => reply(stream, 200, cid, `[${members.map(memberToJson).join(',')}]`, 'application/json'),
    (err: Error) => {
      const status = err === ErrIDNotFound ? 404 : err === ErrMemberNotLearner || err === ErrLearnerNotReady ? 412 : 500;
      reply(stream, status, cid, err.message);
    },
  );
  return true;
}

function reply(stream: http2.ServerHttp2Stream, status: number, cid: string, body: string, type = 'text/plain; charset=utf-8'): void {
  if (stream.destroyed || stream.headersSent) return;
  stream.respond({ ':status': status, 'content-type': type, 'x-etcd-cluster-id': cid });
  stream.end(body + '\n');
}

/** Asks the member at `peerUrl` (the leader) to promote `id`; the errors etcd ends retries on are returned as themselves. */
export async function promoteMemberHttp(peerUrl: string, id: bigint, timeoutMs: number, sessions: PeerSessions): Promise<Member[]> {
  let r: PeerResponse;
  try {
    const origin = new URL(peerUrl).origin;
    r = await sessions.request(origin, { ':method': 'POST', ':path': PROMOTE_PATH_PREFIX + id.toString(16) }, '', timeoutMs);
  } catch (err) {
    throw new PromoteHttpError((err as Error).message);
  }
  const body = r.body.toString('utf8').trim();
  if (r.status === 200) {
    try {
      return membersFromJsonArray(body);
    } catch (err) {
      throw new PromoteHttpError((err as Error).message);
    }
  }
  if (r.status === 404) throw ErrIDNotFound;
  if (r.status === 412 && body.includes(ErrMemberNotLearner.message)) throw ErrMemberNotLearner;
  if (r.status === 412 && body.includes(ErrLearnerNotReady.message)) throw ErrLearnerNotReady;
  if (r.status === 0) throw new PromoteHttpError(r.error === 'request timed out' ? 'promote request timed out' : (r.error ?? 'promote request failed'));
  throw new PromoteHttpError(body || `promote request failed (status ${r.status})`);
}
