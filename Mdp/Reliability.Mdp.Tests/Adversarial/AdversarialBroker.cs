using System.Diagnostics;
using Reliability.Mdp.Client;
using Reliability.Mdp.Worker;
using Reliability.Transport;
using Xunit.Abstractions;

namespace Reliability.Mdp.Tests.Adversarial;

/// <summary>What one attack did: the broker's RSS before, at its peak and after, and whether valid clients were served.</summary>
internal sealed record AttackRow(string Attack, long RssBefore, long RssPeak, long RssAfter, bool Served, int CanaryAnswered)
{
    public override string ToString() =>
        $"| {Attack} | {RssBefore >> 20} MiB | {RssPeak >> 20} MiB | {RssAfter >> 20} MiB | {(Served ? "yes" : "NO")} ({CanaryAnswered} canary requests, none lost) |";
}

/// <summary>
/// One real <c>mdbroker</c> process with default limits for the whole adversarial suite, an <c>echo</c>
/// worker and a <c>big</c> worker (256 KiB replies) in this process, and the measuring around each attack:
/// RSS sampled every 20 ms, a canary client whose every request must be answered while the attack runs,
/// and a fresh valid client served afterwards.
/// </summary>
public sealed class AdversarialBroker : IAsyncLifetime, IDisposable
{
    /// <summary>The broker's RSS never passes this in the whole suite, with its default limits (docs/security-limits.md).</summary>
    public const long AbsoluteBoundMiB = 512;

    /// <summary>Size of each reply of the <c>big</c> service.</summary>
    public const int BigReply = 256 * 1024;

    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _workers = [];

    internal BrokerProcess Broker { get; private set; } = null!;

    public string Endpoint => Broker.Endpoint;

    public async Task InitializeAsync()
    {
        Broker = await BrokerProcess.StartAsync();
        _workers.Add(StartWorker("echo", static (request, _) => ValueTask.FromResult(request.Body)));
        var big = Message.FromFrames(new byte[BigReply]);
        _workers.Add(StartWorker("big", (_, _) => ValueTask.FromResult(big)));
        (await ServedAsync()).Should().BeTrue("the echo worker serves before any attack");
        await using var client = NewClient(TimeSpan.FromSeconds(5), retries: 3);
        (await client.RequestAsync("big", Message.FromStrings("x"))).Body[0].Length.Should().Be(BigReply);
    }

    public async Task DisposeAsync()
    {
        await _stop.CancelAsync();
        await Broker.DisposeAsync();
        await Task.WhenAll(_workers).WaitAsync(TimeSpan.FromSeconds(10)).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    public void Dispose() => _stop.Dispose();

    /// <summary>Whether a new, valid client gets its echo within a few seconds (it retries, as real clients do).</summary>
    public async Task<bool> ServedAsync()
    {
        await using var client = NewClient(TimeSpan.FromSeconds(3), retries: 4);
        try
        {
            var reply = await client.RequestAsync("echo", Message.FromStrings("probe"));
            return reply.Body.GetString(0) == "probe";
        }
        catch (Exception ex) when (ex is TimeoutException or OperationCanceledException or ReliabilityException)
        {
            return false;
        }
    }

    /// <summary>
    /// Runs <paramref name="attack"/> while sampling the broker's RSS and keeping a canary client busy,
    /// then checks that a fresh client is served and that the canary lost nothing. Writes the table row.
    /// </summary>
    internal async Task<AttackRow> MeasureAsync(ITestOutputHelper output, string name, long growthBoundMiB, Func<Task> attack)
    {
        long before = Broker.Rss();
        long peak = before;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            // Bounded by the cancellation below.
            while (!sampling.IsCancellationRequested)
            {
                peak = Math.Max(peak, Broker.Rss());
                await Task.Delay(20, CancellationToken.None);
            }
        });
        using var canaryStop = new CancellationTokenSource();
        var canary = RunCanaryAsync(canaryStop.Token);

        await attack();
        bool served = await ServedAsync();
        await canaryStop.CancelAsync();
        int answered = await canary;
        await Task.Delay(200);
        long after = Broker.Rss();
        await sampling.CancelAsync();
        await sampler;
        peak = Math.Max(peak, after);

        var row = new AttackRow(name, before, peak, after, served, answered);
        output.WriteLine(row.ToString());
        served.Should().BeTrue($"a valid client is served after '{name}'");
        Broker.HasExited.Should().BeFalse();
        ((peak - before) >> 20).Should().BeLessThanOrEqualTo(growthBoundMiB, $"the broker's RSS grows by at most the documented bound during '{name}' (docs/security-limits.md)");
        (peak >> 20).Should().BeLessThanOrEqualTo(AbsoluteBoundMiB, "whatever ran before");
        return row;
    }

    /// <summary>Sequential requests with no retry and a long timeout: any request the broker accepted and then lost fails the run.</summary>
    private async Task<int> RunCanaryAsync(CancellationToken stop)
    {
        await using var client = NewClient(TimeSpan.FromSeconds(20), retries: 0);
        int answered = 0;

        // Bounded by the caller's stop; each request by its timeout.
        while (!stop.IsCancellationRequested)
        {
            string body = "canary-" + answered;
            var reply = await client.RequestAsync("echo", Message.FromStrings(body), CancellationToken.None);
            reply.Body.GetString(0).Should().Be(body);
            answered++;
            await Task.Delay(20, CancellationToken.None);
        }

        return answered;
    }

    private MajordomoClient NewClient(TimeSpan timeout, int retries) =>
        new(new MajordomoClientOptions { BrokerEndpoint = Endpoint, Timeout = timeout, Retries = retries });

    private Task StartWorker(string service, Func<MdpRequest, CancellationToken, ValueTask<Message>> handler) => Task.Run(async () =>
    {
        await using var worker = new MajordomoWorker(new WorkerOptions { BrokerEndpoint = Endpoint, Service = service });
        try
        {
            await worker.RunAsync(handler, _stop.Token);
        }
        catch (OperationCanceledException)
        {
            // The suite is over.
        }
    });

    /// <summary>Elapsed time of <paramref name="action"/>.</summary>
    internal static async Task<TimeSpan> TimeAsync(Func<Task> action)
    {
        long start = Stopwatch.GetTimestamp();
        await action();
        return Stopwatch.GetElapsedTime(start);
    }
}
