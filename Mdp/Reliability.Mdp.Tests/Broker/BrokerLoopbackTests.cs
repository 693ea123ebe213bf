using System.Globalization;
using System.Text;
using Reliability.Mdp.Broker;
using Reliability.Mdp.Protocol;
using Reliability.Testing;
using Reliability.Transport;

namespace Reliability.Mdp.Tests.Broker;

/// <summary>The broker over loopback TCP with raw MDP peers built from <see cref="MdpCodec"/> frames.</summary>
public sealed class BrokerLoopbackTests
{
    private static readonly TimeSpan Wait = LoopbackBroker.Wait;

    [Fact]
    public async Task RunAsync_MixedVersionsSeveralWorkersAndClients_EveryRequestAnsweredByItsOwnReply()
    {
        await using var broker = LoopbackBroker.Start(LoopbackBroker.FastOptions with { HeartbeatInterval = TimeSpan.FromSeconds(1) });
        await using var w1 = new RawWorker(broker.Endpoint, "echo", MdpVersion.V01);
        await using var w2 = new RawWorker(broker.Endpoint, "echo", MdpVersion.V02);
        await using var req01 = new RawClient(broker.Endpoint, MdpVersion.V01, MdpClientSocket.Req);
        await using var dealer01 = new RawClient(broker.Endpoint, MdpVersion.V01);
        await using var dealer02 = new RawClient(broker.Endpoint, MdpVersion.V02);
        const int PerClient = 30;
        using var cts = new CancellationTokenSource(Wait);
        var workers = new[] { w1, w2 }.Select(w => Task.Run(async () =>
        {
            // Each worker echoes until the test ends; 0.2 also sends a PARTIAL first.
            while (!cts.IsCancellationRequested)
            {
                var command = await w.ReceiveAsync(TimeSpan.FromMilliseconds(200));
                if (command is not WorkerRequest request)
                {
                    continue;
                }

                if (w.Version == MdpVersion.V02)
                {
                    w.Send(new WorkerPartial(request.ClientAddress, "partial"u8.ToArray()));
                    w.Send(new WorkerFinal(request.ClientAddress, request.Body));
                }
                else
                {
                    w.Send(new WorkerReply(request.ClientAddress, request.Body));
                }
            }
        })).ToArray();

        var clients = new[] { req01, dealer01, dealer02 }.Select((c, n) => Task.Run(async () =>
        {
            for (int i = 0; i < PerClient; i++)
            {
                string body = string.Create(CultureInfo.InvariantCulture, $"client{n}-{i}");
                (await c.RequestAsync("echo", body)).Should().Be(body);
            }
        })).ToArray();

        await Task.WhenAll(clients).WaitAsync(Wait);
        await cts.CancelAsync();
        await Task.WhenAll(workers).WaitAsync(Wait);
        broker.Metric("replies.sent").Should().Be(3 * PerClient);
        broker.Metric("messages.invalid").Should().Be(0);
    }

    [Fact]
    public async Task RunAsync_V02ClientOfV02Worker_GetsPartialThenFinal()
    {
        await using var broker = LoopbackBroker.Start();
        await using var worker = new RawWorker(broker.Endpoint, "stream", MdpVersion.V02);
        await using var client = new RawClient(broker.Endpoint, MdpVersion.V02);

        client.Send("stream", "go");
        var request = await worker.ReceiveRequestAsync();
        worker.Send(new WorkerPartial(request.ClientAddress, "1"u8.ToArray()));
        worker.Send(new WorkerPartial(request.ClientAddress, "2"u8.ToArray()));
        worker.Send(new WorkerFinal(request.ClientAddress, "done"u8.ToArray()));

        (await client.ReceiveAsync()).Should().BeOfType<ClientPartial>();
        (await client.ReceiveAsync()).Should().BeOfType<ClientPartial>();
        (await client.ReceiveAsync()).Should().BeOfType<ClientFinal>().Which.Body[0].ToArray().Should().Equal("done"u8.ToArray());
    }

    [Fact]
    public async Task RunAsync_BusyWorkerConnectionClosed_RequestRequeuedToAnotherWorker()
    {
        await using var broker = LoopbackBroker.Start();
        await using var client = new RawClient(broker.Endpoint);
        var doomed = new RawWorker(broker.Endpoint, "echo").HeartbeatEvery(TimeSpan.FromMilliseconds(50));
        client.Send("echo", "important");
        await doomed.ReceiveRequestAsync();
        await using var survivor = new RawWorker(broker.Endpoint, "echo").HeartbeatEvery(TimeSpan.FromMilliseconds(50));

        // The worker dies without a word while busy: the broker finds out when its next send fails (or on expiry).
        await doomed.DisposeAsync();
        var request = await survivor.ReceiveRequestAsync();
        survivor.Send(new WorkerReply(request.ClientAddress, "served"u8.ToArray()));

        var reply = await client.ReceiveAsync();
        reply.Should().BeOfType<ClientReply>().Which.Body[0].ToArray().Should().Equal("served"u8.ToArray());
        broker.Metric("requests.requeued").Should().Be(1);
    }

