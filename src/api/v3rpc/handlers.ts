// The shape shared by the unary services: handlers keyed by gRPC method name ("Range", "Put"),
// registered on the gRPC server and on the JSON gateway alike.

import type { StreamHandler, UnaryCall } from '../grpc/server.js';

// Handlers are typed per method in each service file; the registry only needs the call shape.
export type UnaryHandlers = Record<string, (req: any, call: UnaryCall) => Promise<unknown>>;

export type StreamHandlers = Record<string, StreamHandler<any, any>>;
