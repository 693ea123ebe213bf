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
    public static async Task<string?> RunAsync(Arguments a)
    {
        try
        {
            if (WarmUp.Enabled)
            {
                await WarmUp.RunAsync(a);
            }

            return a.Workload switch
            {
                Workload.ThroughputReceive => await ThroughputReceiveAsync(a.Endpoint, a.Size, a.Count, a.Curve),
                Workload.ThroughputSend => await ThroughputSendAsync(a.Endpoint, a.Size, a.Count, a.Curve),
                Workload.ThroughputInproc => await ThroughputInprocAsync(a.Endpoint, a.Size, a.Count),
                Workload.LatencyEcho => await LatencyEchoAsync(a.Endpoint, a.Size, a.Count, a.Curve),
                Workload.LatencyPing => await LatencyPingAsync(a.Endpoint, a.Size, a.Count, a.Curve),
                Workload.LatencyInproc => await LatencyInprocAsync(a.Endpoint, a.Size, a.Count),
                Workload.PubSubPublish => await PubSub.PublishAsync(a.Endpoint, a.Size, a.Count, a.Subscribers),
                Workload.PubSubSubscribe => await PubSub.SubscribeAsync(a.Endpoint, a.Size, a.Count),
                _ => throw new ArgumentOutOfRangeException(nameof(a)),
            };
        }
        catch (EndpointException ex) when (a.IsInproc)
        {
            throw new BenchmarkFailedException($"the transport rejected an inproc:// endpoint ({ex.Message}); this mode needs a transport build with in-process support");
        }
    }

    private static async Task<string?> ThroughputReceiveAsync(string endpoint, int size, int count, CurveSetup curve)
    {
        var cost = CostMeter.Start();
        double seconds;
        await using (var pull = new PullSocket(curve.Apply(new SocketOptions())))
        {
            pull.Bind(endpoint);
            seconds = await ReceiveLoopAsync(pull, size, count);
        }

        cost.Report(count);
        return ThroughputLine(count, size, seconds);
    }

    private static async Task<string?> ThroughputInprocAsync(string endpoint, int size, int count)
    {
        var cost = CostMeter.Start();
        var seconds = await ThroughputPairAsync(endpoint, size, count);
        cost.Report(count);
        return ThroughputLine(count, size, seconds);
    }

    /// <summary>The fixed <c>thr:</c> result line (zmqperf.c prints the same).</summary>
    internal static string ThroughputLine(int count, int size, double seconds)
    {
        // A single message has no interval; avoid dividing by zero (zmqperf.c does the same).
        seconds = Math.Max(seconds, 1e-9);
        var rate = count / seconds;
        var megabits = rate * size * 8 / 1e6;
        return string.Create(
            CultureInfo.InvariantCulture,
            $"thr: {count} msgs of {size} B in {seconds:F3} s: {rate:F0} msg/s, {megabits:F1} Mb/s");
    }

    private static async Task<string?> ThroughputSendAsync(string endpoint, int size, int count, CurveSetup curve)
    {
        var cost = CostMeter.Start();

        // DisposeAsync (end of the using block) waits up to the linger for everything queued to be written.
        await using (var push = new PushSocket(curve.Apply(new SocketOptions { Linger = SenderLinger })))
        {
            push.Connect(endpoint);
            await SendLoopAsync(push, new byte[size], count);
        }

        cost.Report(count);
        return null;
    }

    private static async Task<string?> LatencyEchoAsync(string endpoint, int size, int count, CurveSetup curve)
    {
        var cost = CostMeter.Start();
        await using (var rep = new ReplySocket(curve.Apply(new SocketOptions())))
        {
            rep.Bind(endpoint);
            await EchoLoopAsync(rep, size, count);
        }

        cost.Report(count);
        return null;
    }

    private static async Task<string?> LatencyPingAsync(string endpoint, int size, int count, CurveSetup curve)
    {
        var cost = CostMeter.Start();
        var samples = new long[count];
        await using (var req = new RequestSocket(curve.Apply(new SocketOptions())))
        {
            req.Connect(endpoint);
            await PingLoopAsync(req, new byte[size], samples);
        }

        cost.Report(count);
        return Latency.Summarize(samples, size);
    }

    private static async Task<string?> LatencyInprocAsync(string endpoint, int size, int count)
    {
        var cost = CostMeter.Start();
        var samples = new long[count];
        await LatencyPairAsync(endpoint, size, samples);
        cost.Report(count);
        return Latency.Summarize(samples, size);
    }

    /// <summary>
    /// PULL bound to <paramref name="endpoint"/> and PUSH connected to it, both in this process:
    /// the sender on a task of its own, which disposes its socket (lingering until everything is
    /// delivered) as a separate sending process would. Returns the receiver's seconds from the
    /// first to the last message. With <paramref name="curve"/> the pair runs CURVE on fresh keys.
    /// </summary>
    internal static async Task<double> ThroughputPairAsync(string endpoint, int size, int count, bool curve = false)
    {
        var (server, client) = curve ? CurveSetup.NewPair() : (CurveSetup.None, CurveSetup.None);
        await using var pull = new PullSocket(server.Apply(new SocketOptions()));
        var bound = pull.Bind(endpoint);
        var push = new PushSocket(client.Apply(new SocketOptions { Linger = SenderLinger }));
        try
        {
            push.Connect(bound);
        }
        catch
        {
            await push.DisposeAsync();
            throw;
        }

        var sending = Task.Run(async () =>
        {
            await using (push)
            {
                await SendLoopAsync(push, new byte[size], count);
            }
        });
        var seconds = await ReceiveLoopAsync(pull, size, count);
        await sending;
        return seconds;
    }

    /// <summary>
    /// REP bound to <paramref name="endpoint"/> echoing on a task of its own, REQ connected to it timing
    /// the round trips; with <paramref name="curve"/> over CURVE on fresh keys.
    /// </summary>
    internal static async Task LatencyPairAsync(string endpoint, int size, long[] samples, bool curve = false)
    {
        var (server, client) = curve ? CurveSetup.NewPair() : (CurveSetup.None, CurveSetup.None);
        await using var rep = new ReplySocket(server.Apply(new SocketOptions()));
        await using var req = new RequestSocket(client.Apply(new SocketOptions()));
        req.Connect(rep.Bind(endpoint));
        var echoing = Task.Run(() => EchoLoopAsync(rep, size, samples.Length));
        await PingLoopAsync(req, new byte[size], samples);
        await echoing;
    }

    /// <summary>Receives <paramref name="count"/> messages; returns the seconds from the first to the last.</summary>
    internal static async Task<double> ReceiveLoopAsync(PullSocket pull, int size, int count)
    {
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

        return Stopwatch.GetElapsedTime(start).TotalSeconds;
    }

    /// <summary>Sends <paramref name="count"/> messages as fast as the socket takes them.</summary>
    internal static async Task SendLoopAsync(PushSocket push, byte[] payload, int count)
    {
        // One payload shared by every message: Message does not copy or own its frames, and an
        // application sending the same buffer repeatedly is legitimate use of the API.
        for (var i = 0; i < count; i++)
        {
            await push.SendAsync(new Message(1).Append(payload));
        }
    }

    /// <summary>Answers <paramref name="count"/> requests with themselves.</summary>
    internal static async Task EchoLoopAsync(ReplySocket rep, int size, int count)
    {
        for (var i = 0; i < count; i++)
        {
            var request = await rep.ReceiveAsync();
            CheckSingleFrame(request, size, i, "request");

            // The received message is handed straight back, as zmqperf.c does with its zmq_msg_t.
            await rep.SendAsync(request);
        }
    }

    /// <summary>Makes one timed round trip per element of <paramref name="samples"/> (stopwatch ticks).</summary>
    internal static async Task PingLoopAsync(RequestSocket req, byte[] payload, long[] samples)
    {
        for (var i = 0; i < samples.Length; i++)
        {
            var t0 = Stopwatch.GetTimestamp();
            await req.SendAsync(new Message(1).Append(payload));
            var reply = await req.ReceiveAsync();
            samples[i] = Stopwatch.GetTimestamp() - t0;
            CheckSingleFrame(reply, payload.Length, i, "reply");
        }
    }

    internal static void CheckSingleFrame(Message message, int size, int index, string what)
    {
        if (message.Count != 1 || message[0].Length != size)
        {
            throw new BenchmarkFailedException(string.Create(
                CultureInfo.InvariantCulture,
                $"{what} {index} has {message.Count} frame(s) and {message.TotalLength} bytes, expected {size} bytes in one frame"));
        }
    }
}

