// End-to-end: the real etcdctl (ETCDCTL_API=3) against a one-member server, one fresh server per command
// family, comparing full transcripts with goldens recorded from real etcd 3.4.23 (E2E_SERVER=etcd,
// E2E_RECORD=<dir>). Transcripts are normalised by test/support/transcript.ts: ports, member/cluster
// IDs, lease IDs, raft term/index, db size, version, timings and etcdctl's client log timestamps become
// placeholders; revisions, keys, values, counts, error texts and gRPC codes are compared exactly.

import { after, describe, test } from 'node:test';
import { Cluster, SERVER, withCluster } from '../support/cluster.js';
import { Session, events, expectTranscript, lines } from '../support/transcript.js';

const T = { timeout: 45_000 };

async function check(name: string, script: (s: Session) => Promise<void>, expected: string): Promise<void> {
  await withCluster({ size: 1 }, async (c) => {
    const s = await Session.open(c);
    await script(s);
    expectTranscript(name, s.text(), expected, () => c.allLogs());
  });
}

describe(`etcdctl e2e (${SERVER})`, () => {
  after(() => Cluster.stopEverything());

  test('put and get: prefix, from-key, limit, sort, rev, keys-only, print-value-only, json', T, () =>
    check(
      'putget',
      async (s) => {
        for (const kv of ['a 1', 'b 2', 'c 3', 'a 11', 'd 4', 'zz 5']) await s.ctl(`put ${kv}`);
        await s.ctl('get a');
        await s.ctl('get a -w json');
        await s.ctl("get --prefix ''");
        await s.ctl('get --prefix a');
        await s.ctl('get --from-key b');
        await s.ctl('get a c');
        await s.ctl("get --prefix '' --limit 2");
        await s.ctl("get --prefix '' --limit 2 -w json");
        await s.ctl("get --prefix '' --sort-by=MODIFY --order=DESCEND");
        await s.ctl("get --prefix '' --sort-by=CREATE --order=ASCEND --limit 3");
        await s.ctl("get --prefix '' --sort-by=VALUE");
        await s.ctl("get --prefix '' --sort-by=VERSION --order=DESCEND");
        await s.ctl("get --prefix '' --order=DESCEND");
        await s.ctl('get a --rev 2');
        await s.ctl("get --prefix '' --rev 4 -w json");
        await s.ctl("get --prefix '' --keys-only");
        await s.ctl("get --prefix '' --keys-only -w json");
        await s.ctl("get --prefix '' --print-value-only");
        await s.ctl('get --from-key c --print-value-only --limit 1');
        await s.ctl('get a -w fields');
        await s.ctl('get --consistency=s a');
        await s.ctl('get nokey');
        await s.ctl('get nokey -w json');
        await s.ctl('get a --rev 100');
        await s.ctl('put --prev-kv a 12');
        await s.ctl('put --prev-kv a 13 -w json');
        await s.ctl('put --prev-kv newkey v -w json');
        await s.ctl('put a --ignore-value');
        await s.ctl('get a -w json');
        await s.ctl('put a x --lease=1234');
        await s.ctl('put vin', { stdin: 'from stdin' });
        await s.ctl('get vin --print-value-only');
      },
      PUTGET,
    ),
  );

  test('del: single, missing, range, prefix, from-key, prev-kv, json', T, () =>
    check(
      'del',
      async (s) => {
        for (const kv of ['a 1', 'b 2', 'c 3', 'k1 v1', 'k2 v2', 'k3 v3', 'p/1 x', 'p/2 y', 'z 9']) await s.ctl(`put ${kv}`);
        await s.ctl('del a');
        await s.ctl('del a');
        await s.ctl('del nokey -w json');
        await s.ctl('del k1 k3 -w json');
        await s.ctl('del --prefix p/ --prev-kv');
        await s.ctl('put p/3 w');
        await s.ctl('del --prefix p/ --prev-kv -w json');
        await s.ctl('del --from-key k');
        await s.ctl("get --prefix ''");
        await s.ctl('del b --prev-kv');
        await s.ctl("get --prefix '' -w json");
      },
      DEL,
    ),
  );

  test('txn: interactive and piped stdin, success and failure branches, json, errors', T, () =>
    check(
      'txn',
      async (s) => {
        await s.ctl('put t1 a');
        await s.ctl('txn -i', { stdin: 'value("t1") = "a"\n\nput t1 b\nput t2 c\n\nget t1\n\n' });
        await s.ctl('txn -i', { stdin: 'value("t1") = "a"\n\nput t1 x\n\nget t1\nget t2\n\n' });
        await s.ctl('txn', { stdin: 'value("t1") = "b"\nversion("t2") = "1"\n\ndel t2 --prev-kv\nget t --prefix\n\n\n' });
        await s.ctl('txn -w json', {
          stdin: 'mod("t1") > "0"\ncreate("t3") = "0"\n\nput t3 x\nput t1 y --prev-kv\nget t --prefix --keys-only\n\n\n',
        });
        await s.ctl('txn -w json', { stdin: 'value("t1") = "zz"\n\nput never x\n\nget t1 --print-value-only\ndel nokey\n\n' });
        await s.ctl('txn', { stdin: 'create("t1") < "100"\n\nget t1 --rev=2\n\n\n' });
        await s.ctl('txn', { stdin: 'value("t1") > "a"\nmod("t3") = "4"\n\n\n\n' });
        await s.ctl('txn', { stdin: '\nput empty cmp\n\n\n' });
        await s.ctl('txn', { stdin: 'bogus\n\n\n' });
        await s.ctl("get --prefix ''");
      },
      TXN,
    ),
  );

  test('watch: --rev history, live events, --prefix, --prev-kv, range, json', T, () =>
    check(
      'watch',
      async (s) => {
        for (const kv of ['w1 a', 'w1 b', 'w2 c', 'x 1']) await s.ctl(`put ${kv}`);
        await s.ctl('del w2');
        await s.end(s.start('watch --rev=1 w1'), events(2));
        await s.end(s.start('watch --rev=1 --prefix w --prev-kv'), events(4));
        await s.end(s.start('watch --rev=3 w1 w3'), events(3));
        await s.end(s.start('watch --rev=2 --prefix w -w json'), lines(1));
        // Live: the watches start at the next revision, so they see the puts whenever they register.
        // The JSON one shows response batching, so it must have delivered revision 7 before the rest.
        const live = s.start('watch --rev=7 --prefix w --prev-kv');
        const liveJson = s.start('watch --rev=7 w1 -w json');
        await s.ctl('put w1 c');
        await liveJson.proc.waitFor(lines(1));
        await s.ctl('put y 2');
        await s.ctl('put w3 d');
        await s.ctl('del w1');
        await s.end(live, events(3));
        await s.end(liveJson, lines(2));
      },
      WATCH,
    ),
  );

  test('lease: grant, list, put --lease, timetolive, keep-alive, revoke, expiry', T, () =>
    check(
      'lease',
      async (s) => {
        await s.ctl('lease grant 100');
        await s.ctl('lease grant 200 -w json');
        await s.ctl('lease list');
        await s.ctl('lease list -w json');
        await s.ctl('put lk v --lease=<LEASE1>');
        await s.ctl('put lk2 v --lease=<LEASE1>');
        await s.ctl('lease timetolive <LEASE1>');
        await s.ctl('lease timetolive <LEASE1> --keys');
        await s.ctl('lease timetolive <LEASE1> --keys -w json');
        await s.ctl('lease keep-alive --once <LEASE1>');
        await s.ctl('lease keep-alive --once <LEASE1> -w json');
        await s.end(s.start('lease keep-alive <LEASE2>'), lines(1));
        await s.ctl('get lk -w json');
        await s.ctl('lease revoke <LEASE1>');
        await s.ctl('get --prefix lk');
        await s.ctl('lease timetolive <LEASE1>');
        await s.ctl('lease timetolive <LEASE1> -w json');
        await s.ctl('lease revoke <LEASE1>');
        await s.ctl('lease keep-alive --once <LEASE1>');
        await s.ctl('lease grant 1');
        await s.ctl('put short v --lease=<LEASE3>');
        // The 1 s lease must expire on its own and take its key with it.
        const deadline = Date.now() + 8000;
        while (Date.now() < deadline) {
          const r = await s.cluster.etcdctl(['get', 'short', '--print-value-only']);
          if (r.code === 0 && r.stdout === '') break;
          await new Promise((res) => setTimeout(res, 200));
        }
        await s.ctl('get short');
        await s.ctl('lease timetolive <LEASE3>');
        await s.ctl('lease list');
        await s.ctl('lease revoke <LEASE2>');
        await s.ctl('lease list');
      },
      LEASE,
    ),
  );

  test('compaction: compact, compacted and future revisions, watch on a compacted revision', T, () =>
    check(
      'compaction',
      async (s) => {
        for (const kv of ['c 1', 'c 2', 'c 3', 'd 1', 'c 4']) await s.ctl(`put ${kv}`);
        await s.ctl('compaction 3');
        await s.ctl('compaction 3');
        await s.ctl('compaction 2');
        await s.ctl('compaction 100');
        await s.ctl('get c --rev 2');
        await s.ctl('get c --rev 3');
        await s.ctl('get c --rev 4 -w json');
        await s.ctl('watch --rev 2 c');
        await s.ctl('watch --rev 1 c -w json');
        await s.end(s.start('watch --rev 3 c'), events(3));
        await s.ctl('compaction --physical 5');
        await s.ctl("get --prefix '' --rev 5");
        await s.ctl("get --prefix '' --rev 4");
        await s.ctl("get --prefix '' -w json");
      },
      COMPACTION,
    ),
  );

  test('endpoint status and health: simple, json, table', T, () =>
    check(
      'endpoint',
      async (s) => {
        await s.ctl('put a 1');
        await s.ctl('endpoint status');
        await s.ctl('endpoint status -w json');
        await s.ctl('endpoint status -w table');
        await s.ctl('endpoint health');
        await s.ctl('endpoint health -w json');
        await s.ctl('endpoint health -w table');
        await s.ctl('endpoint hashkv');
      },
      ENDPOINT,
    ),
  );
});

