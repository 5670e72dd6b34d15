# Drives a server with Python's etcd3 client (Debian python3-etcd3, gRPC C-core underneath) and
# prints one line per observation; test/e2e/python.test.ts compares the lines. Usage:
#   etcd3_client.py <host> <port>
import sys
import threading

import etcd3

host, port = sys.argv[1], int(sys.argv[2])
c = etcd3.client(host=host, port=port, timeout=10)


def out(*parts):
    print(' '.join(str(p) for p in parts), flush=True)


c.put('/py/a', '1')
c.put('/py/b', '2')
value, meta = c.get('/py/a')
out('get', value.decode(), meta.key.decode(), meta.version)
out('prefix', ','.join(f'{m.key.decode()}={v.decode()}' for v, m in c.get_prefix('/py/')))
out('missing', c.get('/py/none')[0])

# A value of 3 MiB would exceed --max-request-bytes; 1 MiB crosses many frames and windows.
big = 'x' * (1 << 20)
c.put('/py/big', big)
out('big', len(c.get('/py/big')[0]))
try:
    c.put('/py/huge', 'y' * (2 << 20))
    out('huge', 'accepted')
except Exception as e:  # grpc.RpcError
    out('huge', e.code().name, e.details())

ok, responses = c.transaction(
    compare=[c.transactions.value('/py/a') == '1'],
    success=[c.transactions.put('/py/a', '10')],
    failure=[c.transactions.get('/py/a')],
)
out('txn', ok, c.get('/py/a')[0].decode())

events = []
done = threading.Event()


def on_event(resp):
    for ev in resp.events:
        events.append(f'{type(ev).__name__}:{ev.key.decode()}={ev.value.decode()}')
    if len(events) >= 3:
        done.set()


wid = c.add_watch_prefix_callback('/py/w/', on_event)
c.put('/py/w/1', 'a')
c.put('/py/w/2', 'b')
c.delete('/py/w/1')
done.wait(10)
c.cancel_watch(wid)
out('watch', ' '.join(events))

lease = c.lease(30)
c.put('/py/leased', 'v', lease=lease)
out('lease ttl>0', lease.remaining_ttl > 0, 'keys', [k.decode() for k in lease.keys])
out('refresh', lease.refresh()[0].TTL > 0)
lease.revoke()
out('after revoke', c.get('/py/leased')[0])

out('delete prefix', c.delete_prefix('/py/').deleted)
status = c.status()
out('status', status.leader is not None, status.db_size > 0)
out('members', len(list(c.members)))
c.close()
out('done')
