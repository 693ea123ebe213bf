using System.Text.Json;
using Reliability.Testing.PyZmq;

namespace Reliability.Mdp.Tests.Client;

/// <summary>
/// A minimal MDP/0.1 broker written with pyzmq (libzmq 4.3.4), after the zguide's mdbroker: heartbeats to
/// idle workers only, DISCONNECT for unexpected worker commands, <c>mmi.service</c>. Our worker and clients
/// are tested against it for interop. The script is written to a temporary file (the test project copies
/// no files of its own).
/// </summary>
internal sealed class PyZmqMdpBroker : IAsyncDisposable
{
    private const string Script = """
# Minimal MDP/0.1 broker on pyzmq (libzmq), after the zguide's mdbroker: one ROUTER for clients and
# workers, LRU idle workers per service, heartbeats to idle workers, expiry of silent idle workers,
# DISCONNECT for unexpected worker commands, mmi.service. Usage: mdp_broker.py ENDPOINT HEARTBEAT_MS LIVENESS.
# Prints one JSON line {"event":"ready","endpoint":...,"pid":...} once bound.
import json, os, sys, time
import zmq

endpoint, interval_ms, liveness = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
interval = interval_ms / 1000.0
ctx = zmq.Context()
router = ctx.socket(zmq.ROUTER)
router.linger = 0
router.bind(endpoint)
print(json.dumps({"event": "ready", "endpoint": router.getsockopt_string(zmq.LAST_ENDPOINT), "pid": os.getpid(),
                  "libzmq": zmq.zmq_version()}), flush=True)

C, W = b"MDPC01", b"MDPW01"
READY, REQUEST, REPLY, HEARTBEAT, DISCONNECT = b"\x01", b"\x02", b"\x03", b"\x04", b"\x05"
workers = {}   # id -> {"service", "expiry"}
idle = {}      # service -> [ids]
queues = {}    # service -> [(client, body)]
next_heartbeat = time.monotonic() + interval

def to_worker(wid, command, *frames):
    router.send_multipart([wid, b"", W, command] + list(frames))

def dispatch(service):
    q, w = queues.setdefault(service, []), idle.setdefault(service, [])
    while q and w:
        wid = w.pop(0)
        client, body = q.pop(0)
        to_worker(wid, REQUEST, client, b"", *body)

def forget(wid):
    info = workers.pop(wid, None)
    if info and wid in idle.get(info["service"], []):
        idle[info["service"]].remove(wid)

poller = zmq.Poller()
poller.register(router, zmq.POLLIN)
while True:
    if poller.poll(interval_ms):
        frames = router.recv_multipart()
        if len(frames) < 3 or frames[1] != b"":
            continue
        sender, header = frames[0], frames[2]
        if header == C and len(frames) >= 4:
            service, body = frames[3], frames[4:]
            if service == b"mmi.service":
                known = any(w["service"] == (body[0] if body else b"") for w in workers.values())
                router.send_multipart([sender, b"", C, service, b"200" if known else b"404"])
            elif service.startswith(b"mmi."):
                router.send_multipart([sender, b"", C, service, b"501"])
            else:
                queues.setdefault(service, []).append((sender, body))
                dispatch(service)
        elif header == W and len(frames) >= 4:
            command, known = frames[3], sender in workers
            if known:
                workers[sender]["expiry"] = time.monotonic() + interval * liveness
            if command == READY and not known and len(frames) == 5 and not frames[4].startswith(b"mmi."):
                workers[sender] = {"service": frames[4], "expiry": time.monotonic() + interval * liveness}
                idle.setdefault(frames[4], []).append(sender)
                dispatch(frames[4])
            elif command == REPLY and known and len(frames) >= 6:
                service = workers[sender]["service"]
                router.send_multipart([frames[4], b"", C, service] + frames[6:])
                idle.setdefault(service, []).append(sender)
                dispatch(service)
            elif command == HEARTBEAT and known:
                pass
            elif command == DISCONNECT:
                forget(sender)
            else:
                forget(sender)
                to_worker(sender, DISCONNECT)
    now = time.monotonic()
    if now >= next_heartbeat:
        for service, ids in idle.items():
            for wid in list(ids):
                if workers[wid]["expiry"] < now:
                    forget(wid)
                else:
                    to_worker(wid, HEARTBEAT)
        next_heartbeat = now + interval
""";

    private static readonly Lazy<string> ScriptPath = new(() =>
    {
        string path = Path.Combine(Path.GetTempPath(), $"reliability-mdp-broker-{Environment.ProcessId}.py");
        File.WriteAllText(path, Script);
        return path;
    });

    private readonly PythonProcess _process;

    private PyZmqMdpBroker(PythonProcess process, string endpoint)
    {
        _process = process;
        Endpoint = endpoint;
    }

    public string Endpoint { get; }

    /// <summary>Starts the broker on <paramref name="bind"/> and waits until it is bound.</summary>
    public static async Task<PyZmqMdpBroker> StartAsync(string bind, TimeSpan heartbeat, int liveness = 3)
    {
        PyZmqEnvironment.EnsureAvailable();
        var process = PythonProcess.Start(ScriptPath.Value, [bind, ((int)heartbeat.TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture), liveness.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        try
        {
            string line = await process.ReadLineAsync(TimeSpan.FromSeconds(15))
                ?? throw new InvalidOperationException("The pyzmq broker exited before binding: " + process.StandardError);
            using var ready = JsonDocument.Parse(line);
            return new PyZmqMdpBroker(process, ready.RootElement.GetProperty("endpoint").GetString()!);
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }
    }

    /// <summary>Kills the broker (SIGKILL) and waits until it is gone.</summary>
    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