// Goldens recorded from etcd 3.4.23 with etcdctl 3.4.23.

const PUTGET = `$ etcdctl put a 1
OK
$ etcdctl put b 2
OK
$ etcdctl put c 3
OK
$ etcdctl put a 11
OK
$ etcdctl put d 4
OK
$ etcdctl put zz 5
OK
$ etcdctl get a
a
11
$ etcdctl get a -w json
{"header":{"cluster_id":<CLUSTER>,"member_id":<MEMBER0>,"revision":7,"raft_term":<TERM>},"kvs":[{"key":"YQ==","create_revision":2,"mod_revision":5,"version":2,"value":"MTE="}],"count":1}
$ etcdctl get --prefix ''
a
11
b
2
c
3
d
4
zz
5
$ etcdctl get --prefix a
a
11
$ etcdctl get --from-key b
b
2
c
3
d
4
zz
5
$ etcdctl get a c
a
11
b
2
$ etcdctl get --prefix '' --limit 2
a
11
b
2
$ etcdctl get --prefix '' --limit 2 -w json
{"header":{"cluster_id":<CLUSTER>,"member_id":<MEMBER0>,"revision":7,"raft_term":<TERM>},"kvs":[{"key":"YQ==","create_revision":2,"mod_revision":5,"version":2,"value":"MTE="},{"key":"Yg==","create_revision":3,"mod_revision":3,"version":1,"value":"Mg=="}],"more":true,"count":5}
$ etcdctl get --prefix '' --sort-by=MODIFY --order=DESCEND
zz
5
d
4
a
11
c
3
b
2
$ etcdctl get --prefix '' --sort-by=CREATE --order=ASCEND --limit 3
a
11
b
2
c
3
$ etcdctl get --prefix '' --sort-by=VALUE
a
11
b
2
c
3
d
4
zz
5
$ etcdctl get --prefix '' --sort-by=VERSION --order=DESCEND
a
11
b
2
c
3
d
4
zz
5
$ etcdctl get --prefix '' --order=DESCEND
zz
5
d
4
c
3
b
2
a
11
$ etcdctl get a --rev 2
a
1
$ etcdctl get --prefix '' --rev 4 -w json
{"header":{"cluster_id":<CLUSTER>,"member_id":<MEMBER0>,"revision":7,"raft_term":<TERM>},"kvs":[{"key":"YQ==","create_revision":2,"mod_revision":2,"version":1,"value":"MQ=="},{"key":"Yg==","create_revision":3,"mod_revision":3,"version":1,"value":"Mg=="},{"key":"Yw==","create_revision":4,"mod_revision":4,"version":1,"value":"Mw=="}],"count":3}
$ etcdctl get --prefix '' --keys-only
a

b

c

d

zz

$ etcdctl get --prefix '' --keys-only -w json
{"header":{"cluster_id":<CLUSTER>,"member_id":<MEMBER0>,"revision":7,"raft_term":<TERM>},"kvs":[{"key":"YQ==","create_revision":2,"mod_revision":5,"version":2},{"key":"Yg==","create_revision":3,"mod_revision":3,"version":1},{"key":"Yw==","create_revision":4,"mod_revision":4,"version":1},{"key":"ZA==","create_revision":6,"mod_revision":6,"version":1},{"key":"eno=","create_revision":7,"mod_revision":7,"version":1}],"count":5}
$ etcdctl get --prefix '' --print-value-only
11
2
3
4
5
$ etcdctl get --from-key c --print-value-only --limit 1
3
$ etcdctl get a -w fields
"ClusterID" : <CLUSTER>
"MemberID" : <MEMBER0>
"Revision" : 7
"RaftTerm" : <TERM>
"Key" : "a"
"CreateRevision" : 2
"ModRevision" : 5
"Version" : 2
"Value" : "11"
"Lease" : 0
"More" : false
"Count" : 1
$ etcdctl get --consistency=s a
a
11
$ etcdctl get nokey
$ etcdctl get nokey -w json
{"header":{"cluster_id":<CLUSTER>,"member_id":<MEMBER0>,"revision":7,"raft_term":<TERM>}}
$ etcdctl get a --rev 100
! {"level":"warn","ts":"<TS>","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-<UUID>/<EP0>","attempt":0,"error":"rpc error: code = OutOfRange desc = etcdserver: mvcc: required revision is a future revision"}
! Error: etcdserver: mvcc: required revision is a future revision
(exit 1)
$ etcdctl put --prev-kv a 12
OK
a
11
$ etcdctl put --prev-kv a 13 -w json
{"header":{"cluster_id":<CLUSTER>,"member_id":<MEMBER0>,"revision":9,"raft_term":<TERM>},"prev_kv":{"key":"YQ==","create_revision":2,"mod_revision":8,"version":3,"value":"MTI="}}
$ etcdctl put --prev-kv newkey v -w json
{"header":{"cluster_id":<CLUSTER>,"member_id":<MEMBER0>,"revision":10,"raft_term":<TERM>}}
$ etcdctl put a --ignore-value
OK
$ etcdctl get a -w json
{"header":{"cluster_id":<CLUSTER>,"member_id":<MEMBER0>,"revision":11,"raft_term":<TERM>},"kvs":[{"key":"YQ==","create_revision":2,"mod_revision":11,"version":5,"value":"MTM="}],"count":1}
$ etcdctl put a x --lease=1234
! {"level":"warn","ts":"<TS>","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-<UUID>/<EP0>","attempt":0,"error":"rpc error: code = NotFound desc = etcdserver: requested lease not found"}
! Error: etcdserver: requested lease not found
(exit 1)
$ etcdctl put vin
OK
$ etcdctl get vin --print-value-only
from stdin
`;

