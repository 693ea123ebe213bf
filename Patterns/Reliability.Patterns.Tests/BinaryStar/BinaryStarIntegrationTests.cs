using System.Diagnostics.Metrics;
using Microsoft.Extensions.Time.Testing;
using Reliability.Patterns.BinaryStar;
using Reliability.Patterns.LazyPirate;
using Reliability.Transport;
using static Reliability.Patterns.Tests.BinaryStar.BinaryStarTestKit;

namespace Reliability.Patterns.Tests.BinaryStar;

/// <summary>A Binary Star pair on loopback: start-up, failover to the backup, the old active back as passive, split brain.</summary>
public sealed class BinaryStarIntegrationTests
{
    private static LazyPirateOptions FailoverClient(params string[] endpoints) => new()
    {
        Endpoints = endpoints,
        Failover = true,
        RequestTimeout = TimeSpan.FromMilliseconds(500),
        RetryDelay = TimeSpan.FromMilliseconds(200),
        Attempts = 20,
    };

    [Fact]
    public async Task Pair_ActiveDisposed_BackupServesAndTheRestartedPrimaryComesBackPassive()
    {
        string primaryHa = FreeEndpoint();
        string backupHa = FreeEndpoint();
        var (primaryObserver, primaryActive) = WaitFor(BinaryStarState.Active);
        var (backupObserver, backupPassive) = WaitFor(BinaryStarState.Passive);
        var backupActive = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var primary = EchoServer(BinaryStarRole.Primary, "tcp://127.0.0.1:0", primaryHa, backupHa, primaryObserver);
        await using var backup = EchoServer(BinaryStarRole.Backup, "tcp://127.0.0.1:0", backupHa, primaryHa, change =>
        {
            backupObserver(change);
            if (change.To == BinaryStarState.Active)
            {
                backupActive.TrySetResult();
            }
        });
        primary.Bind();
        backup.Bind();
        var primaryRun = primary.RunAsync();
        var backupRun = backup.RunAsync();
        await Task.WhenAll(primaryActive, backupPassive).WaitAsync(Wait);

        await using var client = new LazyPirateClient(FailoverClient(primary.FrontendEndpoint!, backup.FrontendEndpoint!));
        for (int i = 0; i < 5; i++)
        {
            (await client.RequestAsync(Message.FromStrings($"before-{i}")).WaitAsync(Wait)).GetString(0).Should().Be($"before-{i}");
        }

        primary.Served.Should().Be(5);
        client.Statistics.Retries.Should().Be(0);

        await primary.DisposeAsync();
        await primaryRun.WaitAsync(Wait);
        for (int i = 0; i < 5; i++)
        {
            (await client.RequestAsync(Message.FromStrings($"after-{i}")).WaitAsync(Wait)).GetString(0).Should().Be($"after-{i}");
        }

        await backupActive.Task.WaitAsync(Wait);
        // At least once: an attempt answered just after the client's timeout is answered again on retry.
        backup.Served.Should().BeGreaterThanOrEqualTo(5);
        long servedByBackup = backup.Served;
        backup.Node.State.Should().Be(BinaryStarState.Active);
        client.Statistics.Retries.Should().BeGreaterThan(0);

        // The primary restarts in its role, hears the active backup and stands by.
        var (restartedObserver, restartedPassive) = WaitFor(BinaryStarState.Passive);
        await using var restarted = EchoServer(BinaryStarRole.Primary, primary.FrontendEndpoint!, primaryHa, backupHa, restartedObserver);
        var restartedRun = restarted.RunAsync();
        await restartedPassive.WaitAsync(Wait);
        (await client.RequestAsync(Message.FromStrings("later")).WaitAsync(Wait)).GetString(0).Should().Be("later");
        backup.Served.Should().BeGreaterThan(servedByBackup);
        restarted.Served.Should().Be(0);

        await restarted.DisposeAsync();
        await backup.DisposeAsync();
        await Task.WhenAll(restartedRun, backupRun).WaitAsync(Wait);
    }

    [Fact]
    public async Task Passive_ClientRequestWhileTheActiveIsAlive_IsLeftUnanswered()
    {
        string primaryHa = FreeEndpoint();
        string backupHa = FreeEndpoint();
        var (backupObserver, backupPassive) = WaitFor(BinaryStarState.Passive);
        await using var primary = EchoServer(BinaryStarRole.Primary, "tcp://127.0.0.1:0", primaryHa, backupHa);
        await using var backup = EchoServer(BinaryStarRole.Backup, "tcp://127.0.0.1:0", backupHa, primaryHa, backupObserver);
        _ = primary.RunAsync();
        _ = backup.RunAsync();
        await backupPassive.WaitAsync(Wait);

        await using var client = new LazyPirateClient(FailoverClient(backup.FrontendEndpoint!) with { Attempts = 2 });
        var failed = await client.Awaiting(c => c.RequestAsync(Message.FromStrings("to-passive")).WaitAsync(Wait))
            .Should().ThrowAsync<RequestFailedException>();

        failed.Which.Attempts.Should().Be(2);
        backup.Node.RejectedRequests.Should().Be(2);
        backup.Served.Should().Be(0);
        backup.Node.State.Should().Be(BinaryStarState.Passive);
    }

