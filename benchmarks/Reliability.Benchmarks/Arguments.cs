using System.Diagnostics.CodeAnalysis;
using System.Globalization;

namespace Reliability.Benchmarks;

/// <summary>The workloads of libzmq's perf tools, their in-process variants and the PUB/SUB fan-out.</summary>
internal enum Workload
{
    ThroughputReceive,
    ThroughputSend,
    ThroughputInproc,
    LatencyEcho,
    LatencyPing,
    LatencyInproc,
    PubSubPublish,
    PubSubSubscribe,
}

/// <summary>
/// Parsed command line: <c>thr|lat ROLE ENDPOINT SIZE COUNT</c>, <c>thr|lat inproc SIZE COUNT</c>,
/// <c>pubsub pub ENDPOINT SIZE COUNT SUBS</c> or <c>pubsub sub ENDPOINT SIZE COUNT</c>, the tcp/ipc
/// thr and lat roles optionally preceded by one CURVE option (<see cref="Curve"/>).
/// </summary>
internal sealed record Arguments(Workload Workload, string Endpoint, int Size, int Count, int Subscribers = 0)
{
    /// <summary>CURVE for the measured sockets, or <see cref="CurveSetup.None"/> for NULL security.</summary>
    public CurveSetup Curve { get; init; } = CurveSetup.None;

    // Same limits and in-process endpoints as zmqperf.c, so a command line valid for one program is valid for the other.
    private const int MaxSize = 1 << 30;
    private const int MaxCount = 1_000_000_000;
    private const string InprocThroughput = "inproc://thr";
    private const string InprocLatency = "inproc://lat";

    public const string Usage =
        """
        usage: Reliability.Benchmarks [CURVE] thr recv|send ENDPOINT SIZE COUNT
               Reliability.Benchmarks thr inproc SIZE COUNT
               Reliability.Benchmarks [CURVE] lat echo|ping ENDPOINT SIZE COUNT
               Reliability.Benchmarks lat inproc SIZE COUNT
               Reliability.Benchmarks pubsub pub ENDPOINT SIZE COUNT SUBS
               Reliability.Benchmarks pubsub sub ENDPOINT SIZE COUNT
          thr recv: PullSocket, binds ENDPOINT, receives COUNT messages of SIZE bytes, prints throughput
          thr send: PushSocket, connects to ENDPOINT, sends COUNT messages of SIZE bytes
          lat echo: ReplySocket, binds ENDPOINT, echoes COUNT messages
          lat ping: RequestSocket, connects to ENDPOINT, times COUNT round trips, prints latency
          thr|lat inproc: both sides in this process over inproc://, on two tasks
          pubsub pub: XPublisherSocket, binds ENDPOINT, waits for SUBS (1..64) subscribers, publishes COUNT messages
          pubsub sub: SubscriberSocket, connects to ENDPOINT, receives up to COUNT messages, prints throughput and drops
          SIZE >= 0 bytes, COUNT >= 1; example: Reliability.Benchmarks thr recv tcp://127.0.0.1:5555 16 1000000
          CURVE (binding roles recv|echo): --curve-secret-key Z85, this side is the CURVE server
          CURVE (connecting roles send|ping): --curve-server-key Z85, a CURVE client with ephemeral keys
          (benchmarks/curve.sh makes a server key pair per run with: zmqperf keygen)
        The Majordomo broker workload: Reliability.Benchmarks broker --help
        """;

    /// <summary>Whether both ends run in this process over <c>inproc://</c>.</summary>
    public bool IsInproc => Workload is Workload.ThroughputInproc or Workload.LatencyInproc;

    public static bool TryParse(string[] args, [NotNullWhen(true)] out Arguments? arguments)
    {
        arguments = null;
        var curve = CurveSetup.None;
        if (args.Length >= 2 && CurveSetup.TryParseOption(args[0], args[1], out var parsed))
        {
            curve = parsed;
            args = args[2..];
        }

        if (args.Length < 4)
        {
            return false;
        }

        Workload? workload = (args[0], args[1]) switch
        {
            ("thr", "recv") => Workload.ThroughputReceive,
            ("thr", "send") => Workload.ThroughputSend,
            ("thr", "inproc") => Workload.ThroughputInproc,
            ("lat", "echo") => Workload.LatencyEcho,
            ("lat", "ping") => Workload.LatencyPing,
            ("lat", "inproc") => Workload.LatencyInproc,
            ("pubsub", "pub") => Workload.PubSubPublish,
            ("pubsub", "sub") => Workload.PubSubSubscribe,
            _ => null,
        };

        // inproc has no ENDPOINT argument; pubsub pub has SUBS after COUNT.
        var (expectedLength, endpoint) = workload switch
        {
            Workload.ThroughputInproc => (4, InprocThroughput),
            Workload.LatencyInproc => (4, InprocLatency),
            Workload.PubSubPublish => (6, args[2]),
            _ => (5, args[2]),
        };
        var sizeIndex = expectedLength == 4 ? 2 : 3;
        var subscribers = 0;
        if (workload is null
            || args.Length != expectedLength
            || string.IsNullOrWhiteSpace(endpoint)
            || !TryParseBounded(args[sizeIndex], 0, MaxSize, out var size)
            || !TryParseBounded(args[sizeIndex + 1], 1, MaxCount, out var count)
            || (workload == Workload.PubSubPublish && !TryParseBounded(args[5], 1, PubSub.MaxSubscribers, out subscribers)))
        {
            return false;
        }

        // CURVE applies to the two-process thr/lat roles, and the key must suit the role: the binder serves.
        var binds = workload is Workload.ThroughputReceive or Workload.LatencyEcho;
        var connects = workload is Workload.ThroughputSend or Workload.LatencyPing;
        if (curve.Enabled && !(curve.IsServer ? binds : connects))
        {
            return false;
        }

        arguments = new Arguments(workload.Value, endpoint, size, count, subscribers) { Curve = curve };
        return true;
    }

    private static bool TryParseBounded(string text, int min, int max, out int value) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max;
}
