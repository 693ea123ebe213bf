using System.Buffers.Binary;
using System.Diagnostics;
using System.Runtime.CompilerServices;
using Reliability.Mdp.Broker;
using Reliability.Mdp.Client;
using Reliability.Mdp.Protocol;
using Reliability.Mdp.Worker;
using Reliability.Transport;
using Xunit.Abstractions;

namespace Reliability.Mdp.Tests.Broker;

/// <summary>Over the wire: a client that sends everything before it reads gets every reply, and one that floods does not stop the others.</summary>
public sealed class BrokerFlowControlTests(ITestOutputHelper output)
{
    [Theory]
    [InlineData(100_000, null)]
    [InlineData(20_000, 500)]
    public async Task ClientThatPipelinesEverything_GetsEveryReply(int requests, int? perClientLimit)
    {
        // The second case keeps the client paused most of the time: 20 000 requests through a 500-request limit.
        var options = LoopbackBroker.FastOptions with
        {
            RequestExpiry = TimeSpan.FromMinutes(5),
            MaxQueuedRequestsPerService = perClientLimit ?? BrokerOptions.Default.MaxQueuedRequestsPerService,
        };
        await using var broker = LoopbackBroker.Start(options);
        using var stop = new CancellationTokenSource();
        var workers = StartEchoWorkers(broker, stop.Token);
        await using var client = new DealerSocket();
        client.Connect(broker.Endpoint);

        // Everything first, as the zguide's mdclient2 does: the broker must hold what the client does not read yet.
        await Task.Run(() => SendAllThenReadAllAsync(client, requests, new StrongBox<int>())).WaitAsync(TimeSpan.FromSeconds(180));
        broker.Metric("requests.dropped").Should().Be(0);
        broker.Metric("replies.dropped").Should().Be(0);
        broker.Metric("clients.paused").Should().BeGreaterThan(0, "the client outran the workers, so flow control held it back");
        await stop.CancelAsync();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(10));
    }

    [PyZmqFact]
    public async Task PyZmqClientThatPipelinesEverything_GetsEveryReply()
    {
        const int requests = 30_000;
        await using var broker = LoopbackBroker.Start(LoopbackBroker.FastOptions with { RequestExpiry = TimeSpan.FromMinutes(5) });
        using var stop = new CancellationTokenSource();
        var workers = StartEchoWorkers(broker, stop.Token);
        await broker.WaitForWorkersAsync(2);

        await using var client = await PyZmqMdpPeer.StartPipelineClientAsync(broker.Endpoint, "echo", requests);
        var done = await client.WaitForAsync("done", TimeSpan.FromSeconds(120));

        done["ok"]!.GetValue<int>().Should().Be(requests);
        done["wrong"]!.GetValue<int>().Should().Be(0);
        broker.Metric("requests.dropped").Should().Be(0);
        await stop.CancelAsync();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task FloodingClient_DoesNotHoldBackAnotherClient()
    {
        // Fairness by order, not by a timed threshold: the broker takes the clients' requests in turn, so a client
        // asking one request at a time waits about one flood request per turn. Served first come first served, each
        // of its requests would wait behind the whole held queue (10,000 requests), and the flood would be answered
        // long before its 100 requests are.
        const int flood = 50_000;
        const int probes = 100;
        await using var broker = LoopbackBroker.Start(LoopbackBroker.FastOptions with { RequestExpiry = TimeSpan.FromMinutes(5) });
        using var stop = new CancellationTokenSource();
        var workers = StartEchoWorkers(broker, stop.Token);
        await broker.WaitForWorkersAsync(2);
        await using var probe = new MajordomoClient(new MajordomoClientOptions { BrokerEndpoint = broker.Endpoint, Timeout = TimeSpan.FromSeconds(30), Retries = 0 });
        var quiet = await TimeProbesAsync(probe, probes);

        await using var flooder = new DealerSocket();
        flooder.Connect(broker.Endpoint);
        var floodAnswered = new StrongBox<int>();
        var flooding = Task.Run(() => SendAllThenReadAllAsync(flooder, flood, floodAnswered));
        await broker.WhenMetric("clients.paused", 1).WaitAsync(TimeSpan.FromSeconds(60));
        var loaded = await TimeProbesAsync(probe, probes);

        flooding.IsCompleted.Should().BeFalse("the probe's requests were answered while the flood was still queued");
        Volatile.Read(ref floodAnswered.Value).Should().BeLessThan(flood);
        await flooding.WaitAsync(TimeSpan.FromSeconds(180));
        broker.Metric("requests.dropped").Should().Be(0);

        // Reported, not asserted: timings are for benchmarks (broker --mode sync --flood F).
        output.WriteLine($"probe round trips: quiet {Describe(quiet)}; during the flood {Describe(loaded)}");
        await stop.CancelAsync();
        await Task.WhenAll(workers).WaitAsync(TimeSpan.FromSeconds(10));
    }

    private static List<Task> StartEchoWorkers(LoopbackBroker broker, CancellationToken stop) =>
        Enumerable.Range(0, 2)
            .Select(_ => new MajordomoWorker(new WorkerOptions { BrokerEndpoint = broker.Endpoint, Service = "echo" }).RunAsync(static (r, _) => ValueTask.FromResult(r.Body), stop))
            .ToList();

    /// <summary>Sends <paramref name="requests"/> numbered echo requests, then reads every reply, each exactly once.</summary>
    private static async Task SendAllThenReadAllAsync(DealerSocket client, int requests, StrongBox<int> answered)
    {
        var body = new byte[4];
        for (int i = 0; i < requests; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(body, i);
            await client.SendAsync(MdpCodec.BuildFromClient(new ClientRequest("echo", (ReadOnlyMemory<byte>)body.ToArray()), MdpVersion.V01, MdpClientSocket.Dealer));
        }

        var seen = new bool[requests];
        for (int i = 0; i < requests; i++)
        {
            var reply = await client.TryReceiveAsync(TimeSpan.FromSeconds(30));
            reply.Should().NotBeNull($"reply {i} of {requests} should arrive");
            var parsed = MdpCodec.ParseAtClient(reply!, MdpClientSocket.Dealer);
            parsed.IsSuccess.Should().BeTrue();
            int index = BinaryPrimitives.ReadInt32LittleEndian(((ClientReply)parsed.Command!).Body[0].Span);
            seen[index].Should().BeFalse("each request is answered once");
            seen[index] = true;
            Volatile.Write(ref answered.Value, i + 1);
        }
    }

    /// <summary>Round trips of <paramref name="count"/> requests made one at a time, in microseconds.</summary>
    private static async Task<double[]> TimeProbesAsync(MajordomoClient client, int count)
    {
        var micros = new double[count];
        for (int i = 0; i < count; i++)
        {
            long started = Stopwatch.GetTimestamp();
            var reply = await client.RequestAsync("echo", Message.FromStrings("probe " + i));
            micros[i] = Stopwatch.GetElapsedTime(started).TotalMicroseconds;
            reply.Body.Should().HaveCount(1);
        }

        return micros;
    }

    private static string Describe(double[] micros)
    {
        var sorted = micros.Order().ToArray();
        double At(double q) => sorted[Math.Max(0, (int)Math.Ceiling(sorted.Length * q) - 1)];
        return FormattableString.Invariant($"p50 {At(0.5):F0} us, p90 {At(0.9):F0} us, p99 {At(0.99):F0} us, max {sorted[^1]:F0} us");
    }
}
