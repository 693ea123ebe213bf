#!/usr/bin/python3
"""A libzmq peer driven over stdin/stdout, for interop tests (Reliability.Testing.PyZmq).

Protocol: one JSON object per line in each direction.
  start-up   -> {"event": "ready", "pid": N, "pyzmq": "24.0.1", "libzmq": "4.3.4"}
  request    <- {"id": 7, "op": "bind", "socket": 1, "endpoint": "tcp://127.0.0.1:*"}
  reply      -> {"id": 7, "ok": true, "endpoint": "tcp://127.0.0.1:40123"}
  failure    -> {"id": 7, "ok": false, "error": "EHOSTUNREACH", "message": "Host unreachable"}
Frames travel as lowercase hex strings. Requests are handled one at a time, in order.

Operations (fields besides "id"/"op"; every blocking one takes "timeout_ms", capped at 120 s):
  ping                                   -> pid
  socket      type, options{name: value} -> socket (handle; LINGER is 0 unless given)
  setsockopt  socket, option, value      (ints as ints/decimal, ROUTING_ID etc. as hex)
  getsockopt  socket, option             -> value | hex
  bind        socket, endpoint           -> endpoint (actual, for tcp://127.0.0.1:*)
  unbind / connect / disconnect  socket, endpoint
  send        socket, frames[hex]        (errors: EAGAIN, EHOSTUNREACH, EFSM, ...)
  recv        socket                     -> frames[hex] | timeout: true
  echo        socket, count              -> echoed, last
  send_many   socket, count, size, prefix[hex]  -> sent   (body = 4-octet BE seq + 0x5A padding)
  recv_many   socket, count, skip        -> received, in_order, first_bad, prefixes
  monitor     socket                     (starts ZMQ monitor, all events)
  wait_event  socket, events[names]      -> event, value, endpoint | timeout: true
  close       socket, linger
  sleep       ms                         (only to test the harness's request timeout)
  exit                                   (replies, closes everything, exits 0)

The peer exits on "exit", on end of stdin, or when its parent process goes away (a watchdog
thread polls the parent pid, because a peer blocked inside a libzmq call never sees stdin EOF).
"""

import json
import os
import sys
import threading
import time

import zmq

SOCKET_TYPES = {
    "REQ": zmq.REQ,
    "REP": zmq.REP,
    "DEALER": zmq.DEALER,
    "ROUTER": zmq.ROUTER,
    "PUSH": zmq.PUSH,
    "PULL": zmq.PULL,
    "PUB": zmq.PUB,
    "SUB": zmq.SUB,
    "XPUB": zmq.XPUB,
    "XSUB": zmq.XSUB,
    "PAIR": zmq.PAIR,
}

# Options whose values are binary; the request carries them as hex. Everything else is an int.
BYTES_OPTIONS = {"ROUTING_ID", "IDENTITY", "CONNECT_ROUTING_ID", "SUBSCRIBE", "UNSUBSCRIBE", "PLAIN_USERNAME", "PLAIN_PASSWORD", "ZAP_DOMAIN",
                 "CURVE_PUBLICKEY", "CURVE_SECRETKEY", "CURVE_SERVERKEY"}

# Upper bound for any single blocking step, so a confused test cannot park the peer forever.
MAX_TIMEOUT_MS = 120_000

EVENT_NAMES = {
    value: name[len("EVENT_"):]
    for name, value in vars(zmq).items()
    if name.startswith("EVENT_") and isinstance(value, int) and name not in ("EVENT_ALL",)
}


class PeerError(Exception):
    def __init__(self, error, message):
        super().__init__(message)
        self.error = error
        self.message = message


def out(obj):
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def watchdog(parent_pid):
    # Bounded by the parent's lifetime: the loop ends when the parent is gone.
    while True:
        if os.getppid() != parent_pid:
            os._exit(3)
        time.sleep(0.2)


def clamp_timeout(value, default):
    if value is None:
        value = default
    value = int(value)
    if value < 0 or value > MAX_TIMEOUT_MS:
        value = MAX_TIMEOUT_MS
    return value


def errno_name(err):
    code = getattr(err, "errno", None)
    for name in ("EAGAIN", "EHOSTUNREACH", "EFSM", "ETERM", "ENOTSOCK", "EINVAL", "EADDRINUSE",
                 "EPROTONOSUPPORT", "ENOTSUP", "EMTHREAD", "ENOENT", "ECONNREFUSED"):
        if code is not None and code == getattr(zmq, name, None):
            return name
    return "ZMQ_%s" % code


