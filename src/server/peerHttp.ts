// The peer listener's informational endpoints (etcd's etcdserver/api/etcdhttp peer handler):
// GET /members lists the members as etcd's JSON (with the X-Etcd-Cluster-ID header) and
// GET /version answers the server and cluster versions. Raft and lease paths are served elsewhere.
import type { IncomingHttpHeaders, ServerHttp2Stream } from 'node:http2';
import { type Member, memberToJson } from './membership/member.js';

export const MEMBERS_PATH = '/members';
export const VERSION_PATH = '/version';

/** The server satisfies this structurally. */
export interface PeerInfoSource {
  readonly cluster: { readonly clusterId: bigint; memberList(): Member[] };
  versions(): { server: string; cluster: string };
}

/** Serves /members and /version; false for any other path. */
export function servePeerInfo(src: PeerInfoSource, stream: ServerHttp2Stream, headers: IncomingHttpHeaders): boolean {
  const path = headers[':path'];
  if (path !== MEMBERS_PATH && path !== VERSION_PATH) return false;
  stream.on('error', () => {});
  const method = headers[':method'];
  if (method !== 'GET' && method !== 'HEAD') {
    stream.respond({ ':status': 405, allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' });
    stream.end('Method Not Allowed\n');
    return true;
  }
  let body: string;
  const h: Record<string, string | number> = { ':status': 200, 'content-type': 'application/json' };
  if (path === MEMBERS_PATH) {
    h['x-etcd-cluster-id'] = src.cluster.clusterId.toString(16);
    body = `[${src.cluster.memberList().map(memberToJson).join(',')}]\n`;
  } else {
    const v = src.versions();
    body = `{"etcdserver":${JSON.stringify(v.server)},"etcdcluster":${JSON.stringify(v.cluster)}}`;
  }
  stream.respond(h);
  stream.end(method === 'HEAD' ? undefined : body);
  return true;
}
