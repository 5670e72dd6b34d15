// The plain HTTP endpoints etcd serves on the client URL besides the health probes (health.ts):
// /version ({"etcdserver":..,"etcdcluster":..}) and /metrics (a Prometheus registry, when one is
// given). Unknown paths get Go's 404 text.

import type { EtcdServerApi } from '../types.js';
import type { HttpExchange } from './exchange.js';
import { serveProbe } from './health.js';

/** What /metrics needs of a prom-client Registry. */
export interface MetricsSource {
  readonly contentType: string;
  metrics(): Promise<string>;
}

const JSON_TYPE = { 'content-type': 'application/json' };
const TEXT_TYPE = { 'content-type': 'text/plain; charset=utf-8' };

export function notFound(x: HttpExchange): void {
  x.reply(404, { ...TEXT_TYPE, 'x-content-type-options': 'nosniff' }, '404 page not found\n');
}

function methodNotAllowed(x: HttpExchange, allow: string): void {
  x.reply(405, { ...TEXT_TYPE, allow }, 'Method Not Allowed\n');
}

/** /health (kept here for the metrics listener, which serves it too). */
export function serveHealth(x: HttpExchange, s: EtcdServerApi): Promise<void> {
  return serveProbe(x, s, '/health');
}

export function serveVersion(x: HttpExchange, s: EtcdServerApi): void {
  if (x.method !== 'GET' && x.method !== 'HEAD') return methodNotAllowed(x, 'GET, HEAD');
  const v = s.versions();
  x.reply(200, JSON_TYPE, JSON.stringify({ etcdserver: v.server, etcdcluster: v.cluster }));
}

export async function serveMetrics(x: HttpExchange, m: MetricsSource | undefined): Promise<void> {
  if (m === undefined) return notFound(x);
  if (x.method !== 'GET') return methodNotAllowed(x, 'GET');
  x.reply(200, { 'content-type': m.contentType }, await m.metrics());
}
