// Raft helpers shared across the core: message classification, entry size accounting, and the
// human-readable describe* formatters whose output the conformance suite compares byte for byte
// (etcd-raft util.go, README §4.1–§4.5 and §4.11), including Go's %q quoting of byte strings.
import {
  ConfChange,
  ConfChangeSingle,
  ConfChangeType,
  ConfChangeV2,
  ConfState,
  Entry,
  EntryType,
  HardState,
  Message,
  MessageType,
  NodeId,
  None,
  Snapshot,
  confChangeAsV2,
  confStateEquivalent,
  isEmptyHardState,
  isEmptySnap,
} from './raftpb/types.js';
import { decodeConfChange, decodeConfChangeV2, entrySize } from './raftpb/codec.js';
import { STATE_NAMES } from './ready.js';
import type { ReadState, Ready, SoftState } from './ready.js';
import type { Logger } from './logger.js';
import { RaftPanic } from './logger.js';

/** Target of MsgStorageAppend: the local thread persisting entries (Go's math.MaxUint64). */
export const LocalAppendThread: NodeId = 0xffffffffffffffffn;
/** Target of MsgStorageApply: the local thread applying committed entries. */
export const LocalApplyThread: NodeId = 0xfffffffffffffffen;

/** "No limit" for byte sizes (Go's math.MaxUint64). */
export const noLimit = Infinity;

export const MESSAGE_TYPE_NAMES: readonly string[] = [
  'MsgHup',
  'MsgBeat',
  'MsgProp',
  'MsgApp',
  'MsgAppResp',
  'MsgVote',
  'MsgVoteResp',
  'MsgSnap',
  'MsgHeartbeat',
  'MsgHeartbeatResp',
  'MsgUnreachable',
  'MsgSnapStatus',
  'MsgCheckQuorum',
  'MsgTransferLeader',
  'MsgTimeoutNow',
  'MsgReadIndex',
  'MsgReadIndexResp',
  'MsgPreVote',
  'MsgPreVoteResp',
  'MsgStorageAppend',
  'MsgStorageAppendResp',
  'MsgStorageApply',
  'MsgStorageApplyResp',
  'MsgForgetLeader',
];

export const ENTRY_TYPE_NAMES: readonly string[] = ['EntryNormal', 'EntryConfChange', 'EntryConfChangeV2'];

export const CONF_CHANGE_TYPE_NAMES: readonly string[] = [
  'ConfChangeAddNode',
  'ConfChangeRemoveNode',
  'ConfChangeUpdateNode',
  'ConfChangeAddLearnerNode',
];

export const CONF_CHANGE_TRANSITION_NAMES: readonly string[] = [
  'ConfChangeTransitionAuto',
  'ConfChangeTransitionJointImplicit',
  'ConfChangeTransitionJointExplicit',
];

// Go prints an enum value without a name as its number.
const nameOf = (names: readonly string[], v: number): string => names[v] ?? String(v);

export const messageTypeName = (t: MessageType): string => nameOf(MESSAGE_TYPE_NAMES, t);
export const entryTypeName = (t: EntryType): string => nameOf(ENTRY_TYPE_NAMES, t);

/** A node ID as raft's log lines print it (Go %x). */
export function formatId(id: NodeId): string {
  return id.toString(16);
}

// ---- message classification -------------------------------------------------------------------

const LOCAL_MSGS: readonly boolean[] = (() => {
  const a: boolean[] = [];
  for (const t of [
    MessageType.MsgHup,
    MessageType.MsgBeat,
    MessageType.MsgUnreachable,
    MessageType.MsgSnapStatus,
    MessageType.MsgCheckQuorum,
    MessageType.MsgStorageAppend,
    MessageType.MsgStorageAppendResp,
    MessageType.MsgStorageApply,
    MessageType.MsgStorageApplyResp,
  ])
    a[t] = true;
  return a;
})();

const RESPONSE_MSGS: readonly boolean[] = (() => {
  const a: boolean[] = [];
  for (const t of [
    MessageType.MsgAppResp,
    MessageType.MsgVoteResp,
    MessageType.MsgHeartbeatResp,
    MessageType.MsgUnreachable,
    MessageType.MsgReadIndexResp,
    MessageType.MsgPreVoteResp,
    MessageType.MsgStorageAppendResp,
    MessageType.MsgStorageApplyResp,
  ])
    a[t] = true;
  return a;
})();

export function isLocalMsg(t: MessageType): boolean {
  return LOCAL_MSGS[t] === true;
}