    [Fact]
    public async Task Active_PeerPublishesActive_RunEndsWithSplitBrain()
    {
        var time = new FakeTimeProvider();
        await using var peer = new PublisherSocket(new SocketOptions { Linger = TimeSpan.Zero });
        string peerEndpoint = peer.Bind("tcp://127.0.0.1:0");
        await using var node = new BinaryStarNode(
            new BinaryStarOptions { Role = BinaryStarRole.Primary, LocalEndpoint = "tcp://127.0.0.1:0", RemoteEndpoint = peerEndpoint, Heartbeat = Heartbeat },
            timeProvider: time);
        var run = node.RunAsync();

        // Alone for two heartbeats, then asked by a client: the primary takes over.
        node.AllowClientRequest().Should().BeFalse();
        time.Advance(Heartbeat * 2);
        node.AllowClientRequest().Should().BeTrue();
        node.State.Should().Be(BinaryStarState.Active);

        // A malformed state first (dropped and counted), then a second active. A PUB drops what it
        // sends before the subscription arrives, so both are repeated until the node has seen them.
        for (int i = 0; i < 1000 && !run.IsCompleted; i++)
        {
            await peer.SendAsync(Message.FromStrings("9"));
            await peer.SendAsync(Message.FromStrings("3"));
            await Task.WhenAny(run, Task.Delay(TimeSpan.FromMilliseconds(20), TimeProvider.System));
        }

        (await run.Awaiting(r => r.WaitAsync(Wait)).Should().ThrowAsync<SplitBrainException>()).Which.State.Should().Be(BinaryStarState.Active);
        node.InvalidPeerMessages.Should().BeGreaterThan(0);
        node.AllowClientRequest().Should().BeFalse();
    }

    [Fact]
    public async Task Node_Takeover_IsMeasuredOnThePatternsMeter()
    {
        var changes = new List<(string? State, string? Cause)>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Reliability.Patterns" && instrument.Name.StartsWith("reliability.binary_star.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        var rejected = 0L;
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var tagged = tags.ToArray();
            lock (changes)
            {
                if (instrument.Name == "reliability.binary_star.state_changes")
                {
                    changes.Add(((string?)tagged.Single(t => t.Key == "state").Value, (string?)tagged.Single(t => t.Key == "cause").Value));
                }
                else if (instrument.Name == "reliability.binary_star.requests.rejected")
                {
                    rejected += value;
                }
            }
        });
        listener.Start();

        var time = new FakeTimeProvider();
        await using var node = new BinaryStarNode(
            new BinaryStarOptions { LocalEndpoint = FreeEndpoint(), RemoteEndpoint = FreeEndpoint(), Heartbeat = Heartbeat },
            timeProvider: time);
        node.AllowClientRequest().Should().BeFalse();
        time.Advance(Heartbeat * 2);
        node.AllowClientRequest().Should().BeTrue();

        // Other tests of this assembly may measure at the same time: look for this node's takeover.
        lock (changes)
        {
            changes.Should().Contain(("active", "client-request"));
            rejected.Should().BeGreaterThan(0);
        }
    }

    [Fact]
    public async Task Server_MessageWithoutReqEnvelope_IsDroppedAndCounted()
    {
        string ha = FreeEndpoint();
        var time = new FakeTimeProvider();
        await using var server = new BinaryStarServer(
            new BinaryStarOptions { LocalEndpoint = ha, RemoteEndpoint = FreeEndpoint(), Heartbeat = Heartbeat },
            "tcp://127.0.0.1:0",
            static (request, _) => ValueTask.FromResult(request),
            timeProvider: time);
        _ = server.RunAsync();
        time.Advance(Heartbeat * 2);

        await using var dealer = new DealerSocket(new SocketOptions { Linger = TimeSpan.Zero });
        dealer.Connect(server.FrontendEndpoint!);
        await dealer.SendAsync(Message.FromStrings("no-delimiter"));
        await dealer.SendAsync(Message.FromStrings(string.Empty, "echo-me"));

        var reply = await dealer.ReceiveAsync().AsTask().WaitAsync(Wait);
        reply.Count.Should().Be(2);
        reply.GetString(1).Should().Be("echo-me");
        server.InvalidRequests.Should().Be(1);
        server.Served.Should().Be(1);
        server.Node.State.Should().Be(BinaryStarState.Active);
    }
}