const DEL = `$ etcdctl put a 1
OK
$ etcdctl put b 2
OK
$ etcdctl put c 3
OK
$ etcdctl put k1 v1
OK
$ etcdctl put k2 v2
OK
$ etcdctl put k3 v3
OK
$ etcdctl put p/1 x
OK
$ etcdctl put p/2 y
OK
$ etcdctl put z 9
OK
$ etcdctl del a
1
$ etcdctl del a
0
$ etcdctl del nokey -w json
{"header":{"cluster_id":<CLUSTER>,"member_id":<MEMBER0>,"revision":11,"raft_term":<TERM>}}
$ etcdctl del k1 k3 -w json
{"header":{"cluster_id":<CLUSTER>,"member_id":<MEMBER0>,"revision":12,"raft_term":<TERM>},"deleted":2}
$ etcdctl del --prefix p/ --prev-kv
2
p/1
x
p/2
y
$ etcdctl put p/3 w
OK
$ etcdctl del --prefix p/ --prev-kv -w json
{"header":{"cluster_id":<CLUSTER>,"member_id":<MEMBER0>,"revision":15,"raft_term":<TERM>},"deleted":1,"prev_kvs":[{"key":"cC8z","create_revision":14,"mod_revision":14,"version":1,"value":"dw=="}]}
$ etcdctl del --from-key k
2
$ etcdctl get --prefix ''
b
2
c
3
$ etcdctl del b --prev-kv
1
b
2
$ etcdctl get --prefix '' -w json
{"header":{"cluster_id":<CLUSTER>,"member_id":<MEMBER0>,"revision":17,"raft_term":<TERM>},"kvs":[{"key":"Yw==","create_revision":4,"mod_revision":4,"version":1,"value":"Mw=="}],"count":1}
`;

