using System.Globalization;
using Reliability.Patterns.ParanoidPirate;
using Reliability.Transport;

namespace Reliability.Patterns.Tests.ParanoidPirate;

/// <summary>Our queue and worker against zguide-style PPP peers in pyzmq (libzmq 4.3.4).</summary>
[Collection(PirateLoopbackCollection.Name)]
public sealed class ParanoidPirateInteropTests
{
    private static readonly string IntervalMs = ((int)PirateTestKit.FastHeartbeat.Interval.TotalMilliseconds).ToString(CultureInfo.InvariantCulture);
    private static readonly string Liveness = PirateTestKit.FastHeartbeat.Liveness.ToString(CultureInfo.InvariantCulture);

    [PiratePyZmqFact]
    public async Task OurQueue_ZguidePyZmqWorkers_ServeEveryRequestWithoutReconnecting()
    {
        await using var queue = new ParanoidPirateQueue(new ParanoidPirateQueueOptions
        {
            FrontendEndpoint = PirateTestKit.AnyPort,
            BackendEndpoint = PirateTestKit.AnyPort,
            Heartbeat = PirateTestKit.FastHeartbeat,
        });
        queue.Bind();
        await using var running = Running.Start(queue.RunAsync);
        var registered = PirateTestKit.Events(queue, QueueEventKind.WorkerRegistered, 2);
        await using var first = ZguidePeers.Start(ZguidePeers.Worker, "ppworker.py", queue.BackendEndpoint!, IntervalMs, Liveness);
        await using var second = ZguidePeers.Start(ZguidePeers.Worker, "ppworker.py", queue.BackendEndpoint!, IntervalMs, Liveness);

        // Interpreter start-up (slow on a loaded machine) is waited for separately from registration.
        await ZguidePeers.WaitForLineAsync(first, "ready");
        await ZguidePeers.WaitForLineAsync(second, "ready");
        await ZguidePeers.Within(registered, first, second);

        var ledger = new AnswerLedger();
        var requests = Enumerable.Range(0, 20).Select(i => $"py-{i}").ToList();
        await using (var client = new TestClient(queue.FrontendEndpoint!, PirateTestKit.Wait, attempts: 1))
        {
            foreach (var body in requests)
            {
                ledger.Record(body, await client.RequestAsync(body));
            }
        }

        ledger.ShouldHaveExactlyOnce(requests);

        // Each python worker must have been heartbeated (it counts liveness in missed polls) and
        // must never have reconnected: read its output up to its third heartbeat.
        foreach (var worker in new[] { first, second })
        {
            var lines = new List<string>();
            for (int i = 0; i < 3; i++)
            {
                await ZguidePeers.WaitForLineAsync(worker, "heartbeat", lines);
            }

            lines.Should().NotContain("reconnect", string.Join(" | ", lines)).And.NotContain(l => l.StartsWith("invalid", StringComparison.Ordinal));
        }

        queue.WorkerCount.Should().Be(2);
    }

    [PiratePyZmqFact]
    public async Task OurQueue_ZguidePyZmqWorkerKilledMidRequest_RequestRequeuedToOurWorker()
    {
        await using var queue = new ParanoidPirateQueue(new ParanoidPirateQueueOptions
        {
            FrontendEndpoint = PirateTestKit.AnyPort,
            BackendEndpoint = PirateTestKit.AnyPort,
            Heartbeat = PirateTestKit.FastHeartbeat,
            MaxRequeues = 1,
        });
        queue.Bind();
        await using var running = Running.Start(queue.RunAsync);
        var registered = PirateTestKit.NextEvent(queue, QueueEventKind.WorkerRegistered);

        // A python worker that takes 5 s per reply, killed while it holds the request.
        await using var python = ZguidePeers.Start(ZguidePeers.Worker, "ppworker.py", queue.BackendEndpoint!, IntervalMs, Liveness, "5000");
        await ZguidePeers.WaitForLineAsync(python, "ready");
        await ZguidePeers.Within(registered, python);
        await using var client = new RequestSocket(new SocketOptions { Linger = TimeSpan.Zero });
        client.Connect(queue.FrontendEndpoint!);
        var requeued = PirateTestKit.NextEvent(queue, QueueEventKind.RequestRequeued);

        await PirateTestKit.SendAsync(client, Message.FromStrings("orphan"));
        await ZguidePeers.WaitForLineAsync(python, "request");
        await python.KillAsync();
        var ours = new ParanoidPirateWorker(
            (body, _) => ValueTask.FromResult(Message.FromStrings("ours:" + body.GetString(0))),
            new ParanoidPirateWorkerOptions { Endpoint = queue.BackendEndpoint!, Heartbeat = PirateTestKit.FastHeartbeat });
        await using var worker = Running.Start(ours.RunAsync);

        // A plain REQ client without retries: the queue's requeue is what answers it.
        await requeued.WaitAsync(PirateTestKit.Wait);
        (await PirateTestKit.ReceiveAsync(client)).GetString(0).Should().Be("ours:orphan");
    }

