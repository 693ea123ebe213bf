"""A Paranoid Pirate echo worker in pyzmq (libzmq), used to test the chaos kit against a user-supplied program.

usage: ppp_worker.py ENDPOINT HEARTBEAT_MS LIVENESS SLOW_MS
"""
import sys
import time

import zmq

READY, HEARTBEAT = b"\x01", b"\x02"


def connect(ctx, endpoint):
    worker = ctx.socket(zmq.DEALER)
    worker.setsockopt(zmq.LINGER, 0)
    worker.connect(endpoint)
    worker.send(READY)
    return worker


def main():
    endpoint = sys.argv[1]
    interval = int(sys.argv[2]) / 1000.0
    max_liveness = int(sys.argv[3])
    slow = int(sys.argv[4]) / 1000.0
    ctx = zmq.Context()
    worker = connect(ctx, endpoint)
    print("ppp_worker: ready", flush=True)
    liveness = max_liveness
    backoff = interval
    next_heartbeat = time.monotonic() + interval
    while True:
        if worker.poll(int(interval * 1000), zmq.POLLIN):
            frames = worker.recv_multipart()
            liveness = max_liveness
            backoff = interval
            if len(frames) >= 3:
                if slow > 0:
                    time.sleep(slow)
                worker.send_multipart(frames)
        else:
            liveness -= 1
            if liveness == 0:
                print("ppp_worker: queue silent, reconnecting", flush=True)
                time.sleep(backoff)
                backoff = min(backoff * 2, 8 * interval)
                worker.close()
                worker = connect(ctx, endpoint)
                liveness = max_liveness
        if time.monotonic() >= next_heartbeat:
            worker.send(HEARTBEAT)
            next_heartbeat = time.monotonic() + interval


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        pass
