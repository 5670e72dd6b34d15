// Member and cluster IDs derived exactly as etcd derives them, so `etcdctl member list` shows the
// same stable IDs etcd would: member ID = first 8 bytes (big-endian) of sha1(sorted peer URLs joined
// + cluster token [+ unix time for members added at runtime]); cluster ID = the same over the sorted
// member IDs.
import { createHash } from 'node:crypto';

export function computeMemberId(peerUrls: string[], clusterToken: string, nowUnixSeconds?: number): bigint {
  const joined = [...peerUrls].sort().join('');
  let s = joined + clusterToken;
  if (nowUnixSeconds !== undefined) s += String(Math.floor(nowUnixSeconds));
  const hash = createHash('sha1').update(s, 'utf8').digest();
  return hash.readBigUInt64BE(0);
}

export function computeClusterId(memberIds: bigint[]): bigint {
  const ids = [...memberIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const b = Buffer.alloc(8 * ids.length);
  ids.forEach((id, i) => b.writeBigUInt64BE(id, 8 * i));
  return createHash('sha1').update(b).digest().readBigUInt64BE(0);
}

/** etcd prints IDs as unpadded lowercase hex. */
export function idToString(id: bigint): string {
  return id.toString(16);
}