    [PiratePyZmqFact]
    public async Task OurWorkers_ZguidePyZmqQueue_ServeEveryRequest()
    {
        await using var python = ZguidePeers.Start(ZguidePeers.Queue, "ppqueue.py", IntervalMs, Liveness);
        var (frontend, backend) = await PortsAsync(python);
        var workers = Enumerable.Range(0, 2)
            .Select(_ => new ParanoidPirateWorker(PirateTestKit.Echo, new ParanoidPirateWorkerOptions { Endpoint = backend, Heartbeat = PirateTestKit.FastHeartbeat }))
            .ToList();
        var runs = workers.Select(w => Running.Start(w.RunAsync)).ToList();
        await ZguidePeers.WaitForLineAsync(python, "worker");
        await ZguidePeers.WaitForLineAsync(python, "worker");

        var ledger = new AnswerLedger();
        var requests = Enumerable.Range(0, 20).Select(i => $"ours-{i}").ToList();
        await using (var client = new TestClient(frontend, PirateTestKit.Wait, attempts: 1))
        {
            foreach (var body in requests)
            {
                ledger.Record(body, await client.RequestAsync(body));
            }
        }

        ledger.ShouldHaveExactlyOnce(requests);
        workers.Sum(w => w.RepliesSent).Should().Be(requests.Count);
        workers.Should().OnlyContain(w => w.Sessions == 1, "the python queue's heartbeats kept every worker connected");
        foreach (var run in runs)
        {
            await run.DisposeAsync();
        }
    }

    [PiratePyZmqFact]
    public async Task OurSlowWorker_ZguidePyZmqQueueSendsWhileBusy_EveryRequestAnsweredOnce()
    {
        // The zguide queue treats our heartbeats as "ready" and hands a busy worker more requests
        // (NetMQ/Samples#13); our worker queues them and answers each in turn.
        await using var python = ZguidePeers.Start(ZguidePeers.Queue, "ppqueue.py", IntervalMs, Liveness);
        var (frontend, backend) = await PortsAsync(python);
        int concurrent = 0, maxConcurrent = 0;
        var worker = new ParanoidPirateWorker(
            async (body, ct) =>
            {
                int now = Interlocked.Increment(ref concurrent);
                if (now > Volatile.Read(ref maxConcurrent))
                {
                    Volatile.Write(ref maxConcurrent, now);
                }

                await Task.Delay(TimeSpan.FromMilliseconds(300), ct);
                Interlocked.Decrement(ref concurrent);
                return body;
            },
            new ParanoidPirateWorkerOptions { Endpoint = backend, Heartbeat = PirateTestKit.FastHeartbeat });
        await using var run = Running.Start(worker.RunAsync);
        await ZguidePeers.WaitForLineAsync(python, "worker");

        var ledger = new AnswerLedger();
        var requests = Enumerable.Range(0, 4).Select(i => $"slow-{i}").ToList();
        await ledger.SendFromClientsAsync(frontend, requests, clients: requests.Count);

        ledger.ShouldHaveExactlyOnce(requests);
        maxConcurrent.Should().Be(1, "requests that arrive while busy wait their turn");
        worker.Sessions.Should().Be(1);
    }

    [PiratePyZmqFact]
    public async Task OurWorker_ZguidePyZmqQueueRestartedOnSamePorts_WorkerRejoinsByItself()
    {
        var first = ZguidePeers.Start(ZguidePeers.Queue, "ppqueue.py", IntervalMs, Liveness);
        var (frontend, backend) = await PortsAsync(first);
        var worker = new ParanoidPirateWorker(PirateTestKit.Echo, new ParanoidPirateWorkerOptions { Endpoint = backend, Heartbeat = PirateTestKit.FastHeartbeat });
        await using var run = Running.Start(worker.RunAsync);
        await ZguidePeers.WaitForLineAsync(first, "worker");
        (await PirateTestKit.RequestOnceAsync(frontend, "before")).Should().Be("before");

        await first.DisposeAsync();
        string[] ports = [frontend[(frontend.LastIndexOf(':') + 1)..], backend[(backend.LastIndexOf(':') + 1)..]];
        await using var second = ZguidePeers.Start(ZguidePeers.Queue, "ppqueue.py", IntervalMs, Liveness, ports[0], ports[1]);
        await PortsAsync(second);

        // The zguide queue takes any message as "ready", so the worker's surviving connection (its
        // DEALER reconnects by itself) may rejoin through its heartbeats, or, if the worker noticed
        // the silence first, through READY on a fresh socket. Either way it serves again.
        await using var client = new TestClient(frontend, TimeSpan.FromSeconds(1), attempts: 4);
        (await client.RequestAsync("after")).Should().Be("after");
        worker.RepliesSent.Should().Be(2);
    }

    private static async Task<(string Frontend, string Backend)> PortsAsync(Reliability.Testing.PyZmq.PythonProcess queue)
    {
        var parts = (await ZguidePeers.WaitForLineAsync(queue, "ports")).Split(' ');
        return ($"tcp://127.0.0.1:{parts[1]}", $"tcp://127.0.0.1:{parts[2]}");
    }
}
