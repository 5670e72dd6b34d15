// Alarms (etcd's v3alarm.AlarmStore): per member, NOSPACE or CORRUPT, persisted in the alarm
// bucket keyed by the encoded AlarmMember so every member sees the same set after replay.
import type { Backend } from '../storage/backend/backend.js';
import { Bucket } from '../storage/backend/buckets.js';
import { Reader, Writer, sizeVarint, sizeVarintBig } from '../pkg/protobuf.js';
import { type AlarmMember, AlarmType } from './etcdserverpb/rpc.js';

const EMPTY_VALUE = Buffer.from([]);

function alarmKey(a: AlarmMember): Buffer {
  const w = new Writer(
    (a.memberID !== 0n ? 1 + sizeVarintBig(a.memberID) : 0) + (a.alarm !== 0 ? 1 + sizeVarint(a.alarm) : 0),
  );
  w.int64(1, a.memberID);
  w.int(2, a.alarm);
  return w.buf;
}

function decodeAlarmKey(b: Buffer): AlarmMember {
  const r = Reader.of(b);
  const a: AlarmMember = { memberID: 0n, alarm: AlarmType.NONE };
  while (!r.done()) {
    const t = r.varint();
    if (t === 0x08) a.memberID = r.uint64();
    else if (t === 0x10) a.alarm = r.varint() as AlarmMember['alarm'];
    else r.skip(t & 7);
  }
  return a;
}

export class AlarmStore {
  private alarms: AlarmMember[] = [];
  private be: Backend;

  constructor(be: Backend) {
    this.be = be;
    this.reload(be);
  }

  reload(be: Backend): void {
    this.be = be;
    this.alarms = [];
    be.readTx.forEach(Bucket.Alarm, (k) => this.alarms.push(decodeAlarmKey(k)));
  }

  /** Raises an alarm; returns it, or null when it was already raised. */
  activate(memberID: bigint, alarm: AlarmType): AlarmMember | null {
    if (this.alarms.some((a) => a.memberID === memberID && a.alarm === alarm)) return null;
    const a = { memberID, alarm };
    this.alarms.push(a);
    this.be.batchTx.put(Bucket.Alarm, alarmKey(a), EMPTY_VALUE);
    return a;
  }

  deactivate(memberID: bigint, alarm: AlarmType): AlarmMember | null {
    const i = this.alarms.findIndex((a) => a.memberID === memberID && a.alarm === alarm);
    if (i < 0) return null;
    const [a] = this.alarms.splice(i, 1);
    this.be.batchTx.delete(Bucket.Alarm, alarmKey(a!));
    return a!;
  }

  /** Alarms of one type, or all with AlarmType.NONE. */
  get(alarm: AlarmType = AlarmType.NONE): AlarmMember[] {
    return this.alarms.filter((a) => alarm === AlarmType.NONE || a.alarm === alarm);
  }

  has(alarm: AlarmType): boolean {
    return this.alarms.some((a) => a.alarm === alarm);
  }
}