export function isResponseMsg(t: MessageType): boolean {
  return RESPONSE_MSGS[t] === true;
}

export function isLocalMsgTarget(id: NodeId): boolean {
  return id === LocalAppendThread || id === LocalApplyThread;
}

/** The response type for a vote or pre-vote request. */
export function voteRespMsgType(t: MessageType): MessageType {
  switch (t) {
    case MessageType.MsgVote:
      return MessageType.MsgVoteResp;
    case MessageType.MsgPreVote:
      return MessageType.MsgPreVoteResp;
    default:
      throw new RaftPanic(`not a vote message: ${messageTypeName(t)}`);
  }
}

// ---- sizes ------------------------------------------------------------------------------------

/** Total protobuf-encoded size of the entries (Go's entryEncodingSize). */
export function entsSize(ents: readonly Entry[]): number {
  let size = 0;
  for (let i = 0; i < ents.length; i++) size += entrySize(ents[i]);
  return size;
}

/**
 * Number of leading entries of `ents[from, to)` whose encoded size stays within maxSize, but at
 * least one when the range is non-empty. Returns the exclusive end index.
 */
export function limitSizeEnd(ents: readonly Entry[], from: number, to: number, maxSize: number): number {
  if (to - from <= 1 || maxSize === Infinity) return to;
  let size = entrySize(ents[from]);
  for (let i = from + 1; i < to; i++) {
    size += entrySize(ents[i]);
    if (size > maxSize) return i;
  }
  return to;
}

/**
 * The longest prefix of `ents` within maxSize bytes, and never empty for a non-empty input (a first
 * entry larger than maxSize is returned alone). Returns `ents` itself when nothing is cut.
 */
export function limitSize(ents: Entry[], maxSize: number): Entry[] {
  const end = limitSizeEnd(ents, 0, ents.length, maxSize);
  return end === ents.length ? ents : ents.slice(0, end);
}

/** Payload size of one entry: its data length (index and term don't count). */
export function payloadSize(e: Entry): number {
  return e.data.length;
}

export function payloadsSize(ents: readonly Entry[]): number {
  let s = 0;
  for (let i = 0; i < ents.length; i++) s += ents[i].data.length;
  return s;
}

export function assertConfStatesEquivalent(l: Logger, cs1: ConfState, cs2: ConfState): void {
  const err = confStateEquivalent(cs1, cs2);
  if (err !== null) l.panic(err);
}

// ---- Go %q ------------------------------------------------------------------------------------

const HEX = '0123456789abcdef';
const PRINTABLE = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

function hexPad(v: number, width: number): string {
  return v.toString(16).padStart(width, '0');
}

// strconv.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.
function isPrint(r: number): boolean {
  if (r < 0x80) return r >= 0x20 && r < 0x7f;
  return PRINTABLE.test(String.fromCodePoint(r));
}

// Decodes one UTF-8 rune at b[i] like Go's utf8.DecodeRune; returns rune*8+width, or -1 if invalid.
function decodeRune(b: Uint8Array, i: number): number {
  const n = b.length;
  const c0 = b[i];
  const cont = (j: number, lo = 0x80, hi = 0xbf): number => {
    if (j >= n) return -1;
    const c = b[j];
    return c >= lo && c <= hi ? c & 0x3f : -1;
  };
  if (c0 >= 0xc2 && c0 <= 0xdf) {
    const c1 = cont(i + 1);
    return c1 < 0 ? -1 : (((c0 & 0x1f) << 6) | c1) * 8 + 2;
  }
  if (c0 >= 0xe0 && c0 <= 0xef) {
    const lo = c0 === 0xe0 ? 0xa0 : 0x80;
    const hi = c0 === 0xed ? 0x9f : 0xbf;
    const c1 = cont(i + 1, lo, hi);
    if (c1 < 0) return -1;
    const c2 = cont(i + 2);
    if (c2 < 0) return -1;
    return (((c0 & 0x0f) << 12) | (c1 << 6) | c2) * 8 + 3;
  }
  if (c0 >= 0xf0 && c0 <= 0xf4) {
    const lo = c0 === 0xf0 ? 0x90 : 0x80;
    const hi = c0 === 0xf4 ? 0x8f : 0xbf;
    const c1 = cont(i + 1, lo, hi);
    if (c1 < 0) return -1;
    const c2 = cont(i + 2);
    if (c2 < 0) return -1;
    const c3 = cont(i + 3);
    if (c3 < 0) return -1;
    return (((c0 & 0x07) << 18) | (c1 << 12) | (c2 << 6) | c3) * 8 + 4;
  }
  return -1;
}