const TXN = `$ etcdctl put t1 a
OK
$ etcdctl txn -i
compares:
success requests (get, put, del):
failure requests (get, put, del):
SUCCESS

OK

OK
$ etcdctl txn -i
compares:
success requests (get, put, del):
failure requests (get, put, del):
FAILURE

t1
b

t2
c
$ etcdctl txn
SUCCESS

1
t2
c

t1
b
$ etcdctl txn -w json
{"header":{"cluster_id":<CLUSTER>,"member_id":<MEMBER0>,"revision":5,"raft_term":<TERM>},"succeeded":true,"responses":[{"Response":{"ResponsePut":{"header":{"revision":5}}}},{"Response":{"ResponsePut":{"header":{"revision":5},"prev_kv":{"key":"dDE=","create_revision":2,"mod_revision":3,"version":2,"value":"Yg=="}}}},{"Response":{"ResponseRange":{"header":{"revision":5},"kvs":[{"key":"dDE=","create_revision":2,"mod_revision":5,"version":3},{"key":"dDM=","create_revision":5,"mod_revision":5,"version":1}],"count":2}}}]}
$ etcdctl txn -w json
{"header":{"cluster_id":<CLUSTER>,"member_id":<MEMBER0>,"revision":5,"raft_term":<TERM>},"responses":[{"Response":{"ResponseRange":{"header":{"revision":5},"kvs":[{"key":"dDE=","create_revision":2,"mod_revision":5,"version":3,"value":"eQ=="}],"count":1}}},{"Response":{"ResponseDeleteRange":{"header":{"revision":5}}}}]}
$ etcdctl txn
SUCCESS

t1
a
$ etcdctl txn
FAILURE
$ etcdctl txn
SUCCESS

OK
$ etcdctl txn
! Error: malformed comparison: bogus
(exit 3)
$ etcdctl get --prefix ''
empty
cmp
t1
y
t3
x
`;