class Peer:
    def __init__(self):
        self.ctx = zmq.Context()
        self.sockets = {}
        self.monitors = {}
        self.next_handle = 1
        self.auth = None

    # ---- helpers -------------------------------------------------------------------------
    def sock(self, req):
        handle = req.get("socket")
        if handle not in self.sockets:
            raise PeerError("ENOTSOCK", "no socket with handle %r" % (handle,))
        return self.sockets[handle]

    def set_option(self, sock, name, value):
        key = name.upper()
        if not hasattr(zmq, key):
            raise PeerError("EINVAL", "unknown option %s" % name)
        option = getattr(zmq, key)
        if key in BYTES_OPTIONS:
            sock.setsockopt(option, bytes.fromhex(value))
        else:
            sock.setsockopt(option, int(value))

    # ---- operations ----------------------------------------------------------------------
    def op_ping(self, req):
        return {"pid": os.getpid()}

    def op_socket(self, req):
        kind = str(req.get("type", "")).upper()
        if kind not in SOCKET_TYPES:
            raise PeerError("EINVAL", "unknown socket type %r" % (kind,))
        sock = self.ctx.socket(SOCKET_TYPES[kind])
        try:
            # Tests must never hang in close/term on undelivered messages.
            sock.setsockopt(zmq.LINGER, 0)
            for name, value in (req.get("options") or {}).items():
                self.set_option(sock, name, value)
        except Exception:
            sock.close(0)
            raise
        handle = self.next_handle
        self.next_handle += 1
        self.sockets[handle] = sock
        return {"socket": handle}

    def op_setsockopt(self, req):
        self.set_option(self.sock(req), req["option"], req["value"])
        return {}

    def op_getsockopt(self, req):
        key = str(req["option"]).upper()
        value = self.sock(req).getsockopt(getattr(zmq, key))
        if isinstance(value, bytes):
            return {"hex": value.hex()}
        return {"value": value}

    def op_bind(self, req):
        sock = self.sock(req)
        sock.bind(req["endpoint"])
        return {"endpoint": sock.getsockopt(zmq.LAST_ENDPOINT).decode()}

    def op_unbind(self, req):
        self.sock(req).unbind(req["endpoint"])
        return {}

    def op_connect(self, req):
        self.sock(req).connect(req["endpoint"])
        return {}

    def op_disconnect(self, req):
        self.sock(req).disconnect(req["endpoint"])
        return {}

    def op_send(self, req):
        sock = self.sock(req)
        frames = [bytes.fromhex(f) for f in req.get("frames") or []]
        if not frames:
            raise PeerError("EINVAL", "a message needs at least one frame")
        sock.setsockopt(zmq.SNDTIMEO, clamp_timeout(req.get("timeout_ms"), 5000))
        sock.send_multipart(frames, copy=False)
        return {}

    def recv_one(self, sock, timeout_ms):
        # POLLIN can be reported for a message the socket then discards (a REQ_CORRELATE reply with
        # a stale request id), so EAGAIN after a poll means "keep waiting", not "error".
        deadline = time.monotonic() + timeout_ms / 1000.0
        while True:
            left = max(0, int((deadline - time.monotonic()) * 1000))
            if sock.poll(left, zmq.POLLIN) == 0:
                return None
            try:
                return sock.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                if time.monotonic() >= deadline:
                    return None

    def op_recv(self, req):
        msg = self.recv_one(self.sock(req), clamp_timeout(req.get("timeout_ms"), 5000))
        if msg is None:
            return {"timeout": True}
        return {"frames": [f.hex() for f in msg]}

    def op_echo(self, req):
        # Receives `count` messages and sends each one straight back (a REP/ROUTER echo server).
        sock = self.sock(req)
        count = int(req.get("count", 1))
        timeout_ms = clamp_timeout(req.get("timeout_ms"), 5000)
        echoed = 0
        last = None
        for _ in range(count):
            msg = self.recv_one(sock, timeout_ms)
            if msg is None:
                break
            sock.setsockopt(zmq.SNDTIMEO, timeout_ms)
            sock.send_multipart(msg, copy=False)
            echoed += 1
            last = msg
        return {"echoed": echoed, "last": None if last is None else [f.hex() for f in last]}

    def op_send_many(self, req):
        # Sends `count` messages: prefix frames (hex) + one body frame = 4-octet BE sequence number
        # padded with 0x5A to `size` octets. For volume tests without one request per message.
        sock = self.sock(req)
        count = int(req.get("count", 1))
        size = max(4, int(req.get("size", 4)))
        prefix = [bytes.fromhex(f) for f in req.get("prefix") or []]
        sock.setsockopt(zmq.SNDTIMEO, clamp_timeout(req.get("timeout_ms"), 5000))
        pad = b"\x5a" * (size - 4)
        sent = 0
        try:
            for seq in range(count):
                sock.send_multipart(prefix + [seq.to_bytes(4, "big") + pad])
                sent += 1
        except zmq.Again:
            pass
        return {"sent": sent}

    def op_recv_many(self, req):
        # Receives up to `count` messages, drops `skip` leading frames, and checks that the last
        # frame carries the sequence numbers 0..count-1 in order (as send_many writes them).
        sock = self.sock(req)
        count = int(req.get("count", 1))
        skip = int(req.get("skip", 0))
        timeout_ms = clamp_timeout(req.get("timeout_ms"), 5000)
        received = 0
        in_order = True
        first_bad = None
        prefixes = set()
        for expected in range(count):
            msg = self.recv_one(sock, timeout_ms)
            if msg is None:
                break
            received += 1
            if skip:
                prefixes.add(b"".join(msg[:skip]).hex())
            seq = int.from_bytes(msg[-1][0:4], "big") if len(msg[-1]) >= 4 else -1
            if in_order and (seq != expected or len(msg) != skip + 1):
                in_order = False
                first_bad = [f.hex() for f in msg[:8]]
        return {"received": received, "in_order": in_order, "first_bad": first_bad,
                "prefixes": sorted(prefixes)}

    def op_monitor(self, req):
        sock = self.sock(req)
        handle = req["socket"]
        if handle not in self.monitors:
            self.monitors[handle] = sock.get_monitor_socket(zmq.EVENT_ALL)
        return {}

    def op_wait_event(self, req):
        # Consumes monitor events until one of the wanted kinds arrives (others are skipped).
        handle = req.get("socket")
        if handle not in self.monitors:
            raise PeerError("EINVAL", "monitor not started for socket %r" % (handle,))
        monitor = self.monitors[handle]
        wanted = {str(e).upper() for e in req.get("events") or []}
        timeout_ms = clamp_timeout(req.get("timeout_ms"), 5000)
        deadline = time.monotonic() + timeout_ms / 1000.0
        skipped = []
        while True:
            left = int((deadline - time.monotonic()) * 1000)
            if left <= 0 or monitor.poll(left, zmq.POLLIN) == 0:
                return {"timeout": True, "skipped": skipped}
            frames = monitor.recv_multipart(zmq.NOBLOCK)
            event = int.from_bytes(frames[0][0:2], sys.byteorder)
            value = int.from_bytes(frames[0][2:6], sys.byteorder)
            name = EVENT_NAMES.get(event, "0x%04x" % event)
            endpoint = frames[1].decode(errors="replace") if len(frames) > 1 else ""
            if not wanted or name in wanted:
                return {"event": name, "value": value, "endpoint": endpoint, "skipped": skipped}
            skipped.append(name)

    def op_close(self, req):
        handle = req.get("socket")
        sock = self.sock(req)
        monitor = self.monitors.pop(handle, None)
        if monitor is not None:
            sock.disable_monitor()
            monitor.close(0)
        sock.close(int(req.get("linger", 0)))
        del self.sockets[handle]
        return {}

    def op_auth(self, req):
        # zmq.auth's ThreadAuthenticator: the ZAP handler of this context (RFC 27), as applications run it.
        if self.auth is None:
            from zmq.auth.thread import ThreadAuthenticator
            self.auth = ThreadAuthenticator(self.ctx)
            self.auth.start()
        if req.get("allow"):
            self.auth.allow(*req["allow"])
        if req.get("curve_dir"):
            self.auth.configure_curve(domain="*", location=req["curve_dir"])
        if req.get("curve_any"):
            import zmq.auth
            self.auth.configure_curve(domain="*", location=zmq.auth.CURVE_ALLOW_ANY)
        if req.get("plain"):
            self.auth.configure_plain(domain="*", passwords=req["plain"])
        return {}

    def op_sleep(self, req):
        # Only for testing the harness's own request timeout.
        time.sleep(clamp_timeout(req.get("ms"), 0) / 1000.0)
        return {}

    def shutdown(self):
        if self.auth is not None:
            self.auth.stop()
        for monitor in self.monitors.values():
            monitor.close(0)
        for sock in self.sockets.values():
            sock.close(0)
        self.ctx.term()

    # ---- loop ----------------------------------------------------------------------------
    def handle(self, req):
        op = req.get("op")
        fn = getattr(self, "op_%s" % op, None)
        if fn is None:
            raise PeerError("EINVAL", "unknown op %r" % (op,))
        return fn(req)

    def run(self):
        out({"event": "ready", "pid": os.getpid(), "pyzmq": zmq.__version__,
             "libzmq": zmq.zmq_version()})
        while True:
            line = sys.stdin.buffer.readline()
            if not line:
                break
            line = line.strip()
            if not line:
                continue
            req_id = None
            try:
                req = json.loads(line)
                req_id = req.get("id")
                if req.get("op") == "exit":
                    out({"id": req_id, "ok": True})
                    break
                reply = self.handle(req)
                reply["id"] = req_id
                reply["ok"] = True
                out(reply)
            except PeerError as e:
                out({"id": req_id, "ok": False, "error": e.error, "message": e.message})
            except zmq.ZMQError as e:
                out({"id": req_id, "ok": False, "error": errno_name(e), "message": str(e)})
            except Exception as e:  # report, keep serving: the test decides what it means
                out({"id": req_id, "ok": False, "error": type(e).__name__, "message": str(e)})
        self.shutdown()


def main():
    threading.Thread(target=watchdog, args=(os.getppid(),), daemon=True).start()
    Peer().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
