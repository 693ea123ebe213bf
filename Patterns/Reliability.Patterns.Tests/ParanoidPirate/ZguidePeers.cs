using Reliability.Testing.PyZmq;

namespace Reliability.Patterns.Tests.ParanoidPirate;

/// <summary>
/// A fact that needs pyzmq: skipped with the reason when it is missing on a developer machine, run
/// (and failing) under CI=true. xunit 2 decides skips when the attribute is constructed.
/// </summary>
public sealed class PiratePyZmqFactAttribute : FactAttribute
{
    public PiratePyZmqFactAttribute()
    {
        if (PyZmqEnvironment.SkipReason is { } reason)
        {
            Skip = reason;
        }
    }
}

/// <summary>
/// Paranoid Pirate peers written with pyzmq (libzmq 4.3.4) that follow the zguide programs' wire
/// format and behaviour, including the zguide queue's known weaknesses (any sign of life makes a
/// worker "ready"; purge stops at the first live worker). They print one event per line on stdout.
/// </summary>
internal static class ZguidePeers
{
    /// <summary>
    /// ppworker: DEALER with a random <c>%04X-%04X</c> identity, READY on (re)connect, liveness
    /// counted in poll timeouts, heartbeat every interval, echo of 3-frame requests, reconnect on a
    /// new socket with doubling back-off. Arguments: endpoint, interval ms, liveness, and optionally
    /// a reply delay in ms (a single-threaded zguide worker sends no heartbeats meanwhile).
    /// Prints <c>ready ID</c>, <c>request BODY</c>, <c>heartbeat</c>, <c>invalid N</c>, <c>reconnect</c>.
    /// </summary>
    public const string Worker = """
        import os, random, sys, threading, time
        import zmq

        endpoint = sys.argv[1]
        interval = int(sys.argv[2]) / 1000.0
        liveness_max = int(sys.argv[3])
        delay = int(sys.argv[4]) / 1000.0 if len(sys.argv) > 4 else 0

        def out(*parts):
            sys.stdout.write(" ".join(str(p) for p in parts) + "\n")
            sys.stdout.flush()

        def watchdog():
            sys.stdin.read()  # EOF: the test process is gone
            os._exit(0)

        threading.Thread(target=watchdog, daemon=True).start()
        ctx = zmq.Context()

        def connect():
            sock = ctx.socket(zmq.DEALER)
            ident = "%04X-%04X" % (random.randint(0, 0xFFFF), random.randint(0, 0xFFFF))
            sock.setsockopt(zmq.IDENTITY, ident.encode())
            sock.setsockopt(zmq.LINGER, 0)
            sock.connect(endpoint)
            sock.send(b"\x01")
            out("ready", ident)
            return sock

        sock = connect()
        poller = zmq.Poller()
        poller.register(sock, zmq.POLLIN)
        liveness = liveness_max
        backoff = interval
        heartbeat_at = time.monotonic() + interval
        stop_at = time.monotonic() + 120
        while time.monotonic() < stop_at:
            events = dict(poller.poll(int(interval * 1000)))
            if events.get(sock) == zmq.POLLIN:
                frames = sock.recv_multipart()
                liveness = liveness_max
                backoff = interval
                if len(frames) == 3 and frames[1] == b"":
                    out("request", frames[2].decode("utf-8", "replace"))
                    if delay:
                        time.sleep(delay)
                    sock.send_multipart(frames)
                elif frames == [b"\x02"]:
                    out("heartbeat")
                else:
                    out("invalid", len(frames))
            else:
                liveness -= 1
                if liveness == 0:
                    out("reconnect")
                    time.sleep(backoff)
                    backoff = min(backoff * 2, 32 * interval)
                    poller.unregister(sock)
                    sock.close()
                    sock = connect()
                    poller.register(sock, zmq.POLLIN)
                    liveness = liveness_max
            if time.monotonic() > heartbeat_at:
                heartbeat_at = time.monotonic() + interval
                sock.send(b"\x02")
        """;

