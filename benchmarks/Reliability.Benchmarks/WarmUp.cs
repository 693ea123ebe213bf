using System.Diagnostics;
using System.Globalization;
using Reliability.Transport;

namespace Reliability.Benchmarks;

/// <summary>
/// Runs the same loops over a private loopback pair inside this process before the measured run,
/// so the measurement sees tier-1 (PGO-optimised) code rather than the JIT's first tiers. Without
/// it, a 2,000,000-message run at 16 B spends a large share of its time in unoptimised code and
/// measures the JIT, not the transport (libzmq, being native, has no such phase). The peer
/// process is not involved: the wire traffic of the measured run is exactly libzmq's workload.
/// BENCH_WARMUP=0 turns it off, to see the cold numbers.
/// </summary>
internal static class WarmUp
{
    // Tier-1 promotion waits ~100 ms after the last new tier-0 method, then compiles in the
    // background; 1 s of traffic covers that with margin on a busy 2-core machine.
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(1);

    // Bounds the loop whatever happens to the clock: 200 rounds is far beyond 1 s of traffic.
    private const int MaxRounds = 200;

    public static bool Enabled => Environment.GetEnvironmentVariable("BENCH_WARMUP") != "0";

    public static async Task RunAsync(Workload workload, int size)
    {
        var started = Stopwatch.GetTimestamp();
        var latency = workload is Workload.LatencyEcho or Workload.LatencyPing;

        // Rounds of about 16 MB (at most 20,000 messages), so 64 KiB messages do not overshoot the duration much.
        var perRound = Math.Clamp((16 << 20) / Math.Max(size, 1), 50, 20_000);
        if (latency)
        {
            perRound = Math.Min(perRound, 2_000);
        }

        var rounds = 0;
        long messages = 0;
        while (rounds < MaxRounds && Stopwatch.GetElapsedTime(started) < Duration)
        {
            if (latency)
            {
                await LatencyRoundAsync(size, perRound);
            }
            else
            {
                await ThroughputRoundAsync(size, perRound);
            }

            rounds++;
            messages += perRound;
        }

        Console.Error.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"warm-up: {messages} msgs in {Stopwatch.GetElapsedTime(started).TotalSeconds:F2} s over a private loopback pair"));
    }

    private static async Task ThroughputRoundAsync(int size, int count)
    {
        await using var pull = new PullSocket();
        await using var push = new PushSocket(new SocketOptions { Linger = TimeSpan.FromSeconds(10) });
        push.Connect(pull.Bind("tcp://127.0.0.1:0"));
        var receiving = Workloads.ReceiveLoopAsync(pull, size, count);
        await Workloads.SendLoopAsync(push, new byte[size], count);
        await receiving;
    }

    private static async Task LatencyRoundAsync(int size, int count)
    {
        await using var rep = new ReplySocket();
        await using var req = new RequestSocket();
        req.Connect(rep.Bind("tcp://127.0.0.1:0"));
        var echoing = Workloads.EchoLoopAsync(rep, size, count);
        await Workloads.PingLoopAsync(req, new byte[size], new long[count]);
        await echoing;
    }
}
