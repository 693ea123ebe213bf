"""A Paranoid Pirate queue in pyzmq (libzmq), used to test the chaos kit against a user-supplied program.

usage: ppp_queue.py FRONTEND BACKEND HEARTBEAT_MS LIVENESS
Workers are tracked as available (LRU) or busy, each with its own expiry; heartbeats only refresh expiry.
"""
import sys
import time
from collections import OrderedDict

import zmq

READY, HEARTBEAT = b"\x01", b"\x02"


def main():
    frontend_ep, backend_ep = sys.argv[1], sys.argv[2]
    interval = int(sys.argv[3]) / 1000.0
    liveness = int(sys.argv[4])
    ctx = zmq.Context()
    frontend = ctx.socket(zmq.ROUTER)
    backend = ctx.socket(zmq.ROUTER)
    frontend.bind(frontend_ep)
    backend.bind(backend_ep)
    print("ppp_queue: listening", flush=True)
    available = OrderedDict()  # worker id -> expiry
    busy = {}  # worker id -> expiry
    next_heartbeat = time.monotonic() + interval
    while True:
        poller = zmq.Poller()
        poller.register(backend, zmq.POLLIN)
        if available:
            poller.register(frontend, zmq.POLLIN)
        events = dict(poller.poll(int(interval * 1000)))
        now = time.monotonic()
        if backend in events:
            frames = backend.recv_multipart()
            worker, rest = frames[0], frames[1:]
            expiry = now + interval * liveness
            if len(rest) == 1 and rest[0] == READY:
                busy.pop(worker, None)
                available.pop(worker, None)
                available[worker] = expiry
            elif len(rest) == 1 and rest[0] == HEARTBEAT:
                if worker in available:
                    available[worker] = expiry
                elif worker in busy:
                    busy[worker] = expiry
            elif len(rest) >= 3:
                if worker in busy:
                    del busy[worker]
                    available[worker] = expiry
                    frontend.send_multipart(rest)
            else:
                print("ppp_queue: invalid message from worker", flush=True)
        if frontend in events and available:
            request = frontend.recv_multipart()
            worker, expiry = available.popitem(last=False)
            busy[worker] = expiry
            backend.send_multipart([worker] + request)
        if now >= next_heartbeat:
            for worker in list(available) + list(busy):
                backend.send_multipart([worker, HEARTBEAT])
            next_heartbeat = now + interval
        for table in (available, busy):
            for worker in [w for w, e in table.items() if e < now]:
                del table[worker]


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
