using System.Text.Json.Nodes;
using Reliability.Mdp.Titanic.Tests.Service;
using Reliability.Testing.PyZmq;
using Reliability.Transport.Tests.Interop;

namespace Reliability.Mdp.Titanic.Tests.Interop;

/// <summary>
/// Our broker and Titanic driven by a TSP client written with pyzmq (libzmq 4.3.4) the way the zguide's ticlient
/// does it: MDP/0.1 over REQ, <c>titanic.request</c> → 200 + id, <c>titanic.reply</c> polled through 300 to 200,
/// <c>titanic.close</c> → 200, after which the id is unknown (400).
/// </summary>
public sealed class PyZmqTitanicClientTests
{
    private const string Script = """
        import json, sys, time
        import zmq

        MDPC = b"MDPC01"

        def say(**fields):
            print(json.dumps(fields), flush=True)

        def call(ctx, endpoint, service, frames):
            # Lazy Pirate: a fresh REQ per attempt, so a lost reply never leaves the socket stuck.
            for attempt in range(5):
                sock = ctx.socket(zmq.REQ)
                sock.linger = 0
                sock.connect(endpoint)
                sock.send_multipart([MDPC, service] + frames)
                if sock.poll(5000):
                    reply = sock.recv_multipart()
                    sock.close()
                    assert reply[0] == MDPC and reply[1] == service, reply
                    return reply[2:]
                sock.close()
            raise SystemExit("no reply from " + service.decode())

        endpoint, count = sys.argv[1], int(sys.argv[2])
        ctx = zmq.Context()
        ids = []
        for i in range(count):
            reply = call(ctx, endpoint, b"titanic.request", [b"echo", b"py-%d" % i])
            assert reply[0] == b"200" and len(reply) == 2 and len(reply[1]) == 32, reply
            ids.append(reply[1])
        first = call(ctx, endpoint, b"titanic.reply", [ids[0]])
        say(event="submitted", first=first[0].decode())
        ok, statuses = 0, set()
        give_up = time.monotonic() + 30
        for i, uuid in enumerate(ids):
            while time.monotonic() < give_up:
                reply = call(ctx, endpoint, b"titanic.reply", [uuid])
                statuses.add(reply[0].decode())
                if reply[0] == b"200":
                    if reply[1:] == [b"echo:py-%d" % i]:
                        ok += 1
                    break
                time.sleep(0.05)
            assert call(ctx, endpoint, b"titanic.close", [uuid]) == [b"200"]
        after = call(ctx, endpoint, b"titanic.reply", [ids[0]])
        say(event="done", ok=ok, statuses=sorted(statuses), after_close=after[0].decode())
        ctx.term()
        """;

    [PyZmqFact]
    public async Task ZguideStyleClient_SubmitPollClose_AllRepliesCorrect()
    {
        await using var harness = new TitanicHarness();
        string path = Path.Combine(Path.GetTempPath(), $"tsp_client_{Guid.NewGuid():N}.py");
        await File.WriteAllTextAsync(path, Script);
        try
        {
            await using var client = PythonProcess.Start(path, [harness.Endpoint, "5"]);

            var submitted = await ReadEventAsync(client, "submitted");
            submitted["first"]!.GetValue<string>().Should().Be("300", "no echo worker runs yet");

            harness.StartEcho();
            var done = await ReadEventAsync(client, "done");
            done["ok"]!.GetValue<int>().Should().Be(5);
            done["after_close"]!.GetValue<string>().Should().Be("400");
            (await client.WaitForExitAsync(TitanicHarness.Wait)).Should().Be(0, client.StandardError);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static async Task<JsonObject> ReadEventAsync(PythonProcess process, string name)
    {
        // Bounded: the script prints two lines.
        for (int i = 0; i < 10; i++)
        {
            string line = await process.ReadLineAsync(TitanicHarness.Wait)
                ?? throw new InvalidOperationException($"python ended before '{name}': {process.StandardError}");
            if (JsonNode.Parse(line) is JsonObject json && json["event"]?.GetValue<string>() == name)
            {
                return json;
            }
        }

        throw new InvalidOperationException($"no '{name}' line: {process.StandardError}");
    }
}