const WATCH = `$ etcdctl put w1 a
OK
$ etcdctl put w1 b
OK
$ etcdctl put w2 c
OK
$ etcdctl put x 1
OK
$ etcdctl del w2
1
$ etcdctl watch --rev=1 w1
PUT
w1
a
PUT
w1
b
$ etcdctl watch --rev=1 --prefix w --prev-kv
PUT
w1
a
PUT
w1
a
w1
b
PUT
w2
c
DELETE
w2
c
w2

$ etcdctl watch --rev=3 w1 w3
PUT
w1
b
PUT
w2
c
DELETE
w2

$ etcdctl watch --rev=2 --prefix w -w json
{"Header":{"cluster_id":<CLUSTER>,"member_id":<MEMBER0>,"revision":6,"raft_term":<TERM>},"Events":[{"kv":{"key":"dzE=","create_revision":2,"mod_revision":2,"version":1,"value":"YQ=="}},{"kv":{"key":"dzE=","create_revision":2,"mod_revision":3,"version":2,"value":"Yg=="}},{"kv":{"key":"dzI=","create_revision":4,"mod_revision":4,"version":1,"value":"Yw=="}},{"type":1,"kv":{"key":"dzI=","mod_revision":6}}],"CompactRevision":0,"Canceled":false,"Created":false}
$ etcdctl put w1 c
OK
$ etcdctl put y 2
OK
$ etcdctl put w3 d
OK
$ etcdctl del w1
1
$ etcdctl watch --rev=7 --prefix w --prev-kv
PUT
w1
b
w1
c
PUT
w3
d
DELETE
w1
c
w1

$ etcdctl watch --rev=7 w1 -w json
{"Header":{"cluster_id":<CLUSTER>,"member_id":<MEMBER0>,"revision":7,"raft_term":<TERM>},"Events":[{"kv":{"key":"dzE=","create_revision":2,"mod_revision":7,"version":3,"value":"Yw=="}}],"CompactRevision":0,"Canceled":false,"Created":false}
{"Header":{"cluster_id":<CLUSTER>,"member_id":<MEMBER0>,"revision":10,"raft_term":<TERM>},"Events":[{"type":1,"kv":{"key":"dzE=","mod_revision":10}}],"CompactRevision":0,"Canceled":false,"Created":false}
`;