    [Fact]
    public async Task RunAsync_BusyWorkerConnectionClosedWithLongHeartbeat_RequeuedWithoutWaitingForHeartbeat()
    {
        // A 60 s heartbeat: the only way the request moves within the test's timeout is the socket's
        // Disconnected event, which the broker acts on at once.
        var slow = LoopbackBroker.FastOptions with { HeartbeatInterval = TimeSpan.FromSeconds(60) };
        await using var broker = LoopbackBroker.Start(slow);
        await using var client = new RawClient(broker.Endpoint);
        var doomed = new RawWorker(broker.Endpoint, "echo");
        client.Send("echo", "important");
        await doomed.ReceiveRequestAsync();
        await using var survivor = new RawWorker(broker.Endpoint, "echo");
        await broker.WaitForWorkersAsync(2);

        await doomed.DisposeAsync();
        var request = await survivor.ReceiveRequestAsync();
        survivor.Send(new WorkerReply(request.ClientAddress, "served"u8.ToArray()));

        var reply = await client.ReceiveAsync();
        reply.Should().BeOfType<ClientReply>().Which.Body[0].ToArray().Should().Equal("served"u8.ToArray());
        broker.Metric("workers.expired").Should().Be(1);
    }

    [Fact]
    public async Task RunAsync_SilentWorker_ExpiredAndMmiSays404()
    {
        await using var broker = LoopbackBroker.Start();
        await using var client = new RawClient(broker.Endpoint);
        await using var worker = new RawWorker(broker.Endpoint, "echo").HeartbeatEvery(TimeSpan.FromMilliseconds(50));
        (await worker.ReceiveAsync(Wait, skipHeartbeats: false)).Should().Be(WorkerHeartbeat.Instance, "the broker heartbeats registered workers");
        (await client.RequestAsync(Mmi.ServiceLookup, "echo")).Should().Be("200");

        // From now on the worker is silent: it is expired after 10 × 200 ms and told so.
        await worker.StopHeartbeatsAsync();
        (await worker.ReceiveAsync(Wait)).Should().Be(WorkerDisconnect.Instance);

        (await client.RequestAsync(Mmi.ServiceLookup, "echo")).Should().Be("404");
        broker.Metric("workers.expired").Should().Be(1);
    }

    [Fact]
    public async Task RunAsync_WorkerHeartbeating_StaysRegisteredAndHearsHeartbeats()
    {
        var log = new InMemoryLog();
        await using var broker = LoopbackBroker.Start(loggerFactory: log);
        await using var worker = new RawWorker(broker.Endpoint, "echo").HeartbeatEvery(TimeSpan.FromMilliseconds(50));
        await using var client = new RawClient(broker.Endpoint);

        // Twelve broker heartbeats = twelve intervals, past the 2 s expiry.
        for (int i = 0; i < 12; i++)
        {
            (await worker.ReceiveAsync(Wait, skipHeartbeats: false)).Should().Be(WorkerHeartbeat.Instance, log.ToString());
        }

        (await client.RequestAsync(Mmi.ServiceLookup, "echo")).Should().Be("200", log.ToString());
        client.Send("echo", "x");
        (await worker.ReceiveRequestAsync()).Body[0].ToArray().Should().Equal("x"u8.ToArray());
    }

    [Fact]
    public async Task RunAsync_MmiExtensions_AnswerWorkersAndServices()
    {
        await using var broker = LoopbackBroker.Start(LoopbackBroker.FastOptions with { HeartbeatInterval = TimeSpan.FromSeconds(1) });
        await using var w1 = new RawWorker(broker.Endpoint, "echo");
        await using var w2 = new RawWorker(broker.Endpoint, "time", MdpVersion.V02);
        await using var client = new RawClient(broker.Endpoint, MdpVersion.V02);

        await broker.WaitForWorkersAsync(2);

        client.Send(MajordomoBroker.ServicesService);
        var services = await client.ReceiveAsync();
        (await client.RequestAsync("mmi.unknown", "x")).Should().Be("501");

        services.Should().BeOfType<ClientFinal>().Which.Body.Select(f => Encoding.UTF8.GetString(f.Span)).Should().Equal("200", "echo", "time");
    }

    [Fact]
    public async Task RunAsync_Cancelled_DisconnectsWorkersAndStopsWithinASecond()
    {
        var broker = LoopbackBroker.Start();
        await using var w1 = new RawWorker(broker.Endpoint, "echo", MdpVersion.V01).HeartbeatEvery(TimeSpan.FromMilliseconds(50));
        await using var w2 = new RawWorker(broker.Endpoint, "echo", MdpVersion.V02).HeartbeatEvery(TimeSpan.FromMilliseconds(50));
        await broker.WaitForWorkersAsync(2);

        var started = DateTime.UtcNow;
        await broker.StopAsync();
        var stoppedIn = DateTime.UtcNow - started;

        stoppedIn.Should().BeLessThan(TimeSpan.FromSeconds(1));
        (await w1.ReceiveAsync()).Should().Be(WorkerDisconnect.Instance);
        (await w2.ReceiveAsync()).Should().Be(WorkerDisconnect.Instance);
        await broker.DisposeAsync();
    }

    [Fact]
    public async Task Bind_EndpointInUse_ThrowsEndpointException()
    {
        await using var first = LoopbackBroker.Start();
        await using var second = new MajordomoBroker(LoopbackBroker.FastOptions with { Endpoints = [first.Endpoint] });

        var act = () => second.Bind();

        act.Should().Throw<EndpointException>().WithMessage("*in use*");
    }

    [Fact]
    public async Task RunAsync_BrokerRestartedOnSamePort_WorkerHeartbeatAnsweredWithDisconnect()
    {
        string endpoint;
        await using (var first = LoopbackBroker.Start())
        {
            endpoint = first.Endpoint;
        }

        await using var worker = new RawWorker(endpoint, "echo", sendReady: false);
        await using var second = LoopbackBroker.Start(LoopbackBroker.FastOptions with { Endpoints = [endpoint] });

        // The worker believes it is registered (it was, with the previous broker).
        worker.Send(WorkerHeartbeat.Instance);

        (await worker.ReceiveAsync()).Should().Be(WorkerDisconnect.Instance);
    }
}
