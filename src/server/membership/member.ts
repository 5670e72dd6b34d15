// A cluster member (etcd's membership.Member): ID, name, peer and client URLs, learner flag, and
// its JSON form — the ConfChange context of AddNode entries and the value in the members bucket,
// with the ID written as a JSON number exactly as etcd writes it (beyond 2^53, so hand-formatted).

export interface Member {
  id: bigint;
  name: string;
  peerURLs: string[];
  clientURLs: string[];
  isLearner: boolean;
}

const json = (s: string): string => JSON.stringify(s);

/** etcd's JSON of a Member: {"id":N,"peerURLs":[...],"isLearner"?,"name"?,"clientURLs"?}. */
export function memberToJson(m: Member): string {
  let s = `{"id":${m.id.toString()},"peerURLs":[${m.peerURLs.map(json).join(',')}]`;
  if (m.isLearner) s += ',"isLearner":true';
  if (m.name !== '') s += `,"name":${json(m.name)}`;
  if (m.clientURLs.length > 0) s += `,"clientURLs":[${m.clientURLs.map(json).join(',')}]`;
  return s + '}';
}

/** Parses etcd's member JSON; the ID is read from the text so no precision is lost. */
export function memberFromJson(text: string): Member {
  const idMatch = /"id"\s*:\s*(\d+)/.exec(text);
  if (idMatch === null) throw new Error(`membership: member JSON without id: ${text}`);
  const o = JSON.parse(text) as { peerURLs?: string[]; clientURLs?: string[]; name?: string; isLearner?: boolean };
  return {
    id: BigInt(idMatch[1]!),
    name: o.name ?? '',
    peerURLs: o.peerURLs ?? [],
    clientURLs: o.clientURLs ?? [],
    isLearner: o.isLearner ?? false,
  };
}

/**
 * The context of a promote conf change (etcd's ConfigChangeContext with only the ID set):
 * an AddNode for an existing learner, told apart from an add by "isPromote".
 */
export function promoteContextJson(id: bigint): string {
  return `{"id":${id.toString()},"peerURLs":null,"isPromote":true}`;
}

/** Whether an AddNode context is a promotion (ConfigChangeContext.IsPromote). */
export function isPromoteContext(text: string): boolean {
  return /"isPromote"\s*:\s*true/.test(text);
}

/** Splits a JSON array of members (GET /members) without losing 64-bit IDs. */
export function membersFromJsonArray(text: string): Member[] {
  const out: Member[] = [];
  // Member objects hold no nested objects, so each runs from '{' to the next '}'.
  for (const m of text.matchAll(/\{[^{}]*\}/g)) out.push(memberFromJson(m[0]));
  return out;
}
