// The Auth service (etcd's v3rpc/auth.go): each gRPC method passes its request and the caller's
// credentials to the server's Authenticator and completes the response header. The same handlers
// serve the JSON gateway's /v3/auth/* routes.

import type { UnaryCall } from '../grpc/server.js';
import type { AuthPermission, AuthServerApi, EtcdServerApi, ResponseHeader } from '../types.js';
import type { UnaryHandlers } from './handlers.js';
import { withHeader } from './header.js';

interface Named {
  name: string;
}

export function authHandlers(s: EtcdServerApi, a: AuthServerApi): UnaryHandlers {
  // Every response carries a header with the server's IDs, term and current revision.
  const done = async <T extends { header?: ResponseHeader }>(p: Promise<T>): Promise<T> => withHeader(await p, s);
  return {
    AuthEnable: (_r: unknown, c: UnaryCall) => done(a.authEnable(c.ctx)),
    AuthDisable: (_r: unknown, c: UnaryCall) => done(a.authDisable(c.ctx)),
    AuthStatus: (_r: unknown, c: UnaryCall) => done(a.authStatus(c.ctx)),
    Authenticate: (r: { name: string; password: string }, c: UnaryCall) => done(a.authenticate(r, c.ctx)),
    UserAdd: (r: { name: string; password: string; options?: { noPassword: boolean } | null }, c: UnaryCall) =>
      done(a.userAdd(r, c.ctx)),
    UserGet: (r: Named, c: UnaryCall) => done(a.userGet(r, c.ctx)),
    UserList: (_r: unknown, c: UnaryCall) => done(a.userList(c.ctx)),
    UserDelete: (r: Named, c: UnaryCall) => done(a.userDelete(r, c.ctx)),
    UserChangePassword: (r: { name: string; password: string }, c: UnaryCall) => done(a.userChangePassword(r, c.ctx)),
    UserGrantRole: (r: { user: string; role: string }, c: UnaryCall) => done(a.userGrantRole(r, c.ctx)),
    UserRevokeRole: (r: { name: string; role: string }, c: UnaryCall) => done(a.userRevokeRole(r, c.ctx)),
    RoleAdd: (r: Named, c: UnaryCall) => done(a.roleAdd(r, c.ctx)),
    RoleGet: (r: { role: string }, c: UnaryCall) => done(a.roleGet(r, c.ctx)),
    RoleList: (_r: unknown, c: UnaryCall) => done(a.roleList(c.ctx)),
    RoleDelete: (r: { role: string }, c: UnaryCall) => done(a.roleDelete(r, c.ctx)),
    RoleGrantPermission: (r: { name: string; perm?: AuthPermission | null }, c: UnaryCall) =>
      done(a.roleGrantPermission(r, c.ctx)),
    RoleRevokePermission: (r: { role: string; key: Buffer; rangeEnd: Buffer }, c: UnaryCall) =>
      done(a.roleRevokePermission(r, c.ctx)),
  };
}