/// <summary>
/// What a run cost this process, printed to stderr (stdout's last line is the contract): CPU time
/// per message is far steadier than wall time on a busy machine, and allocations per message
/// show where the GC pressure comes from. zmqperf.c prints the same cpu line.
/// </summary>
internal readonly struct CostMeter
{
    private readonly TimeSpan _cpu;
    private readonly TimeSpan _user;
    private readonly long _allocated;
    private readonly int _gen0;
    private readonly int _gen1;
    private readonly int _gen2;

    private CostMeter(Process process)
    {
        _cpu = process.TotalProcessorTime;
        _user = process.UserProcessorTime;
        _allocated = GC.GetTotalAllocatedBytes(precise: false);
        _gen0 = GC.CollectionCount(0);
        _gen1 = GC.CollectionCount(1);
        _gen2 = GC.CollectionCount(2);
    }

    public static CostMeter Start()
    {
        using var process = Process.GetCurrentProcess();
        return new CostMeter(process);
    }

    public void Report(int count)
    {
        using var process = Process.GetCurrentProcess();
        var cpu = (process.TotalProcessorTime - _cpu).TotalSeconds;
        var user = (process.UserProcessorTime - _user).TotalSeconds;
        var allocated = GC.GetTotalAllocatedBytes(precise: false) - _allocated;
        Console.Error.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"cpu: {cpu * 1e6 / count:F2} us/msg (user {user:F3} s, sys {cpu - user:F3} s, {count} msgs)"));
        Console.Error.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"gc: {(double)allocated / count:F0} B/msg allocated, collections gen0 {GC.CollectionCount(0) - _gen0}, gen1 {GC.CollectionCount(1) - _gen1}, gen2 {GC.CollectionCount(2) - _gen2}"));
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
