using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Reliability.Benchmarks;

/// <summary>The four workloads of libzmq's perf tools.</summary>
internal enum Workload
{
    ThroughputReceive,
    ThroughputSend,
    LatencyEcho,
    LatencyPing,
}

/// <summary>Parsed command line: <c>thr|lat ROLE ENDPOINT SIZE COUNT</c>.</summary>
internal sealed record Arguments(Workload Workload, string Endpoint, int Size, int Count)
{
    // Same limits as zmqperf.c, so a command line valid for one program is valid for the other.
    private const int MaxSize = 1 << 30;
    private const int MaxCount = 1_000_000_000;

    public const string Usage =
        """
        usage: Reliability.Benchmarks thr recv|send ENDPOINT SIZE COUNT
               Reliability.Benchmarks lat echo|ping ENDPOINT SIZE COUNT
          thr recv: PullSocket, binds ENDPOINT, receives COUNT messages of SIZE bytes, prints throughput
          thr send: PushSocket, connects to ENDPOINT, sends COUNT messages of SIZE bytes
          lat echo: ReplySocket, binds ENDPOINT, echoes COUNT messages
          lat ping: RequestSocket, connects to ENDPOINT, times COUNT round trips, prints latency
          SIZE >= 0 bytes, COUNT >= 1; example: Reliability.Benchmarks thr recv tcp://127.0.0.1:5555 16 1000000
        The Majordomo broker workload: Reliability.Benchmarks broker --help
        """;

    public static bool TryParse(string[] args, [NotNullWhen(true)] out Arguments? arguments)
    {
        arguments = null;
        if (args.Length != 5)
        {
            return false;
        }

        Workload? workload = (args[0], args[1]) switch
        {
            ("thr", "recv") => Workload.ThroughputReceive,
            ("thr", "send") => Workload.ThroughputSend,
            ("lat", "echo") => Workload.LatencyEcho,
            ("lat", "ping") => Workload.LatencyPing,
            _ => null,
        };
        if (workload is null
            || string.IsNullOrWhiteSpace(args[2])
            || !TryParseBounded(args[3], 0, MaxSize, out var size)
            || !TryParseBounded(args[4], 1, MaxCount, out var count))
        {
            return false;
        }

        arguments = new Arguments(workload.Value, args[2], size, count);
        return true;
    }

    private static bool TryParseBounded(string text, int min, int max, out int value) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max;
}
