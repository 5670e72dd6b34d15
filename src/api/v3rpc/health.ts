// The gRPC health service (grpc.health.v1.Health) as etcd 3.4 serves it: grpc-go's health server
// with the server-wide service "" SERVING. Check answers a known service's status, or NOT_FOUND
// "unknown service"; Watch sends the current status at once (SERVICE_UNKNOWN for a service not
// known yet) and then each change, skipping repeats, until the client goes away.

import { Code, GrpcError } from '../errors.js';
import type { StreamCall } from '../grpc/server.js';
import { localProto, type LocalProto } from '../proto/schema.js';
import type { StreamHandlers, UnaryHandlers } from './handlers.js';

export const HEALTH_SERVICE = 'grpc.health.v1.Health';

export const ServingStatus = { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } as const;
export type ServingStatus = (typeof ServingStatus)[keyof typeof ServingStatus];

export interface HealthCheckRequest {
  service: string;
}

export interface HealthCheckResponse {
  status: ServingStatus;
}

const ErrUnknownService = new GrpcError(Code.NOT_FOUND, 'unknown service');

/** health.proto's codecs and methods (parsed once, on first use). */
export function healthProto(): LocalProto {
  return localProto('health.proto');
}

export class HealthService {
  private readonly statuses = new Map<string, ServingStatus>([['', ServingStatus.SERVING]]);
  private readonly watchers = new Map<string, Set<(s: ServingStatus) => void>>();
  private shutDown = false;

  /** The status of `service`; undefined when it is not known. */
  status(service: string): ServingStatus | undefined {
    return this.statuses.get(service);
  }

  /** Sets a service's status and tells its watchers; ignored after shutdown() until resume(). */
  setServingStatus(service: string, status: ServingStatus): void {
    if (!this.shutDown) this.set(service, status);
  }

  /** Every service NOT_SERVING, and so it stays until resume(). */
  shutdown(): void {
    this.shutDown = true;
    for (const service of this.statuses.keys()) this.set(service, ServingStatus.NOT_SERVING);
  }

  /** Every service SERVING again; status changes are accepted again. */
  resume(): void {
    this.shutDown = false;
    for (const service of this.statuses.keys()) this.set(service, ServingStatus.SERVING);
  }

  /** Watchers of `service` (for tests and metrics). */
  watcherCount(service = ''): number {
    return this.watchers.get(service)?.size ?? 0;
  }

  private set(service: string, status: ServingStatus): void {
    this.statuses.set(service, status);
    const ws = this.watchers.get(service);
    if (ws !== undefined) for (const w of [...ws]) w(status);
  }

  unaryHandlers(): UnaryHandlers {
    return {
      Check: async (req: HealthCheckRequest): Promise<HealthCheckResponse> => {
        const status = this.statuses.get(req.service);
        if (status === undefined) throw ErrUnknownService;
        return { status };
      },
    };
  }

  streamHandlers(): StreamHandlers {
    return {
      Watch: (call: StreamCall<HealthCheckRequest, HealthCheckResponse>) => {
        call.onMessage = (req) => this.watch(req.service, call);
      },
    };
  }

  private watch(service: string, call: StreamCall<HealthCheckRequest, HealthCheckResponse>): void {
    let last = -1;
    const send = (status: ServingStatus): void => {
      if (status === last) return;
      last = status;
      if (!call.write({ status })) remove();
    };
    let ws = this.watchers.get(service);
    if (ws === undefined) this.watchers.set(service, (ws = new Set()));
    const set = ws;
    const remove = (): void => {
      set.delete(send);
      if (set.size === 0 && this.watchers.get(service) === set) this.watchers.delete(service);
    };
    set.add(send);
    call.onCancel = remove;
    send(this.statuses.get(service) ?? ServingStatus.SERVICE_UNKNOWN);
  }
}