const LEASE = `$ etcdctl lease grant 100
lease <LEASE1> granted with TTL(100s)
$ etcdctl lease grant 200 -w json
{"cluster_id":<CLUSTER>,"member_id":<MEMBER0>,"revision":1,"raft_term":<TERM>,"ID":<LEASE2>,"TTL":200,"Error":""}
$ etcdctl lease list
found 2 leases
<LEASE1>
<LEASE2>
$ etcdctl lease list -w json
{"cluster_id":<CLUSTER>,"member_id":<MEMBER0>,"revision":1,"raft_term":<TERM>,"leases":[{"id":<LEASE1>},{"id":<LEASE2>}]}
$ etcdctl put lk v --lease=<LEASE1>
OK
$ etcdctl put lk2 v --lease=<LEASE1>
OK
$ etcdctl lease timetolive <LEASE1>
lease <LEASE1> granted with TTL(100s), remaining(<REM>s)
$ etcdctl lease timetolive <LEASE1> --keys
lease <LEASE1> granted with TTL(100s), remaining(<REM>s), attached keys([lk lk2])
$ etcdctl lease timetolive <LEASE1> --keys -w json
{"cluster_id":<CLUSTER>,"member_id":<MEMBER0>,"revision":3,"raft_term":<TERM>,"id":<LEASE1>,"ttl":<REM>,"granted-ttl":100,"keys":["bGs=","bGsy"]}
$ etcdctl lease keep-alive --once <LEASE1>
lease <LEASE1> keepalived with TTL(100)
$ etcdctl lease keep-alive --once <LEASE1> -w json
{"cluster_id":<CLUSTER>,"member_id":<MEMBER0>,"revision":3,"raft_term":<TERM>,"ID":<LEASE1>,"TTL":100}
$ etcdctl lease keep-alive <LEASE2>
lease <LEASE2> keepalived with TTL(200)
$ etcdctl get lk -w json
{"header":{"cluster_id":<CLUSTER>,"member_id":<MEMBER0>,"revision":3,"raft_term":<TERM>},"kvs":[{"key":"bGs=","create_revision":2,"mod_revision":2,"version":1,"value":"dg==","lease":<LEASE1>}],"count":1}
$ etcdctl lease revoke <LEASE1>
lease <LEASE1> revoked
$ etcdctl get --prefix lk
$ etcdctl lease timetolive <LEASE1>
lease <LEASE1> already expired
$ etcdctl lease timetolive <LEASE1> -w json
{"cluster_id":<CLUSTER>,"member_id":<MEMBER0>,"revision":4,"raft_term":<TERM>,"id":<LEASE1>,"ttl":-1,"granted-ttl":0,"keys":null}
$ etcdctl lease revoke <LEASE1>
! {"level":"warn","ts":"<TS>","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-<UUID>/<EP0>","attempt":0,"error":"rpc error: code = NotFound desc = etcdserver: requested lease not found"}
! Error: failed to revoke lease (etcdserver: requested lease not found)
(exit 1)
$ etcdctl lease keep-alive --once <LEASE1>
! Error: etcdserver: requested lease not found
(exit 2)
$ etcdctl lease grant 1
lease <LEASE3> granted with TTL(1s)
$ etcdctl put short v --lease=<LEASE3>
OK
$ etcdctl get short
$ etcdctl lease timetolive <LEASE3>
lease <LEASE3> already expired
$ etcdctl lease list
found 1 leases
<LEASE2>
$ etcdctl lease revoke <LEASE2>
lease <LEASE2> revoked
$ etcdctl lease list
found 0 leases
`;