    /// <summary>
    /// ppqueue: frontend and backend ROUTERs, workers kept oldest first with an expiry; any message
    /// from a worker (re)inserts it at the tail as ready; 1-frame messages must be 01/02; replies go
    /// to the frontend; heartbeats every interval to the listed workers; purge from the head while
    /// expired. Arguments: interval ms, liveness, and optionally the frontend and backend ports.
    /// Prints <c>ports F B</c> first, then <c>worker ID</c>, <c>dispatch ID</c>, <c>reply</c>, <c>expired ID</c>, <c>invalid</c>.
    /// </summary>
    public const string Queue = PyZmqScript.Preamble + """
        from collections import OrderedDict
        import zmq

        interval = int(sys.argv[1]) / 1000.0
        liveness = int(sys.argv[2])

        ctx = zmq.Context()
        frontend = ctx.socket(zmq.ROUTER)
        backend = ctx.socket(zmq.ROUTER)
        for s in (frontend, backend):
            s.setsockopt(zmq.LINGER, 0)
        if len(sys.argv) > 4:
            frontend.bind("tcp://127.0.0.1:" + sys.argv[3])
            backend.bind("tcp://127.0.0.1:" + sys.argv[4])
            fport, bport = sys.argv[3], sys.argv[4]
        else:
            fport = frontend.bind_to_random_port("tcp://127.0.0.1")
            bport = backend.bind_to_random_port("tcp://127.0.0.1")
        out("ports", fport, bport)

        workers = OrderedDict()

        def ready(wid):
            workers.pop(wid, None)
            workers[wid] = time.monotonic() + interval * liveness

        poll_workers = zmq.Poller()
        poll_workers.register(backend, zmq.POLLIN)
        poll_both = zmq.Poller()
        poll_both.register(frontend, zmq.POLLIN)
        poll_both.register(backend, zmq.POLLIN)
        heartbeat_at = time.monotonic() + interval
        stop_at = time.monotonic() + 120
        while time.monotonic() < stop_at:
            poller = poll_both if workers else poll_workers
            socks = dict(poller.poll(int(interval * 1000)))
            if socks.get(backend) == zmq.POLLIN:
                frames = backend.recv_multipart()
                wid, msg = frames[0], frames[1:]
                ready(wid)
                if len(msg) == 1:
                    if msg[0] == b"\x01":
                        out("worker", wid.decode("utf-8", "replace"))
                    elif msg[0] != b"\x02":
                        out("invalid")
                else:
                    frontend.send_multipart(msg)
                    out("reply")
            if socks.get(frontend) == zmq.POLLIN and workers:
                frames = frontend.recv_multipart()
                wid, _ = workers.popitem(last=False)
                backend.send_multipart([wid] + frames)
                out("dispatch", wid.decode("utf-8", "replace"))
            if time.monotonic() >= heartbeat_at:
                for wid in workers:
                    backend.send_multipart([wid, b"\x02"])
                heartbeat_at = time.monotonic() + interval
            now = time.monotonic()
            while workers:
                wid, expiry = next(iter(workers.items()))
                if expiry > now:
                    break
                workers.popitem(last=False)
                out("expired", wid.decode("utf-8", "replace"))
        """;

    /// <summary>Writes <paramref name="script"/> next to the test assembly and starts it with the given arguments.</summary>
    public static PythonProcess Start(string script, string name, params string[] arguments)
    {
        PyZmqEnvironment.EnsureAvailable();
        string folder = Path.Combine(AppContext.BaseDirectory, "PiratePeers");
        Directory.CreateDirectory(folder);
        string path = Path.Combine(folder, name);

        // Never rewrite a script in place: an interpreter started a moment ago may still be reading
        // it (two workers from one script). Write only when missing or different, by atomic rename.
        string text = script.Replace("\r\n", "\n", StringComparison.Ordinal) + "\n";
        if (!File.Exists(path) || File.ReadAllText(path) != text)
        {
            string temporary = path + "." + Guid.NewGuid().ToString("N") + ".tmp";
            File.WriteAllText(temporary, text);
            File.Move(temporary, path, overwrite: true);
        }

        return PythonProcess.Start(path, arguments);
    }

    /// <summary>Waits for <paramref name="task"/>; on timeout the failure names the python peers' stderr.</summary>
    public static async Task Within(Task task, params PythonProcess[] peers)
    {
        try
        {
            await task.WaitAsync(PirateTestKit.Wait);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"not within {PirateTestKit.Wait}; peers: " + string.Join(" | ", peers.Select(p => $"{p.Description} exited={p.HasExited} stderr={p.StandardError}")));
        }
    }

    /// <summary>Reads stdout lines until one starts with <paramref name="prefix"/>; every read is bounded.</summary>
    public static async Task<string> WaitForLineAsync(PythonProcess process, string prefix, List<string>? seen = null)
    {
        // Bounded: at most 10 000 lines, each read waits at most PirateTestKit.Wait.
        for (int i = 0; i < 10_000; i++)
        {
            var line = await process.ReadLineAsync(PirateTestKit.Wait)
                ?? throw new InvalidOperationException($"{process.Description} ended before '{prefix}'. stderr: {process.StandardError}");
            seen?.Add(line);
            if (line.StartsWith(prefix, StringComparison.Ordinal))
            {
                return line;
            }
        }

        throw new InvalidOperationException($"no '{prefix}' line among 10 000 from {process.Description}");
    }
}
