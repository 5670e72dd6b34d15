// End-to-end with Python's etcd3 client (Debian python3-etcd3 on gRPC C-core, whose HTTP/2 differs
// from grpc-go's and node's: HPACK indexing, BDP pings, its own windows): KV, a 1 MiB value, the
// request-size limit, txn, a prefix watch, leases, status and members. The expected lines are those
// real etcd 3.4.23 gives (E2E_SERVER=etcd runs the same against it).

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { Cluster, SERVER, run, withCluster } from '../support/cluster.js';

const PYTHON = '/usr/bin/python3';
const SCRIPT = path.join(path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..'), 'test', 'e2e', 'python', 'etcd3_client.py');
const available = spawnSync(PYTHON, ['-c', 'import etcd3'], { stdio: 'ignore' }).status === 0;

const EXPECTED = `get 1 /py/a 1
prefix /py/a=1,/py/b=2
missing None
big 1048576
huge RESOURCE_EXHAUSTED grpc: received message larger than max (2097167 vs. 2097152)
txn True 10
watch PutEvent:/py/w/1=a PutEvent:/py/w/2=b DeleteEvent:/py/w/1=
lease ttl>0 True keys ['/py/leased']
refresh True
after revoke None
delete prefix 4
status True True
members 1
done
`;

describe(`python etcd3 client e2e (${SERVER})`, () => {
  after(() => Cluster.stopEverything());

  test('KV, large values, txn, watch, lease, status and members', { timeout: 60_000, skip: available ? false : 'python3-etcd3 is not installed' }, () =>
    withCluster({ size: 1 }, async (c) => {
      const [host, port] = c.endpoint(0).split(':');
      const r = await run(PYTHON, [SCRIPT, host!, port!], { timeoutMs: 45_000 });
      assert.equal(r.stdout, EXPECTED, `stderr:\n${r.stderr}\nserver:\n${c.allLogs()}`);
      assert.equal(r.code, 0);
    }),
  );
});
