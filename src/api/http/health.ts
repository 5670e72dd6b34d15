// The health probes etcd 3.5 serves on the client URL (etcdhttp/health.go): /health (no alarm, a
// leader, a read that succeeds), /livez (no alarm except NOSPACE, a read) and /readyz (no alarm,
// a read). `?serializable=true` reads locally instead of through the leader; `?exclude=NOSPACE`
// (repeatable) ignores an alarm. The answer is {"health":"true"|"false","reason":...}, 503 when
// unhealthy. A plain /health is the server's own check (which also counts health metrics).

import { ErrGRPCPermissionDenied, ErrGRPCUserEmpty, toGrpcError } from '../errors.js';
import { AlarmAction, AlarmType, type EtcdServerApi, type HealthResult, type RequestContext } from '../types.js';
import type { HttpExchange } from './exchange.js';

export type Probe = '/health' | '/livez' | '/readyz';

const TEXT_TYPE = { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' };
const NO_AUTH: RequestContext = { token: undefined };
/** etcd bounds the probe's read by its request timeout. */
export const PROBE_READ_TIMEOUT_MS = 5000;

const ALARM_REASON: Record<number, string> = {
  [AlarmType.NOSPACE]: 'ALARM NOSPACE',
  [AlarmType.CORRUPT]: 'ALARM CORRUPT',
};
const ALARM_NAME: Record<number, string> = { [AlarmType.NOSPACE]: 'NOSPACE', [AlarmType.CORRUPT]: 'CORRUPT' };

const ok = (): HealthResult => ({ health: true, reason: '' });
const bad = (reason: string): HealthResult => ({ health: false, reason });

async function checkAlarms(s: EtcdServerApi, excluded: Set<string>): Promise<HealthResult> {
  const r = await s.alarm({ action: AlarmAction.GET, memberID: 0n, alarm: AlarmType.NONE }, NO_AUTH);
  for (const a of r.alarms) {
    if (excluded.has(ALARM_NAME[a.alarm] ?? '')) continue;
    return bad(ALARM_REASON[a.alarm] ?? 'ALARM UNKNOWN');
  }
  return ok();
}

async function checkLeader(s: EtcdServerApi, serializable: boolean): Promise<HealthResult> {
  if (serializable) return ok();
  return (await s.status(NO_AUTH)).leader === 0n ? bad('RAFT NO LEADER') : ok();
}

async function checkRead(s: EtcdServerApi, serializable: boolean): Promise<HealthResult> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('context deadline exceeded')), PROBE_READ_TIMEOUT_MS);
  });
  try {
    const read = s.range(
      {
        key: Buffer.from([0]),
        rangeEnd: Buffer.alloc(0),
        limit: 1,
        revision: 0,
        sortOrder: 0,
        sortTarget: 0,
        serializable,
        keysOnly: true,
        countOnly: false,
        minModRevision: 0,
        maxModRevision: 0,
        minCreateRevision: 0,
        maxCreateRevision: 0,
      },
      NO_AUTH,
    );
    read.catch(() => {}); // a late failure after the deadline is already reported
    await Promise.race([read, deadline]);
    return ok();
  } catch (e) {
    const g = toGrpcError(e);
    // Without a token the read is refused once auth is on; the server still answered.
    if (g.message === ErrGRPCUserEmpty.message || g.message === ErrGRPCPermissionDenied.message) return ok();
    return bad(`RANGE ERROR:${g.message}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs the checks of one probe in etcd's order; the first failing one gives the reason. */
export async function probe(s: EtcdServerApi, which: Probe, q: URLSearchParams): Promise<HealthResult> {
  const serializable = q.get('serializable') === 'true';
  const excluded = new Set(q.getAll('exclude').filter((a) => a !== ''));
  if (which === '/health' && excluded.size === 0) return s.isHealthy(serializable);
  if (which === '/livez') excluded.add('NOSPACE');
  let h = await checkAlarms(s, excluded);
  if (h.health && which === '/health') h = await checkLeader(s, serializable);
  if (h.health) h = await checkRead(s, serializable);
  return h;
}

export async function serveProbe(x: HttpExchange, s: EtcdServerApi, which: Probe): Promise<void> {
  if (x.method !== 'GET') {
    x.reply(405, { ...TEXT_TYPE, allow: 'GET' }, 'Method Not Allowed\n');
    return;
  }
  let h: HealthResult;
  try {
    h = await probe(s, which, new URL(x.url, 'http://localhost').searchParams);
  } catch (e) {
    h = bad(`RANGE ERROR:${toGrpcError(e).message}`);
  }
  const body = JSON.stringify({ health: h.health ? 'true' : 'false', reason: h.reason });
  // Go's http.Error: an unhealthy answer is sent as text with a trailing newline.
  if (h.health) x.reply(200, { 'content-type': 'text/plain; charset=utf-8' }, body);
  else x.reply(503, TEXT_TYPE, `${body}\n`);
}
