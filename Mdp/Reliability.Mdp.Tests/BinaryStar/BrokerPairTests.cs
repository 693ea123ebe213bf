using System.Globalization;
using Reliability.Mdp.Broker;
using Reliability.Mdp.Broker.Service;
using Reliability.Mdp.Client;
using Reliability.Mdp.Tests.Broker;
using Reliability.Mdp.Worker;
using Reliability.Patterns.BinaryStar;
using Reliability.Patterns.Tests.BinaryStar;
using Reliability.Transport;

namespace Reliability.Mdp.Tests.BinaryStar;

/// <summary>Two Majordomo brokers as a Binary Star pair on loopback, with a worker registered to both and failover clients.</summary>
public sealed class BrokerPairTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    // Two missed state heartbeats (500 ms) make the backup take over on a client request: long enough
    // that a stall of the loaded test host does not look like a dead primary.
    private static readonly TimeSpan PairHeartbeat = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan Heartbeat = TimeSpan.FromMilliseconds(200);

    [Fact]
    public async Task Pair_ActiveDisposedMidLoad_EveryRequestAnsweredAndTheBackupServesTheRest()
    {
        string primaryHa = BinaryStarTestKit.FreeEndpoint();
        string backupHa = BinaryStarTestKit.FreeEndpoint();
        var (primaryStates, primaryActive) = BinaryStarTestKit.WaitFor(BinaryStarState.Active);
        var (backupPassiveStates, backupPassive) = BinaryStarTestKit.WaitFor(BinaryStarState.Passive);
        var (backupActiveStates, backupActive) = BinaryStarTestKit.WaitFor(BinaryStarState.Active);
        var primary = LoopbackBroker.Start(Options(BinaryStarRole.Primary, primaryHa, backupHa, primaryStates));
        await using var backup = LoopbackBroker.Start(Options(BinaryStarRole.Backup, backupHa, primaryHa, change =>
        {
            backupPassiveStates(change);
            backupActiveStates(change);
        }));
        bool primaryDisposed = false;
        try
        {
            await Task.WhenAll(primaryActive, backupPassive).WaitAsync(Wait);
            using var stop = new CancellationTokenSource();
            var worker = new MajordomoWorker(new WorkerOptions
            {
                BrokerEndpoints = [primary.Endpoint, backup.Endpoint],
                Service = "echo",
                Heartbeat = Heartbeat,
                Liveness = 10,
                ReconnectDelay = Heartbeat,
                ReconnectDelayMax = Heartbeat,
                BrokerHeartbeatsBusyWorkers = true,
            });
            var serving = worker.RunAsync(
                async (request, token) =>
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(5), token);
                    return request.Body;
                },
                stop.Token);

            // The passive broker holds the worker too, and answers no client.
            await Task.WhenAll(primary.WhenMetric("workers", 1), backup.WhenMetric("workers", 1)).WaitAsync(Wait);
            await using (var direct = new MajordomoClient(new MajordomoClientOptions { BrokerEndpoint = backup.Endpoint, Timeout = TimeSpan.FromMilliseconds(300), Retries = 0 }))
            {
                await FluentActions.Awaiting(() => direct.RequestAsync("echo", Message.FromStrings("to-the-passive")).WaitAsync(Wait))
                    .Should().ThrowAsync<MdpRequestFailedException>();
            }

            backup.Broker.Node!.State.Should().Be(BinaryStarState.Passive, "a request before the peer's expiry is not a vote to take over");
            backup.Metric("requests.dispatched").Should().Be(0);

            await using var sync = new MajordomoClient(new MajordomoClientOptions
            {
                BrokerEndpoints = [primary.Endpoint, backup.Endpoint],
                Timeout = TimeSpan.FromMilliseconds(1000),
                Retries = 20,
                SettleDelay = TimeSpan.FromMilliseconds(300),
            });
            await using var async = new MajordomoAsyncClient(new MajordomoAsyncClientOptions
            {
                BrokerEndpoints = [primary.Endpoint, backup.Endpoint],
                Timeout = TimeSpan.FromMilliseconds(1000),
                Retries = 20,
                SettleDelay = TimeSpan.FromMilliseconds(300),
                MaxConnections = 4,
            });

            const int PerSender = 40;
            int answered = 0;
            var halfway = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            async Task SendAsync(string name, Func<string, Task<MdpReply>> request)
            {
                for (int i = 0; i < PerSender; i++)
                {
                    string body = string.Create(CultureInfo.InvariantCulture, $"{name}-{i}");
                    var reply = await request(body).WaitAsync(Wait);
                    reply.Body.GetString(0).Should().Be(body, "every request gets its own reply");
                    if (Interlocked.Increment(ref answered) == PerSender * 5 / 2)
                    {
                        halfway.TrySetResult();
                    }
                }
            }

            var senders = new List<Task> { SendAsync("sync", body => sync.RequestAsync("echo", Message.FromStrings(body))) };
            for (int s = 0; s < 4; s++)
            {
                string name = "async" + s.ToString(CultureInfo.InvariantCulture);
                senders.Add(SendAsync(name, body => async.RequestAsync("echo", Message.FromStrings(body))));
            }

            await halfway.Task.WaitAsync(Wait);
            await primary.DisposeAsync();
            primaryDisposed = true;
            long servedByPrimary = primary.Metric("replies.sent");
            await Task.WhenAll(senders).WaitAsync(Wait * 2);

            answered.Should().Be(PerSender * 5);
            await backupActive.WaitAsync(Wait);
            backup.Broker.Node!.State.Should().Be(BinaryStarState.Active);
            servedByPrimary.Should().BeLessThan(PerSender * 5);
            // Not an exact split: a reply the primary counted may have died with it and been answered again by the backup.
            backup.Metric("replies.sent").Should().BeGreaterThan(0, "the requests after the failover were answered by the backup");
            sync.Statistics.Retries.Should().BeGreaterThan(0, "the request in flight at the failover was resent");
            async.Statistics.TimedOut.Should().Be(0, "no request failed: each timed-out one was resent to the backup");

            await stop.CancelAsync();
            await serving.WaitAsync(Wait);
        }
        finally
        {
            if (!primaryDisposed)
            {
                await primary.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Service_PeerActiveWhileActive_LogsSplitBrainAndExitsThree()
    {
        string local = BinaryStarTestKit.FreeEndpoint();
        await using var peer = new PublisherSocket(new SocketOptions { Linger = TimeSpan.Zero });
        string remote = peer.Bind("tcp://127.0.0.1:0");
        var error = new StringWriter();
        var output = new StringWriter();
        var run = BrokerService.RunAsync(
            ["--bind", "tcp://127.0.0.1:0", "--ha-role", "primary", "--ha-local", local, "--ha-remote", remote, "--ha-heartbeat", "50", "--log-level", "Warning"],
            [],
            output,
            error,
            CancellationToken.None);

        // Bounded by the wait: the fake peer says "backup" (the primary becomes active), then "active".
        var deadline = DateTime.UtcNow + Wait;
        for (int i = 0; !run.IsCompleted && DateTime.UtcNow < deadline; i++)
        {
            await peer.SendAsync(Message.FromStrings(i < 20 ? "2" : "3"));
            await Task.WhenAny(run, Task.Delay(TimeSpan.FromMilliseconds(50)));
        }

        (await run.WaitAsync(Wait)).Should().Be(BrokerService.ExitSplitBrain);
        error.ToString().Should().Contain("Split brain").And.Contain("both active");
    }

    private static BrokerOptions Options(BinaryStarRole role, string local, string remote, Action<BinaryStarStateChange> states) => new()
    {
        Endpoints = ["tcp://127.0.0.1:0"],
        HeartbeatInterval = Heartbeat,
        Liveness = 10,
        ShutdownTimeout = TimeSpan.FromMilliseconds(200),
        BinaryStar = new BinaryStarOptions { Role = role, LocalEndpoint = local, RemoteEndpoint = remote, Heartbeat = PairHeartbeat, OnStateChanged = states },
    };
}
