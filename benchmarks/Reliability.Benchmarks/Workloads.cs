using System.Diagnostics;
using System.Globalization;
using Reliability.Transport;

namespace Reliability.Benchmarks;

/// <summary>A workload saw something other than what the peer should have sent.</summary>
internal sealed class BenchmarkFailedException(string message) : Exception(message);

/// <summary>
/// The libzmq perf-tool workloads over our transport, written the way an application would use
/// the async API in a tight loop: one <see cref="Message"/> per send, awaited one at a time.
/// </summary>
internal static class Workloads
{
    // The sender must deliver everything before it exits; compare.sh bounds each run at 120 s.
    private static readonly TimeSpan SenderLinger = TimeSpan.FromSeconds(100);

    /// <summary>Runs the workload; returns the result line to print, or null for the passive side.</summary>
    public static Task<string?> RunAsync(Arguments a) => a.Workload switch
    {
        Workload.ThroughputReceive => ThroughputReceiveAsync(a.Endpoint, a.Size, a.Count),
        Workload.ThroughputSend => ThroughputSendAsync(a.Endpoint, a.Size, a.Count),
        Workload.LatencyEcho => LatencyEchoAsync(a.Endpoint, a.Size, a.Count),
        Workload.LatencyPing => LatencyPingAsync(a.Endpoint, a.Size, a.Count),
        _ => throw new ArgumentOutOfRangeException(nameof(a)),
    };

    private static async Task<string?> ThroughputReceiveAsync(string endpoint, int size, int count)
    {
        await using var pull = new PullSocket();
        pull.Bind(endpoint);

        long start = 0;
        for (var i = 0; i < count; i++)
        {
            var message = await pull.ReceiveAsync();

            // The clock starts at the first message so connection setup is not measured (as libzmq's local_thr).
            if (i == 0)
            {
                start = Stopwatch.GetTimestamp();
            }

            CheckSingleFrame(message, size, i, "message");
        }

        var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;

        // A single message has no interval; avoid dividing by zero (zmqperf.c does the same).
        seconds = Math.Max(seconds, 1e-9);
        var rate = count / seconds;
        var megabits = rate * size * 8 / 1e6;
        return string.Create(
            CultureInfo.InvariantCulture,
            $"thr: {count} msgs of {size} B in {seconds:F3} s: {rate:F0} msg/s, {megabits:F1} Mb/s");
    }

    private static async Task<string?> ThroughputSendAsync(string endpoint, int size, int count)
    {
        await using var push = new PushSocket(new SocketOptions { Linger = SenderLinger });
        push.Connect(endpoint);

        // One payload shared by every message: Message does not copy or own its frames, and an
        // application sending the same buffer repeatedly is legitimate use of the API.
        var payload = new byte[size];
        for (var i = 0; i < count; i++)
        {
            await push.SendAsync(new Message(1).Append(payload));
        }

        // DisposeAsync (await using) waits up to the linger for everything queued to be written.
        return null;
    }

    private static async Task<string?> LatencyEchoAsync(string endpoint, int size, int count)
    {
        await using var rep = new ReplySocket();
        rep.Bind(endpoint);
        for (var i = 0; i < count; i++)
        {
            var request = await rep.ReceiveAsync();
            CheckSingleFrame(request, size, i, "request");

            // The received message is handed straight back, as zmqperf.c does with its zmq_msg_t.
            await rep.SendAsync(request);
        }

        return null;
    }

    private static async Task<string?> LatencyPingAsync(string endpoint, int size, int count)
    {
        await using var req = new RequestSocket();
        req.Connect(endpoint);

        var payload = new byte[size];
        var samples = new long[count];
        for (var i = 0; i < count; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            await req.SendAsync(new Message(1).Append(payload));
            var reply = await req.ReceiveAsync();
            samples[i] = Stopwatch.GetTimestamp() - t0;
            CheckSingleFrame(reply, size, i, "reply");
        }

        return Latency.Summarize(samples, size);
    }

    private static void CheckSingleFrame(Message message, int size, int index, string what)
    {
        if (message.Count != 1 || message[0].Length != size)
        {
            throw new BenchmarkFailedException(string.Create(
                CultureInfo.InvariantCulture,
                $"{what} {index} has {message.Count} frame(s) and {message.TotalLength} bytes, expected {size} bytes in one frame"));
        }
    }
}

/// <summary>Latency statistics, computed exactly as zmqperf.c does.</summary>
internal static class Latency
{
    public static string Summarize(long[] timestampTicks, int size)
    {
        var count = timestampTicks.Length;
        var micros = new double[count];
        var total = 0.0;
        for (var i = 0; i < count; i++)
        {
            micros[i] = timestampTicks[i] * 1e6 / Stopwatch.Frequency;
            total += micros[i];
        }

        Array.Sort(micros);
        return string.Create(
            CultureInfo.InvariantCulture,
            $"lat: {count} round trips of {size} B: mean {total / count:F1} us, p50 {Percentile(micros, 0.50):F1} us, p99 {Percentile(micros, 0.99):F1} us");
    }

    /// <summary>Nearest-rank percentile of a sorted array: the smallest value with at least p of the samples at or below it.</summary>
    public static double Percentile(double[] sorted, double p)
    {
        // The tolerance keeps 0.99 * 20000 at rank 19800 although 0.99 is not exact in binary.
        var rank = (int)Math.Ceiling((p * sorted.Length) - 1e-9);
        return sorted[Math.Clamp(rank, 1, sorted.Length) - 1];
    }
}