const COMPACTION = `$ etcdctl put c 1
OK
$ etcdctl put c 2
OK
$ etcdctl put c 3
OK
$ etcdctl put d 1
OK
$ etcdctl put c 4
OK
$ etcdctl compaction 3
compacted revision 3
$ etcdctl compaction 3
! {"level":"warn","ts":"<TS>","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-<UUID>/<EP0>","attempt":0,"error":"rpc error: code = OutOfRange desc = etcdserver: mvcc: required revision has been compacted"}
! Error: etcdserver: mvcc: required revision has been compacted
(exit 1)
$ etcdctl compaction 2
! {"level":"warn","ts":"<TS>","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-<UUID>/<EP0>","attempt":0,"error":"rpc error: code = OutOfRange desc = etcdserver: mvcc: required revision has been compacted"}
! Error: etcdserver: mvcc: required revision has been compacted
(exit 1)
$ etcdctl compaction 100
! {"level":"warn","ts":"<TS>","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-<UUID>/<EP0>","attempt":0,"error":"rpc error: code = OutOfRange desc = etcdserver: mvcc: required revision is a future revision"}
! Error: etcdserver: mvcc: required revision is a future revision
(exit 1)
$ etcdctl get c --rev 2
! {"level":"warn","ts":"<TS>","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-<UUID>/<EP0>","attempt":0,"error":"rpc error: code = OutOfRange desc = etcdserver: mvcc: required revision has been compacted"}
! Error: etcdserver: mvcc: required revision has been compacted
(exit 1)
$ etcdctl get c --rev 3
c
2
$ etcdctl get c --rev 4 -w json
{"header":{"cluster_id":<CLUSTER>,"member_id":<MEMBER0>,"revision":6,"raft_term":<TERM>},"kvs":[{"key":"Yw==","create_revision":2,"mod_revision":4,"version":3,"value":"Mw=="}],"count":1}
$ etcdctl watch --rev 2 c
! watch was canceled (etcdserver: mvcc: required revision has been compacted)
! Error: watch is canceled by the server
(exit 5)
$ etcdctl watch --rev 1 c -w json
{"Header":{"cluster_id":<CLUSTER>,"member_id":<MEMBER0>,"raft_term":<TERM>},"Events":[],"CompactRevision":3,"Canceled":true,"Created":false}
! watch was canceled (etcdserver: mvcc: required revision has been compacted)
! Error: watch is canceled by the server
(exit 5)
$ etcdctl watch --rev 3 c
PUT
c
2
PUT
c
3
PUT
c
4
$ etcdctl compaction --physical 5
compacted revision 5
$ etcdctl get --prefix '' --rev 5
c
3
d
1
$ etcdctl get --prefix '' --rev 4
! {"level":"warn","ts":"<TS>","caller":"clientv3/retry_interceptor.go:62","msg":"retrying of unary invoker failed","target":"endpoint://client-<UUID>/<EP0>","attempt":0,"error":"rpc error: code = OutOfRange desc = etcdserver: mvcc: required revision has been compacted"}
! Error: etcdserver: mvcc: required revision has been compacted
(exit 1)
$ etcdctl get --prefix '' -w json
{"header":{"cluster_id":<CLUSTER>,"member_id":<MEMBER0>,"revision":6,"raft_term":<TERM>},"kvs":[{"key":"Yw==","create_revision":2,"mod_revision":6,"version":4,"value":"NA=="},{"key":"ZA==","create_revision":5,"mod_revision":5,"version":1,"value":"MQ=="}],"count":2}
`;

const ENDPOINT = `$ etcdctl put a 1
OK
$ etcdctl endpoint status
<EP0>, <MEMBER0>, <VERSION>, <DBSIZE>, true, false, <TERM>, <raftIndex>, <raftAppliedIndex>, 
$ etcdctl endpoint status -w json
[{"Endpoint":"<EP0>","Status":{"header":{"cluster_id":<CLUSTER>,"member_id":<MEMBER0>,"revision":2,"raft_term":<TERM>},"version":"<VERSION>","dbSize":<dbSize>,"leader":<MEMBER0>,"raftIndex":<raftIndex>,"raftTerm":<TERM>,"raftAppliedIndex":<raftAppliedIndex>,"dbSizeInUse":<dbSizeInUse>}}]
$ etcdctl endpoint status -w table
+---+
| ENDPOINT | ID | VERSION | DB SIZE | IS LEADER | IS LEARNER | RAFT TERM | RAFT INDEX | RAFT APPLIED INDEX | ERRORS |
+---+
| <EP0> | <MEMBER0> | <VERSION> | <DBSIZE> | true | false | <TERM> | <raftIndex> | <raftAppliedIndex> |  |
+---+
$ etcdctl endpoint health
! <EP0> is healthy: successfully committed proposal: took = <TOOK>
$ etcdctl endpoint health -w json
[{"endpoint":"<EP0>","health":true,"took":"<TOOK>"}]
$ etcdctl endpoint health -w table
+---+
| ENDPOINT | HEALTH | TOOK | ERROR |
+---+
| <EP0> | true | <TOOK> |  |
+---+
$ etcdctl endpoint hashkv
<EP0>, 2587454935
`;
