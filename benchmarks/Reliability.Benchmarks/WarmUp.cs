using System.Diagnostics;
using System.Globalization;

namespace Reliability.Benchmarks;

/// <summary>
/// Runs the same loops over a private pair inside this process, on the measured run's transport,
/// before the measured run, so the measurement sees tier-1 (PGO-optimised) code rather than the
/// JIT's first tiers. Without it, a 2,000,000-message run at 16 B spends a large share of its time
/// in unoptimised code and measures the JIT, not the transport (libzmq, being native, has no such
/// phase). The peer process is not involved: the wire traffic of the measured run is exactly
/// libzmq's workload. A CURVE run warms up over CURVE too (fresh keys per round), so the box code
/// is optimised as well. BENCH_WARMUP=0 turns it off, to see the cold numbers.
/// </summary>
internal static class WarmUp
{
    // Tier-1 promotion waits ~100 ms after the last new tier-0 method, then compiles in the
    // background; 1 s of traffic covers that with margin on a busy 2-core machine.
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(1);

    // Bounds the loop whatever happens to the clock: 200 rounds is far beyond 1 s of traffic.
    private const int MaxRounds = 200;

    public static bool Enabled => Environment.GetEnvironmentVariable("BENCH_WARMUP") != "0";

    public static async Task RunAsync(Arguments a)
    {
        var started = Stopwatch.GetTimestamp();
        var latency = a.Workload is Workload.LatencyEcho or Workload.LatencyPing or Workload.LatencyInproc;
        var pubSub = a.Workload is Workload.PubSubPublish or Workload.PubSubSubscribe;
        var transport = a.Endpoint[..Math.Max(a.Endpoint.IndexOf("://", StringComparison.Ordinal), 0)];

        // Rounds of about 16 MB (at most 20,000 messages), so 64 KiB messages do not overshoot the duration much.
        var perRound = Math.Clamp((16 << 20) / Math.Max(a.Size, 1), 50, 20_000);
        if (latency)
        {
            perRound = Math.Min(perRound, 2_000);
        }

        var rounds = 0;
        long messages = 0;
        while (rounds < MaxRounds && Stopwatch.GetElapsedTime(started) < Duration)
        {
            var endpoint = PrivateEndpoint(transport);
            if (latency)
            {
                await Workloads.LatencyPairAsync(endpoint, a.Size, new long[perRound], a.Curve.Enabled);
            }
            else if (pubSub)
            {
                await PubSub.PairAsync(endpoint, a.Size, perRound);
            }
            else
            {
                await Workloads.ThroughputPairAsync(endpoint, a.Size, perRound, a.Curve.Enabled);
            }

            rounds++;
            messages += perRound;
        }

        Console.Error.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"warm-up: {messages} msgs in {Stopwatch.GetElapsedTime(started).TotalSeconds:F2} s over a private {transport} pair{(a.Curve.Enabled ? " with CURVE" : "")}"));
    }

    // A fresh endpoint per round that nothing outside this process can reach.
    private static string PrivateEndpoint(string transport) => transport switch
    {
        "ipc" => "ipc://*",
        "inproc" => $"inproc://warm-up-{Guid.NewGuid():N}",
        _ => "tcp://127.0.0.1:0",
    };
}
