// End-to-end auth with the real etcdctl (ETCDCTL_API=3) against a one-member server: users, roles,
// permissions, auth enable/disable and enforcement (permitted reads and writes succeed, others get
// "permission denied", bad passwords and missing credentials are refused). Full transcripts are
// compared with goldens recorded from real etcd 3.4.23 (E2E_SERVER=etcd, E2E_RECORD=<dir>), as in
// etcdctl.test.ts.

import { after, describe, test } from 'node:test';
import { Cluster, SERVER, sleep, withCluster } from '../support/cluster.js';
import { Session, events, expectTranscript } from '../support/transcript.js';

const T = { timeout: 55_000 };

async function check(name: string, script: (s: Session) => Promise<void>, expected: string): Promise<void> {
  await withCluster({ size: 1 }, async (c) => {
    const s = await Session.open(c);
    await script(s);
    expectTranscript(name, s.text(), expected, () => c.allLogs());
  });
}

const ROOT = '--user root:rootpw';
const ALICE = '--user alice:alicepw';

describe(`etcdctl auth e2e (${SERVER})`, () => {
  after(() => Cluster.stopEverything());

  test('users, roles and permissions; enable; enforcement; disable', T, () =>
    check(
      'auth',
      async (s) => {
        await s.ctl('user add root:rootpw');
        await s.ctl('user add alice:alicepw');
        await s.ctl('user add alice:again');
        await s.ctl('role add reader');
        await s.ctl('role grant-permission reader read foo');
        await s.ctl('role add rw');
        await s.ctl('role grant-permission --prefix=true rw readwrite dir/');
        await s.ctl('role get rw');
        await s.ctl('user grant-role alice rw');
        await s.ctl('user grant-role alice nosuchrole');
        await s.ctl('user get alice');
        await s.ctl('user list');
        await s.ctl('role list');
        await s.ctl('put foo v0');
        await s.ctl('auth enable');
        // Without credentials, with wrong ones, and with a user's own rights.
        await s.ctl('get foo');
        await s.ctl('put foo v1');
        await s.ctl(`${ROOT} put foo v1`);
        await s.ctl(`${ALICE} put dir/a 1`);
        await s.ctl(`${ALICE} put dir/b 2`);
        await s.ctl(`${ALICE} get dir/a`);
        await s.ctl(`${ALICE} get --prefix dir/ -w json`);
        await s.ctl(`${ALICE} put foo x`);
        await s.ctl(`${ALICE} get foo`);
        await s.ctl(`${ALICE} get --prefix ''`);
        await s.ctl(`${ALICE} del foo`);
        await s.ctl('--user alice:wrong get dir/a');
        await s.ctl('--user nobody:pw get dir/a');
        await s.ctl(`${ALICE} txn`, { stdin: 'value("dir/a") = "1"\n\nput dir/c 3\n\nput dir/d 4\n\n' });
        await s.ctl(`${ALICE} txn`, { stdin: 'value("foo") = "v1"\n\nput dir/e 5\n\n\n' });
        await s.ctl(`${ALICE} txn`, { stdin: 'value("dir/a") = "1"\n\nput foo x\n\n\n' });
        // Management needs root; a user may read itself and the roles it has.
        await s.ctl(`${ALICE} user list`);
        await s.ctl(`${ALICE} user add bob:bobpw`);
        await s.ctl(`${ALICE} user get alice`);
        await s.ctl(`${ALICE} role get rw`);
        await s.ctl(`${ALICE} role get reader`);
        await s.ctl(`${ALICE} auth disable`);
        await s.ctl(`${ROOT} user grant-role alice reader`);
        await s.ctl(`${ALICE} get foo`);
        await s.ctl(`${ALICE} put foo y`);
        await s.ctl(`${ROOT} role revoke-permission rw dir/ --prefix=true`);
        await s.ctl(`${ALICE} put dir/f 6`);
        await s.ctl(`${ROOT} role get rw`);
        await s.ctl(`${ROOT} user revoke-role alice reader`);
        await s.ctl(`${ALICE} get foo`);
        await s.ctl(`${ROOT} user revoke-role root root`);
        await s.ctl(`${ROOT} user delete root`);
        await s.ctl(`${ROOT} role delete reader`);
        await s.ctl(`${ROOT} role list -w json`);
        await s.ctl(`${ROOT} user passwd alice --interactive=false`, { stdin: 'newpw\n' });
        await s.ctl(`${ALICE} get dir/a`);
        await s.ctl('--user alice:newpw user get alice');
        await s.ctl('--user alice:newpw get dir/a --print-value-only');
        await s.ctl(`${ROOT} user delete alice`);
        await s.ctl('--user alice:newpw get dir/a');
        await s.ctl(`${ROOT} get --prefix '' --keys-only`);
        await s.ctl(`${ROOT} auth disable`);
        await s.ctl('get foo');
        await s.ctl('put foo z');
        await s.ctl('user list');
        await s.ctl('auth disable');
      },
      AUTH,
    ),
  );

  test('watch needs read permission on the watched range', T, () =>
    check(
      'authwatch',
      async (s) => {
        await s.ctl('user add root:rootpw');
        await s.ctl('user add alice:alicepw');
        await s.ctl('role add rw');
        await s.ctl('role grant-permission --prefix=true rw readwrite dir/');
        await s.ctl('user grant-role alice rw');
        await s.ctl('auth enable');
        await s.ctl(`${ALICE} watch foo`, { timeoutMs: 3000 });
        await s.ctl(`${ALICE} watch --prefix ''`, { timeoutMs: 3000 });
        const w = s.start(`${ALICE} watch --prefix dir/`);
        await sleep(1500);
        await s.ctl(`${ALICE} put dir/a 1`);
        await s.end(w, events(1));
      },
      AUTHWATCH,
    ),
  );
});

