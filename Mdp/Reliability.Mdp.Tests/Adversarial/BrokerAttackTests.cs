using System.Text;
using Reliability.Mdp.Protocol;
using Reliability.Mdp.Tests.Broker;
using Reliability.Transport;
using Xunit.Abstractions;

namespace Reliability.Mdp.Tests.Adversarial;

/// <summary>
/// Issue 15's attacks on the broker's port, over the wire against the real <c>mdbroker</c> with its
/// default limits (docs/security-limits.md has the table these tests print). After each one the broker's
/// RSS stayed under the bound, a fresh client is served, and the canary client lost nothing.
/// </summary>
[Collection(AdversarialCollection.Name)]
public sealed class BrokerAttackTests(AdversarialBroker fixture, ITestOutputHelper output) : IClassFixture<AdversarialBroker>
{
    /// <summary>
    /// How much an attack may grow the broker's RSS (docs/security-limits.md). Attacks that are refused
    /// cost almost nothing; the ones the broker must hold for are bounded by its limits, plus the slack
    /// of a garbage-collected heap.
    /// </summary>
    private const long SmallMiB = 32;

    /// <summary>2,000 connections at a few KiB each.</summary>
    private const long IdleConnectionsMiB = 64;

    /// <summary>
    /// A client that does not read is held to its 64 MiB limit (--max-client-bytes) before it is paused;
    /// with the garbage of what already went through (collected late: it lived long enough to be promoted),
    /// the heap reaches three to four times that (measured: +219 MiB).
    /// </summary>
    private const long HeldForOneClientMiB = 320;

    private static readonly TimeSpan Quick = TimeSpan.FromSeconds(3);

    /// <summary>Default handshake timeout and slack for a loaded host.</summary>
    private static readonly TimeSpan HandshakeTimeoutAndSlack = TimeSpan.FromSeconds(9);

    private string Endpoint => fixture.Endpoint;

    [Fact]
    public Task HugeFrameHeader_DroppedFromTheHeader() => fixture.MeasureAsync(output, "one frame header announcing 2^31-57 bytes", SmallMiB, async () =>
    {
        using var attacker = await RawConnection.OpenAsync(Endpoint);
        await attacker.HandshakeAsync();

        await attacker.SendAsync(RawConnection.LongHeader(int.MaxValue - 56));

        (await attacker.ClosedWithinAsync(Quick)).Should().NotBeNull("the header alone is over --max-message-size");
    });

    [Fact]
    public Task FourConnections512MiB_DroppedWhileStreaming() => fixture.MeasureAsync(output, "4 connections announcing 512 MiB and streaming", SmallMiB, async () =>
    {
        var attackers = await Task.WhenAll(Enumerable.Range(0, 4).Select(async _ =>
        {
            var attacker = await RawConnection.OpenAsync(Endpoint);
            await attacker.HandshakeAsync();
            return attacker;
        }));
        try
        {
            await Task.WhenAll(attackers.Select(async attacker =>
            {
                var chunk = new byte[64 * 1024];
                using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                try
                {
                    await attacker.SendAsync(RawConnection.LongHeader(512L << 20), limit.Token);

                    // At line rate until the broker hangs up (or 2 s).
                    while (!limit.IsCancellationRequested)
                    {
                        await attacker.SendAsync(chunk, limit.Token);
                    }
                }
                catch (Exception ex) when (ex is IOException or OperationCanceledException)
                {
                    // The broker closed the connection.
                }

                (await attacker.ClosedWithinAsync(Quick)).Should().NotBeNull();
            }));
        }
        finally
        {
            Array.ForEach(attackers, a => a.Dispose());
        }
    });

    [Fact]
    public Task NeverReadingClient_10kRequestsOf32KiB_PausedNotBuffered() => fixture.MeasureAsync(output, "10k x 32 KiB requests from a client that never reads", HeldForOneClientMiB, async () =>
    {
        using var attacker = await RawConnection.OpenAsync(Endpoint);
        await attacker.HandshakeAsync();
        var request = RawConnection.Request("echo", new byte[32 * 1024]);
        using var limit = new CancellationTokenSource(TimeSpan.FromSeconds(4));
        int sent = 0;
        try
        {
            for (; sent < 10_000; sent++)
            {
                await attacker.SendAsync(request, limit.Token);
            }
        }
        catch (OperationCanceledException)
        {
            // Flow control paused it: its writes wait in TCP.
        }

        output.WriteLine($"  the never-reading client wrote {sent} requests before its writes stalled");
        (await fixture.ServedAsync()).Should().BeTrue("others are served while it is paused");
    });

