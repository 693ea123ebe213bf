using System.Text.Json.Nodes;
using Reliability.Testing.PyZmq;

namespace Reliability.Mdp.Tests.Broker;

/// <summary>Skips an interop test when pyzmq is missing (never on CI, where that is a failure).</summary>
public sealed class PyZmqFactAttribute : FactAttribute
{
    public PyZmqFactAttribute()
    {
        if (PyZmqEnvironment.SkipReason is { } reason)
        {
            Skip = reason;
        }
    }
}

/// <summary>
/// An MDP/0.1 worker or client written with pyzmq (libzmq 4.3.4) in the style of the zguide's
/// mdwrkapi/mdcliapi, run as a child process. It prints one JSON line when ready and one when done.
/// </summary>
internal sealed class PyZmqMdpPeer : IAsyncDisposable
{
    private const string Script = """
        import json, os, sys, time
        import zmq

        MDPW, MDPC = b"MDPW01", b"MDPC01"
        READY, REQUEST, REPLY, HEARTBEAT, DISCONNECT = b"\x01", b"\x02", b"\x03", b"\x04", b"\x05"

        def say(**fields):
            print(json.dumps(fields), flush=True)

        def worker(endpoint, service, heartbeat_ms, max_requests):
            ctx = zmq.Context()
            sock = ctx.socket(zmq.DEALER)
            sock.linger = 0
            sock.connect(endpoint)
            sock.send_multipart([b"", MDPW, READY, service.encode()])
            say(event="ready", pid=os.getpid())
            served = heartbeats = 0
            reason = "limit"
            interval = heartbeat_ms / 1000.0
            next_heartbeat = time.monotonic() + interval
            give_up = time.monotonic() + 60
            while served < max_requests:
                if time.monotonic() > give_up:
                    reason = "timeout"
                    break
                if sock.poll(max(1, int((next_heartbeat - time.monotonic()) * 1000))):
                    frames = sock.recv_multipart()
                    if len(frames) < 3 or frames[0] != b"" or frames[1] != MDPW:
                        say(event="error", frames=[f.hex() for f in frames])
                        reason = "bad frames"
                        break
                    command = frames[2]
                    if command == REQUEST:
                        client, empty, body = frames[3], frames[4], frames[5:]
                        assert empty == b""
                        sock.send_multipart([b"", MDPW, REPLY, client, b""] + [b"py:" + f for f in body])
                        served += 1
                        next_heartbeat = time.monotonic() + interval
                    elif command == HEARTBEAT:
                        heartbeats += 1
                    elif command == DISCONNECT:
                        reason = "disconnect"
                        break
                if time.monotonic() >= next_heartbeat:
                    sock.send_multipart([b"", MDPW, HEARTBEAT])
                    next_heartbeat = time.monotonic() + interval
            if reason != "disconnect":
                sock.send_multipart([b"", MDPW, DISCONNECT])
            say(event="done", served=served, heartbeats=heartbeats, reason=reason)
            sock.close()
            ctx.term()

        def request(ctx, endpoint, service, body, timeout_ms, retries):
            # Lazy Pirate: a fresh REQ per attempt, so a lost reply never leaves the socket stuck.
            for attempt in range(retries + 1):
                sock = ctx.socket(zmq.REQ)
                sock.linger = 0
                sock.connect(endpoint)
                sock.send_multipart([MDPC, service, body])
                if sock.poll(timeout_ms):
                    reply = sock.recv_multipart()
                    sock.close()
                    assert reply[0] == MDPC and reply[1] == service, reply
                    return reply[2:], attempt
                sock.close()
            return None, retries

        def client(endpoint, service, count, timeout_ms):
            ctx = zmq.Context()
            say(event="ready", pid=os.getpid())
            status, _ = request(ctx, endpoint, b"mmi.service", service.encode(), timeout_ms, 3)
            ok = retries = 0
            for i in range(count):
                body = ("hello %d" % i).encode()
                reply, attempts = request(ctx, endpoint, service.encode(), body, timeout_ms, 3)
                retries += attempts
                if reply is not None and len(reply) == 1 and reply[0].endswith(body):
                    ok += 1
                    prefix = reply[0][: len(reply[0]) - len(body)].decode()
            say(event="done", ok=ok, retries=retries, mmi=status[0].decode() if status else None, prefix=prefix if ok else None)
            ctx.term()

        def pipeline(endpoint, service, count, timeout_ms):
            # The zguide's mdclient2: a DEALER that sends every request before it reads any reply.
            ctx = zmq.Context()
            sock = ctx.socket(zmq.DEALER)
            sock.linger = 0
            sock.connect(endpoint)
            say(event="ready", pid=os.getpid())
            for i in range(count):
                sock.send_multipart([b"", MDPC, service.encode(), b"%d" % i])
            seen = set()
            wrong = 0
            while len(seen) < count and sock.poll(timeout_ms):
                frames = sock.recv_multipart()
                if len(frames) != 4 or frames[0] != b"" or frames[1] != MDPC or frames[2] != service.encode():
                    wrong += 1
                    continue
                index = int(frames[3].decode().split(":")[-1])
                if index in seen:
                    wrong += 1
                seen.add(index)
            say(event="done", ok=len(seen), wrong=wrong, lost=count - len(seen))
            sock.close()
            ctx.term()

        mode = sys.argv[1]
        if mode == "pipeline":
            pipeline(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
        elif mode == "worker":
            worker(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
        else:
            client(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
        """;