/** Go's `fmt.Sprintf("%q", b)` for a byte slice: a double-quoted Go string literal. */
export function goQuote(b: Uint8Array): string {
  let simple = true;
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c < 0x20 || c >= 0x7f || c === 0x22 || c === 0x5c) {
      simple = false;
      break;
    }
  }
  if (simple) return '"' + Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1') + '"';

  let out = '"';
  for (let i = 0; i < b.length; ) {
    const c = b[i];
    let r: number;
    let width: number;
    if (c < 0x80) {
      r = c;
      width = 1;
    } else {
      const d = decodeRune(b, i);
      if (d < 0) {
        out += '\\x' + HEX[c >> 4] + HEX[c & 15];
        i++;
        continue;
      }
      r = Math.floor(d / 8);
      width = d % 8;
    }
    i += width;
    if (r === 0x22 || r === 0x5c) {
      out += '\\' + String.fromCharCode(r);
      continue;
    }
    if (isPrint(r)) {
      out += String.fromCodePoint(r);
      continue;
    }
    switch (r) {
      case 0x07:
        out += '\\a';
        break;
      case 0x08:
        out += '\\b';
        break;
      case 0x0c:
        out += '\\f';
        break;
      case 0x0a:
        out += '\\n';
        break;
      case 0x0d:
        out += '\\r';
        break;
      case 0x09:
        out += '\\t';
        break;
      case 0x0b:
        out += '\\v';
        break;
      default:
        if (r < 0x20 || r === 0x7f) out += '\\x' + hexPad(r, 2);
        else if (r < 0x10000) out += '\\u' + hexPad(r, 4);
        else out += '\\U' + hexPad(r, 8);
    }
  }
  return out + '"';
}

// ---- describe* ----------------------------------------------------------------------------------

/** Formats entry data for display; the default is Go's %q. */
export type EntryFormatter = (data: Uint8Array) => string;

export function describeHardState(hs: HardState): string {
  let s = `Term:${hs.term}`;
  if (hs.vote !== None) s += ` Vote:${hs.vote}`;
  return s + ` Commit:${hs.commit}`;
}

export function describeSoftState(ss: SoftState): string {
  return `Lead:${ss.lead} State:${STATE_NAMES[ss.raftState] ?? String(ss.raftState)}`;
}

// Go %v of a []uint64.
const idList = (ids: readonly NodeId[] | null | undefined): string => `[${ids ? ids.join(' ') : ''}]`;

export function describeConfState(cs: ConfState): string {
  return (
    `Voters:${idList(cs.voters)} VotersOutgoing:${idList(cs.votersOutgoing)} ` +
    `Learners:${idList(cs.learners)} LearnersNext:${idList(cs.learnersNext)} AutoLeave:${cs.autoLeave}`
  );
}

export function describeSnapshot(snap: Snapshot): string {
  const m = snap.metadata;
  return `Index:${m.index} Term:${m.term} ConfState:${describeConfState(m.confState)}`;
}

// Go %v of a []ReadState: [{index [b0 b1 ...]} ...].
function describeReadStates(rs: readonly ReadState[]): string {
  return `[${rs.map((r) => `{${r.index} [${Array.from(r.requestCtx).join(' ')}]}`).join(' ')}]`;
}

export function describeReady(rd: Ready, f?: EntryFormatter | null): string {
  let buf = '';
  if (rd.softState) buf += describeSoftState(rd.softState) + '\n';
  if (rd.hardState && !isEmptyHardState(rd.hardState)) buf += `HardState ${describeHardState(rd.hardState)}\n`;
  if (rd.readStates && rd.readStates.length > 0) buf += `ReadStates ${describeReadStates(rd.readStates)}\n`;
  if (rd.entries.length > 0) buf += 'Entries:\n' + describeEntries(rd.entries, f);
  if (!isEmptySnap(rd.snapshot)) buf += `Snapshot ${describeSnapshot(rd.snapshot!)}\n`;
  if (rd.committedEntries.length > 0) buf += 'CommittedEntries:\n' + describeEntries(rd.committedEntries, f);
  if (rd.messages.length > 0) {
    buf += 'Messages:\n';
    for (const m of rd.messages) buf += describeMessage(m, f) + '\n';
  }
  if (buf.length > 0) return `Ready MustSync=${rd.mustSync}:\n${buf}`;
  return '<empty Ready>';
}