    [Fact]
    public Task ThreeHundredConnections_Announcing1MiBHandshakeCommands_ReserveNothing() => fixture.MeasureAsync(output, "300 connections announcing 1 MiB handshake commands", SmallMiB, async () =>
    {
        var attackers = new List<RawConnection>();
        try
        {
            for (int i = 0; i < 300; i++)
            {
                var attacker = await RawConnection.OpenAsync(Endpoint);
                attackers.Add(attacker);
                await attacker.SendAsync([.. RawConnection.Greeting(), .. RawConnection.LongHeader(1 << 20, command: true), 5, .. "READY"u8, .. new byte[1000]]);
            }

            (await fixture.ServedAsync()).Should().BeTrue("while the 300 hold their half-sent commands");
        }
        finally
        {
            attackers.ForEach(a => a.Dispose());
        }
    });

    [Fact]
    public Task HttpGet_DroppedAtOnce() => fixture.MeasureAsync(output, "100 connections sending an HTTP GET", SmallMiB, async () =>
    {
        var closes = await Task.WhenAll(Enumerable.Range(0, 100).Select(async _ =>
        {
            using var attacker = await RawConnection.OpenAsync(Endpoint);
            await attacker.SendAsync("GET / HTTP/1.1\r\nHost: broker\r\n\r\n"u8.ToArray());
            return await attacker.ClosedWithinAsync(Quick);
        }));

        closes.Should().AllSatisfy(c => c.Should().NotBeNull("the second octet already rules out ZMTP"));
        output.WriteLine($"  slowest close of an HTTP GET: {closes.Max()!.Value.TotalMilliseconds:F0} ms");
    });

    [Fact]
    public Task FiveThousandRefusedRequests_WarningsRateLimited() => fixture.MeasureAsync(output, "5,000 refused requests (over --max-services)", SmallMiB, async () =>
    {
        const string Refusal = "(MaxServices)";
        int before = fixture.Broker.LinesContaining(Refusal);
        await using var client = new RawClient(Endpoint);

        // Every name is a new service: the first ones fill --max-services (their requests wait for a worker
        // until they expire), and the rest are refused, one Warning each without the rate limit.
        for (int i = 0; i < 6000; i++)
        {
            client.Send($"no-such-service-{i}", "x");
        }

        // Same connection, so every refusal has been handled once this is answered.
        (await client.RequestAsync(Mmi.ServiceLookup, "echo")).Should().Be("200");
        int lines = fixture.Broker.LinesContaining(Refusal) - before;
        output.WriteLine($"  5,000 refusals and more gave {lines} warning line(s)");
        lines.Should().BeLessThanOrEqualTo(10, "refusals are logged 10 per 10 s, then summarised");
    });

    [Fact]
    public Task RandomBytes_TruncatedAndOversizedGreetingsAndFrames_AllDropped() => fixture.MeasureAsync(output, "random bytes, truncated/oversized greetings and frames", SmallMiB, async () =>
    {
        var greeting = RawConnection.Greeting();
        var random = new Random(15);
        var cases = new List<(string Name, Func<RawConnection, Task> Send)>();
        for (int i = 0; i < 50; i++)
        {
            var junk = new byte[4096];
            random.NextBytes(junk);
            cases.Add(($"random #{i}", c => c.SendAsync(junk)));
        }

        foreach (int length in (int[])[1, 10, 11, 13, 40, 63])
        {
            cases.Add(($"greeting cut at {length}", c => c.SendAsync(greeting[..length])));
        }

        cases.Add(("greeting then 2 KiB of FF", c => c.SendAsync([.. greeting, .. Enumerable.Repeat((byte)0xFF, 2048)])));
        cases.Add(("READY announcing 10 MiB", c => c.SendAsync([.. greeting, .. RawConnection.LongHeader(10 << 20, command: true)])));
        cases.Add(("frame of 2 MiB", async c =>
        {
            await c.HandshakeAsync();
            await c.SendAsync([.. RawConnection.LongHeader(2 << 20), .. new byte[2 << 20]]);
        }));
        cases.Add(("frame of 2 MiB in 2,000 frames", async c =>
        {
            await c.HandshakeAsync();
            await c.SendAsync(RawConnection.Frames([.. Enumerable.Repeat(new byte[1100], 2000)]));
        }));

        var results = await Task.WhenAll(cases.Select(async test =>
        {
            using var attacker = await RawConnection.OpenAsync(Endpoint);
            try
            {
                await test.Send(attacker);
            }
            catch (IOException)
            {
                // Closed while we were still writing.
            }

            return (test.Name, Closed: await attacker.ClosedWithinAsync(HandshakeTimeoutAndSlack));
        }));

        results.Where(r => r.Closed is null).Select(r => r.Name).Should().BeEmpty("every bad peer is dropped, at the latest by the 5 s handshake timeout");

        // A frame cut short: nothing is delivered, the connection simply ends.
        using (var truncated = await RawConnection.OpenAsync(Endpoint))
        {
            await truncated.HandshakeAsync();
            await truncated.SendAsync([0x01, 0x00, 0x00, 100, 1, 2, 3]);
        }
    });