    private readonly string _scriptPath;

    private PyZmqMdpPeer(PythonProcess process, string scriptPath)
    {
        Process = process;
        _scriptPath = scriptPath;
    }

    public PythonProcess Process { get; }

    /// <summary>Starts an echo worker (replies "py:" + body) that heartbeats every <paramref name="heartbeatMs"/> and stops after <paramref name="maxRequests"/> requests or a DISCONNECT.</summary>
    public static Task<PyZmqMdpPeer> StartWorkerAsync(string endpoint, string service, int heartbeatMs, int maxRequests) =>
        StartAsync(["worker", endpoint, service, heartbeatMs.ToString(System.Globalization.CultureInfo.InvariantCulture), maxRequests.ToString(System.Globalization.CultureInfo.InvariantCulture)]);

    /// <summary>Starts a REQ client that asks <c>mmi.service</c> about <paramref name="service"/>, then sends <paramref name="count"/> requests.</summary>
    public static Task<PyZmqMdpPeer> StartClientAsync(string endpoint, string service, int count, int timeoutMs = 2000) =>
        StartAsync(["client", endpoint, service, count.ToString(System.Globalization.CultureInfo.InvariantCulture), timeoutMs.ToString(System.Globalization.CultureInfo.InvariantCulture)]);

    /// <summary>Starts a DEALER client that sends <paramref name="count"/> requests before it reads any reply (the zguide's mdclient2).</summary>
    public static Task<PyZmqMdpPeer> StartPipelineClientAsync(string endpoint, string service, int count, int timeoutMs = 10_000) =>
        StartAsync(["pipeline", endpoint, service, count.ToString(System.Globalization.CultureInfo.InvariantCulture), timeoutMs.ToString(System.Globalization.CultureInfo.InvariantCulture)]);

    /// <summary>The next JSON line with the given event.</summary>
    public async Task<JsonObject> WaitForAsync(string @event, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;

        // Bounded by the deadline.
        while (true)
        {
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"no '{@event}' line from {Process.Description}. stderr: {Process.StandardError}");
            }

            var line = await Process.ReadLineAsync(left)
                ?? throw new InvalidOperationException($"{Process.Description} ended before '{@event}'. stderr: {Process.StandardError}");
            if (JsonNode.Parse(line) is JsonObject json && json["event"]?.GetValue<string>() == @event)
            {
                return json;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Process.DisposeAsync();
        File.Delete(_scriptPath);
    }

    private static async Task<PyZmqMdpPeer> StartAsync(string[] arguments)
    {
        PyZmqEnvironment.EnsureAvailable();
        string path = Path.Combine(Path.GetTempPath(), $"mdp01_peer_{Guid.NewGuid():N}.py");
        await File.WriteAllTextAsync(path, Script);
        var peer = new PyZmqMdpPeer(PythonProcess.Start(path, arguments), path);
        try
        {
            await peer.WaitForAsync("ready", TimeSpan.FromSeconds(15));
            return peer;
        }
        catch
        {
            await peer.DisposeAsync();
            throw;
        }
    }
}
