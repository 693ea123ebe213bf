using System.Diagnostics;
using System.Globalization;
using Reliability.Transport;

namespace Reliability.Benchmarks;

/// <summary>
/// PUB/SUB fan-out throughput, the same protocol as zmqperf.c's <c>pubsub</c> so either program's
/// publisher serves either program's subscribers:
/// <list type="bullet">
/// <item>The publisher is an XPUB with <see cref="SocketOptions.XPubVerbose"/>, so every
/// subscriber's subscription reaches it; publishing starts once SUBS of them have arrived, that is
/// once it routes to every subscriber.</item>
/// <item>After COUNT one-frame messages it repeats a two-frame end marker every 10 ms (the
/// high-water mark may drop it too) until the last subscriber's cancel arrives (XPUB reports a
/// cancel only when no subscriber is left).</item>
/// <item>Each subscriber counts what arrives until COUNT messages have or the marker does; the
/// clock runs from the first to the last message that arrived, and what was lost is reported.</item>
/// </list>
/// A publisher drops what a subscriber's queue cannot take, so both high-water marks are COUNT
/// (capped as in zmqperf.c): the publisher's queue for each subscriber can hold the whole run.
/// </summary>
internal static class PubSub
{
    public const int MaxSubscribers = 64;

    // The transport's cap, which is also zmqperf.c's PUBSUB_MAX_HWM.
    private const int MaxHighWaterMark = SocketOptions.MaxHighWaterMark;

    // For every subscription before publishing, and again for the last cancel after the marker.
    private static readonly TimeSpan WaitLimit = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan MarkerEvery = TimeSpan.FromMilliseconds(10);

    public static async Task<string?> PublishAsync(string endpoint, int size, int count, int subscribers)
    {
        var cost = CostMeter.Start();
        double seconds;
        await using (var xpub = CreatePublisher(count))
        {
            xpub.Bind(endpoint);
            seconds = await PublishLoopAsync(xpub, new byte[size], count, subscribers);
        }

        cost.Report(count);
        seconds = Math.Max(seconds, 1e-9);
        return string.Create(
            CultureInfo.InvariantCulture,
            $"pub: {count} msgs of {size} B to {subscribers} subscribers in {seconds:F3} s: {count / seconds:F0} msg/s");
    }

    public static async Task<string?> SubscribeAsync(string endpoint, int size, int count)
    {
        var cost = CostMeter.Start();
        (int Received, double Seconds) result;
        await using (var sub = CreateSubscriber(count))
        {
            sub.Connect(endpoint);
            sub.Subscribe(string.Empty);
            result = await SubscribeLoopAsync(sub, size, count);
        }

        cost.Report(count);
        if (result.Received == 0)
        {
            throw new BenchmarkFailedException("the end marker arrived before any message");
        }

        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"sub: received {result.Received} of {count} msgs, {count - result.Received} dropped"));
        return Workloads.ThroughputLine(result.Received, size, result.Seconds);
    }

    /// <summary>One publisher and one subscriber in this process on <paramref name="endpoint"/> (the warm-up).</summary>
    internal static async Task PairAsync(string endpoint, int size, int count)
    {
        await using var xpub = CreatePublisher(count);
        await using var sub = CreateSubscriber(count);
        sub.Connect(xpub.Bind(endpoint));
        sub.Subscribe(string.Empty);
        var receiving = Task.Run(() => SubscribeLoopAsync(sub, size, count));
        await PublishLoopAsync(xpub, new byte[size], count, subscribers: 1);
        await receiving;
    }

    private static int HighWaterMark(int count) => Math.Min(count, MaxHighWaterMark);

    // No linger: by the end every subscriber has gone, nothing is left to deliver.
    private static XPublisherSocket CreatePublisher(int count) =>
        new(new SocketOptions { SendHighWaterMark = HighWaterMark(count), XPubVerbose = true, Linger = TimeSpan.Zero });

    // The cancel should leave, but closing never waits long for a publisher that has gone.
    private static SubscriberSocket CreateSubscriber(int count) =>
        new(new SocketOptions { ReceiveHighWaterMark = HighWaterMark(count), Linger = TimeSpan.FromSeconds(1) });

    /// <summary>Waits for the subscribers, publishes, ends the run; returns the seconds the publishing took.</summary>
    private static async Task<double> PublishLoopAsync(XPublisherSocket xpub, byte[] payload, int count, int subscribers)
    {
        var waiting = Stopwatch.GetTimestamp();
        var subscribed = 0;
        while (subscribed < subscribers)
        {
            if (await NextSubscriptionAsync(xpub) == 1)
            {
                subscribed++;
            }
            else if (Stopwatch.GetElapsedTime(waiting) > WaitLimit)
            {
                throw new BenchmarkFailedException(string.Create(
                    CultureInfo.InvariantCulture,
                    $"only {subscribed} of {subscribers} subscribers subscribed within {WaitLimit.TotalMilliseconds} ms"));
            }
        }

        var start = Stopwatch.GetTimestamp();
        for (var i = 0; i < count; i++)
        {
            await xpub.SendAsync(new Message(1).Append(payload));
        }

        var seconds = Stopwatch.GetElapsedTime(start).TotalSeconds;
        var ending = Stopwatch.GetTimestamp();
        int? kind;
        do
        {
            await xpub.SendAsync(new Message(2).AppendEmpty().AppendEmpty());
            kind = await NextSubscriptionAsync(xpub);
            if (kind != 0 && Stopwatch.GetElapsedTime(ending) > WaitLimit)
            {
                throw new BenchmarkFailedException(string.Create(
                    CultureInfo.InvariantCulture,
                    $"subscribers still connected {WaitLimit.TotalMilliseconds} ms after the end marker"));
            }
        }
        while (kind != 0);

        return seconds;
    }

    /// <summary>The next subscription message within 10 ms: 1 subscribe, 0 cancel, null nothing (or not a subscription).</summary>
    private static async Task<int?> NextSubscriptionAsync(XPublisherSocket xpub)
    {
        var message = await xpub.TryReceiveAsync(MarkerEvery);
        return message is { Count: 1 } && message[0].Length >= 1 && message[0].Span[0] <= 1 ? message[0].Span[0] : null;
    }

    /// <summary>Receives until <paramref name="count"/> messages or the end marker; returns how many arrived and the seconds from the first to the last.</summary>
    private static async Task<(int Received, double Seconds)> SubscribeLoopAsync(SubscriberSocket sub, int size, int count)
    {
        long start = 0, last = 0;
        var received = 0;
        while (received < count)
        {
            var message = await sub.ReceiveAsync();
            if (message.Count > 1)
            {
                break; // the end marker
            }

            last = Stopwatch.GetTimestamp();
            if (received == 0)
            {
                start = last;
            }

            Workloads.CheckSingleFrame(message, size, received, "message");
            received++;
        }

        // The publisher waits for the last subscriber's cancel.
        sub.Unsubscribe(string.Empty);
        return (received, Stopwatch.GetElapsedTime(start, last).TotalSeconds);
    }
}