    [Fact]
    public Task TwoThousandIdleConnections_HeldCheaply() => fixture.MeasureAsync(output, "2,000 idle connections (handshake done)", IdleConnectionsMiB, async () =>
    {
        var idle = new List<RawConnection>();
        try
        {
            for (int batch = 0; batch < 20; batch++)
            {
                var opened = await Task.WhenAll(Enumerable.Range(0, 100).Select(async _ =>
                {
                    var connection = await RawConnection.OpenAsync(Endpoint);
                    await connection.HandshakeAsync();
                    return connection;
                }));
                idle.AddRange(opened);
            }

            output.WriteLine($"  RSS with 2,000 idle connections open: {fixture.Broker.Rss() >> 20} MiB");
            (await fixture.ServedAsync()).Should().BeTrue("while the 2,000 are open");
        }
        finally
        {
            idle.ForEach(c => c.Dispose());
        }
    });

    [Fact]
    public Task SilentConnections_OverMaxHandshakes_RefusedAtOnce_ThenTimedOut() => fixture.MeasureAsync(output, "1,500 silent connections (over --max-handshakes 1000)", IdleConnectionsMiB, async () =>
    {
        var silent = new List<RawConnection>();
        try
        {
            for (int i = 0; i < 1500; i++)
            {
                silent.Add(await RawConnection.OpenAsync(Endpoint));
            }

            var closes = await Task.WhenAll(silent.Select(c => c.ClosedWithinAsync(HandshakeTimeoutAndSlack)));
            closes.Should().AllSatisfy(c => c.Should().NotBeNull("refused at once over the limit, or dropped at the handshake timeout"));
            closes.Count(c => c < TimeSpan.FromSeconds(2)).Should().BeGreaterThanOrEqualTo(400, "about 500 are over --max-handshakes and refused at once");
        }
        finally
        {
            silent.ForEach(c => c.Dispose());
        }
    });

    [Fact]
    public Task SlowConsumer_NeverReads256KiBReplies_HeldWithinItsLimit() => fixture.MeasureAsync(output, "slow consumer: 400 requests for 256 KiB replies, never reads", HeldForOneClientMiB, async () =>
    {
        using var attacker = await RawConnection.OpenAsync(Endpoint);
        await attacker.HandshakeAsync();
        var request = RawConnection.Request("big", "x"u8.ToArray());
        for (int i = 0; i < 400; i++)
        {
            await attacker.SendAsync(request);
        }

        // Replies pile up until its 64 MiB client limit pauses it; others are served meanwhile.
        await Task.Delay(TimeSpan.FromSeconds(2));
        (await fixture.ServedAsync()).Should().BeTrue("while the slow consumer holds its replies");
    });

    [Fact]
    public Task MalformedMdpFlood_CountedAndLogBounded() => fixture.MeasureAsync(output, "20,000 malformed MDP messages", SmallMiB, async () =>
    {
        int before = fixture.Broker.LinesContaining("Invalid message from");
        await using var client = new RawClient(Endpoint);
        var random = new Random(7);
        for (int i = 0; i < 20_000; i++)
        {
            var junk = new byte[1 + random.Next(64)];
            random.NextBytes(junk);
            client.Socket.Send(Message.FromFrames([], i % 2 == 0 ? "MDPC09"u8.ToArray() : "MDPW01"u8.ToArray(), junk));
        }

        (await client.RequestAsync(Mmi.ServiceLookup, "echo")).Should().Be("200", "the same connection is still served after the flood");
        int lines = fixture.Broker.LinesContaining("Invalid message from") - before;
        output.WriteLine($"  20,000 malformed messages gave {lines} line(s)");
        lines.Should().BeLessThanOrEqualTo(40, "at most 10 a second are logged, the rest summarised");
    });

    [Fact]
    public Task ForgottenWorkers_HeartbeatFlood_OneDisconnectEach() => fixture.MeasureAsync(output, "500 forgotten workers heartbeating", SmallMiB, async () =>
    {
        var rogues = new List<RawConnection>();
        try
        {
            var heartbeat = RawConnection.Frames([], "MDPW01"u8.ToArray(), [0x04]);
            for (int i = 0; i < 500; i++)
            {
                var rogue = await RawConnection.OpenAsync(Endpoint);
                rogues.Add(rogue);
                await rogue.HandshakeAsync($"rogue-{i}");
                await rogue.SendAsync([.. heartbeat, .. heartbeat, .. heartbeat]);
            }

            // DISCONNECT (MDPW01, 0x05) comes back once to each, whatever the number of heartbeats.
            foreach (var rogue in rogues.Take(20))
            {
                var frames = await rogue.ReadExactlyAsync(2 + 2 + 6 + 2 + 1);
                frames[^1].Should().Be(0x05);
                Encoding.ASCII.GetString(frames, 4, 6).Should().Be("MDPW01");
            }
        }
        finally
        {
            rogues.ForEach(r => r.Dispose());
        }
    });
}

/// <summary>The attacks run one at a time, so that each RSS figure is that attack's alone.</summary>
[CollectionDefinition(Name)]
public sealed class AdversarialCollection
{
    public const string Name = "adversarial";
}