function describeTarget(id: NodeId): string {
  if (id === None) return 'None';
  if (id === LocalAppendThread) return 'AppendThread';
  if (id === LocalApplyThread) return 'ApplyThread';
  return id.toString(16);
}

export function describeMessage(m: Message, f?: EntryFormatter | null): string {
  return describeMessageWithIndent('', m, f);
}

function describeMessageWithIndent(indent: string, m: Message, f?: EntryFormatter | null): string {
  let buf =
    `${indent}${describeTarget(m.from)}->${describeTarget(m.to)} ${messageTypeName(m.type)} ` +
    `Term:${m.term} Log:${m.logTerm}/${m.index}`;
  if (m.reject) buf += ` Rejected (Hint: ${m.rejectHint})`;
  if (m.commit !== 0) buf += ` Commit:${m.commit}`;
  if (m.vote !== None) buf += ` Vote:${m.vote}`;
  const ents = m.entries;
  if (ents.length === 1) {
    buf += ` Entries:[${describeEntry(ents[0], f)}]`;
  } else if (ents.length > 1) {
    buf += ' Entries:[';
    for (const e of ents) buf += `\n${indent}  ${describeEntry(e, f)}`;
    buf += `\n${indent}]`;
  }
  if (m.snapshot && !isEmptySnap(m.snapshot)) buf += `\n${indent}  Snapshot: ${describeSnapshot(m.snapshot)}`;
  if (m.responses.length > 0) {
    buf += ' Responses:[';
    for (const r of m.responses) buf += '\n' + describeMessageWithIndent(indent + '  ', r, f);
    buf += `\n${indent}]`;
  }
  return buf;
}

/** raftpb's ConfChangesToString: space-separated v<id> / l<id> / r<id> / u<id> tokens. */
export function confChangesToString(ccs: readonly ConfChangeSingle[]): string {
  let buf = '';
  for (let i = 0; i < ccs.length; i++) {
    if (i > 0) buf += ' ';
    switch (ccs[i].type) {
      case ConfChangeType.ConfChangeAddNode:
        buf += 'v';
        break;
      case ConfChangeType.ConfChangeAddLearnerNode:
        buf += 'l';
        break;
      case ConfChangeType.ConfChangeRemoveNode:
        buf += 'r';
        break;
      case ConfChangeType.ConfChangeUpdateNode:
        buf += 'u';
        break;
      default:
        buf += 'unknown';
    }
    buf += ccs[i].nodeId.toString();
  }
  return buf;
}

export function describeEntry(e: Entry, f?: EntryFormatter | null): string {
  let formatted: string;
  switch (e.type) {
    case EntryType.EntryNormal:
      formatted = (f ?? goQuote)(e.data);
      break;
    case EntryType.EntryConfChange:
      try {
        formatted = confChangesToString(confChangeAsV2(decodeConfChange(e.data)).changes);
      } catch (err) {
        formatted = (err as Error).message;
      }
      break;
    case EntryType.EntryConfChangeV2:
      try {
        formatted = confChangesToString(decodeConfChangeV2(e.data).changes);
      } catch (err) {
        formatted = (err as Error).message;
      }
      break;
    default:
      formatted = '';
  }
  if (formatted !== '') formatted = ' ' + formatted;
  return `${e.term}/${e.index} ${entryTypeName(e.type)}${formatted}`;
}

/** describeEntry of each entry, each followed by a newline. */
export function describeEntries(ents: readonly Entry[], f?: EntryFormatter | null): string {
  let buf = '';
  for (const e of ents) buf += describeEntry(e, f) + '\n';
  return buf;
}

/**
 * A deterministic one-line form of a conf change (README §4.11), used by raft's "ignoring conf
 * change" log line. A V1 change is shown in its V2 form.
 */
export function describeConfChange(cc: ConfChange | ConfChangeV2): string {
  const v2: ConfChangeV2 = 'changes' in cc ? cc : confChangeAsV2(cc);
  let s = `transition:${nameOf(CONF_CHANGE_TRANSITION_NAMES, v2.transition)}`;
  for (const c of v2.changes) s += ` changes:{type:${nameOf(CONF_CHANGE_TYPE_NAMES, c.type)} node_id:${c.nodeId}}`;
  if (v2.context.length > 0) s += ` context:${goQuote(v2.context)}`;
  return s;
}