const AUTHWATCH = `$ etcdctl user add root:rootpw
User root created
$ etcdctl user add alice:alicepw
User alice created
$ etcdctl role add rw
Role rw created
$ etcdctl role grant-permission --prefix=true rw readwrite dir/
Role rw updated
$ etcdctl user grant-role alice rw
Role rw is granted to user alice
$ etcdctl auth enable
Authentication Enabled
! {"level":"warn","ts":"<TS>","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-<UUID>/<EP0>","attempt":0,"error":"rpc error: code = FailedPrecondition desc = etcdserver: root user does not have root role"}
$ etcdctl --user alice:alicepw watch foo
! watch was canceled (rpc error: code = PermissionDenied desc = etcdserver: permission denied)
! Error: watch is canceled by the server
(exit 5)
$ etcdctl --user alice:alicepw watch --prefix ''
! watch was canceled (rpc error: code = PermissionDenied desc = etcdserver: permission denied)
! Error: watch is canceled by the server
(exit 5)
$ etcdctl --user alice:alicepw put dir/a 1
OK
$ etcdctl --user alice:alicepw watch --prefix dir/
PUT
dir/a
1
`;

const AUTH = `$ etcdctl user add root:rootpw
User root created
$ etcdctl user add alice:alicepw
User alice created
$ etcdctl user add alice:again
! {"level":"warn","ts":"<TS>","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-<UUID>/<EP0>","attempt":0,"error":"rpc error: code = FailedPrecondition desc = etcdserver: user name already exists"}
! Error: etcdserver: user name already exists
(exit 1)
$ etcdctl role add reader
Role reader created
$ etcdctl role grant-permission reader read foo
Role reader updated
$ etcdctl role add rw
Role rw created
$ etcdctl role grant-permission --prefix=true rw readwrite dir/
Role rw updated
$ etcdctl role get rw
Role rw
KV Read:
	[dir/, dir0) (prefix dir/)
KV Write:
	[dir/, dir0) (prefix dir/)
$ etcdctl user grant-role alice rw
Role rw is granted to user alice
$ etcdctl user grant-role alice nosuchrole
! {"level":"warn","ts":"<TS>","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-<UUID>/<EP0>","attempt":0,"error":"rpc error: code = FailedPrecondition desc = etcdserver: role name not found"}
! Error: etcdserver: role name not found
(exit 1)
$ etcdctl user get alice
User: alice
Roles: rw
$ etcdctl user list
alice
root
$ etcdctl role list
reader
rw
$ etcdctl put foo v0
OK
$ etcdctl auth enable
Authentication Enabled
! {"level":"warn","ts":"<TS>","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-<UUID>/<EP0>","attempt":0,"error":"rpc error: code = FailedPrecondition desc = etcdserver: root user does not have root role"}
$ etcdctl get foo
! {"level":"warn","ts":"<TS>","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-<UUID>/<EP0>","attempt":0,"error":"rpc error: code = InvalidArgument desc = etcdserver: user name is empty"}
! Error: etcdserver: user name is empty
(exit 1)
$ etcdctl put foo v1
! {"level":"warn","ts":"<TS>","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-<UUID>/<EP0>","attempt":0,"error":"rpc error: code = InvalidArgument desc = etcdserver: user name is empty"}
! Error: etcdserver: user name is empty
(exit 1)
$ etcdctl --user root:rootpw put foo v1
OK
$ etcdctl --user alice:alicepw put dir/a 1
OK
$ etcdctl --user alice:alicepw put dir/b 2
OK
$ etcdctl --user alice:alicepw get dir/a
dir/a
1
$ etcdctl --user alice:alicepw get --prefix dir/ -w json
{"header":{"cluster_id":<CLUSTER>,"member_id":<MEMBER0>,"revision":5,"raft_term":<TERM>},"kvs":[{"key":"ZGlyL2E=","create_revision":4,"mod_revision":4,"version":1,"value":"MQ=="},{"key":"ZGlyL2I=","create_revision":5,"mod_revision":5,"version":1,"value":"Mg=="}],"count":2}
$ etcdctl --user alice:alicepw put foo x
! {"level":"warn","ts":"<TS>","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-<UUID>/<EP0>","attempt":0,"error":"rpc error: code = PermissionDenied desc = etcdserver: permission denied"}
! Error: etcdserver: permission denied
(exit 1)
$ etcdctl --user alice:alicepw get foo
! {"level":"warn","ts":"<TS>","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-<UUID>/<EP0>","attempt":0,"error":"rpc error: code = PermissionDenied desc = etcdserver: permission denied"}
! Error: etcdserver: permission denied
(exit 1)
$ etcdctl --user alice:alicepw get --prefix ''
! {"level":"warn","ts":"<TS>","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-<UUID>/<EP0>","attempt":0,"error":"rpc error: code = PermissionDenied desc = etcdserver: permission denied"}
! Error: etcdserver: permission denied
(exit 1)
$ etcdctl --user alice:alicepw del foo
! {"level":"warn","ts":"<TS>","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-<UUID>/<EP0>","attempt":0,"error":"rpc error: code = PermissionDenied desc = etcdserver: permission denied"}
! Error: etcdserver: permission denied
(exit 1)
$ etcdctl --user alice:wrong get dir/a
! {"level":"warn","ts":"<TS>","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-<UUID>/<EP0>","attempt":0,"error":"rpc error: code = InvalidArgument desc = etcdserver: authentication failed, invalid user ID or password"}
! Error: etcdserver: authentication failed, invalid user ID or password
(exit 2)
$ etcdctl --user nobody:pw get dir/a
! {"level":"warn","ts":"<TS>","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-<UUID>/<EP0>","attempt":0,"error":"rpc error: code = InvalidArgument desc = etcdserver: authentication failed, invalid user ID or password"}
! Error: etcdserver: authentication failed, invalid user ID or password
(exit 2)
$ etcdctl --user alice:alicepw txn
SUCCESS

OK
$ etcdctl --user alice:alicepw txn
! {"level":"warn","ts":"<TS>","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-<UUID>/<EP0>","attempt":0,"error":"rpc error: code = PermissionDenied desc = etcdserver: permission denied"}
! Error: etcdserver: permission denied
(exit 1)
$ etcdctl --user alice:alicepw txn
! {"level":"warn","ts":"<TS>","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-<UUID>/<EP0>","attempt":0,"error":"rpc error: code = PermissionDenied desc = etcdserver: permission denied"}
! Error: etcdserver: permission denied
(exit 1)
$ etcdctl --user alice:alicepw user list
! {"level":"warn","ts":"<TS>","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-<UUID>/<EP0>","attempt":0,"error":"rpc error: code = PermissionDenied desc = etcdserver: permission denied"}
! Error: etcdserver: permission denied
(exit 1)
$ etcdctl --user alice:alicepw user add bob:bobpw
! {"level":"warn","ts":"<TS>","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-<UUID>/<EP0>","attempt":0,"error":"rpc error: code = PermissionDenied desc = etcdserver: permission denied"}
! Error: etcdserver: permission denied
(exit 1)
$ etcdctl --user alice:alicepw user get alice
User: alice
Roles: rw
$ etcdctl --user alice:alicepw role get rw
Role rw
KV Read:
	[dir/, dir0) (prefix dir/)
KV Write:
	[dir/, dir0) (prefix dir/)
$ etcdctl --user alice:alicepw role get reader
! {"level":"warn","ts":"<TS>","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-<UUID>/<EP0>","attempt":0,"error":"rpc error: code = PermissionDenied desc = etcdserver: permission denied"}
! Error: etcdserver: permission denied
(exit 1)
$ etcdctl --user alice:alicepw auth disable
! {"level":"warn","ts":"<TS>","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-<UUID>/<EP0>","attempt":0,"error":"rpc error: code = PermissionDenied desc = etcdserver: permission denied"}
! Error: etcdserver: permission denied
(exit 1)
$ etcdctl --user root:rootpw user grant-role alice reader
Role reader is granted to user alice
$ etcdctl --user alice:alicepw get foo
foo
v1
$ etcdctl --user alice:alicepw put foo y
! {"level":"warn","ts":"<TS>","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-<UUID>/<EP0>","attempt":0,"error":"rpc error: code = PermissionDenied desc = etcdserver: permission denied"}
! Error: etcdserver: permission denied
(exit 1)
$ etcdctl --user root:rootpw role revoke-permission rw dir/ --prefix=true
Permission of range [dir/, dir0) is revoked from role rw
$ etcdctl --user alice:alicepw put dir/f 6
! {"level":"warn","ts":"<TS>","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-<UUID>/<EP0>","attempt":0,"error":"rpc error: code = PermissionDenied desc = etcdserver: permission denied"}
! Error: etcdserver: permission denied
(exit 1)
$ etcdctl --user root:rootpw role get rw
Role rw
KV Read:
KV Write:
$ etcdctl --user root:rootpw user revoke-role alice reader
Role reader is revoked from user alice
$ etcdctl --user alice:alicepw get foo
! {"level":"warn","ts":"<TS>","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-<UUID>/<EP0>","attempt":0,"error":"rpc error: code = PermissionDenied desc = etcdserver: permission denied"}
! Error: etcdserver: permission denied
(exit 1)
$ etcdctl --user root:rootpw user revoke-role root root
! {"level":"warn","ts":"<TS>","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-<UUID>/<EP0>","attempt":0,"error":"rpc error: code = InvalidArgument desc = etcdserver: invalid auth management"}
! Error: etcdserver: invalid auth management
(exit 1)
$ etcdctl --user root:rootpw user delete root
! {"level":"warn","ts":"<TS>","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-<UUID>/<EP0>","attempt":0,"error":"rpc error: code = InvalidArgument desc = etcdserver: invalid auth management"}
! Error: etcdserver: invalid auth management
(exit 1)
$ etcdctl --user root:rootpw role delete reader
Role reader deleted
$ etcdctl --user root:rootpw role list -w json
{"header":{"cluster_id":<CLUSTER>,"member_id":<MEMBER0>,"revision":6,"raft_term":<TERM>},"roles":["root","rw"]}
$ etcdctl --user root:rootpw user passwd alice --interactive=false
Password updated
$ etcdctl --user alice:alicepw get dir/a
! {"level":"warn","ts":"<TS>","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-<UUID>/<EP0>","attempt":0,"error":"rpc error: code = InvalidArgument desc = etcdserver: authentication failed, invalid user ID or password"}
! Error: etcdserver: authentication failed, invalid user ID or password
(exit 2)
$ etcdctl --user alice:newpw user get alice
User: alice
Roles: rw
$ etcdctl --user alice:newpw get dir/a --print-value-only
! {"level":"warn","ts":"<TS>","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-<UUID>/<EP0>","attempt":0,"error":"rpc error: code = PermissionDenied desc = etcdserver: permission denied"}
! Error: etcdserver: permission denied
(exit 1)
$ etcdctl --user root:rootpw user delete alice
User alice deleted
$ etcdctl --user alice:newpw get dir/a
! {"level":"warn","ts":"<TS>","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-<UUID>/<EP0>","attempt":0,"error":"rpc error: code = InvalidArgument desc = etcdserver: authentication failed, invalid user ID or password"}
! Error: etcdserver: authentication failed, invalid user ID or password
(exit 2)
$ etcdctl --user root:rootpw get --prefix '' --keys-only
dir/a

dir/b

dir/c

foo

$ etcdctl --user root:rootpw auth disable
Authentication Disabled
$ etcdctl get foo
foo
v1
$ etcdctl put foo z
OK
$ etcdctl user list
root
$ etcdctl auth disable
Authentication Disabled
`;
