using System.Collections.Concurrent;
using static Reliability.Transport.Tests.Proxies.RunningProxy;

namespace Reliability.Transport.Tests.Proxies;

/// <summary>Queue and streamer proxies over tcp loopback: forwarding, capture, control.</summary>
public sealed class ProxyTests
{
    [Fact]
    public async Task RunAsync_QueueBetweenReqClientsAndRepWorkers_EveryRequestGetsItsReply()
    {
        const int Clients = 4;
        const int Workers = 3;
        const int RequestsPerClient = 25;
        await using var proxy = RunningProxy.Bind(new RouterSocket(Options()), new DealerSocket(Options()));
        var workersUp = Handshakes(proxy.Backend, Workers);
        proxy.Go();
        using var stop = new CancellationTokenSource(TestTimeouts.Long);
        var served = new ConcurrentDictionary<int, int>();
        var workerSockets = new List<ReplySocket>();
        var workerLoops = new List<Task>();
        for (int w = 0; w < Workers; w++)
        {
            var worker = new ReplySocket(Options());
            worker.Connect(proxy.BackendEndpoint);
            workerSockets.Add(worker);
            int id = w;
            workerLoops.Add(Task.Run(async () =>
            {
                // Bounded: at most every request once, and the token ends it.
                for (int i = 0; i < Clients * RequestsPerClient; i++)
                {
                    Message request;
                    try
                    {
                        request = await worker.ReceiveAsync(stop.Token);
                    }
                    catch (OperationCanceledException)
                    {
                        return;
                    }

                    served.AddOrUpdate(id, 1, (_, n) => n + 1);
                    await worker.SendAsync(Message.FromStrings($"worker {id}", request.GetString(0), request.GetString(1)), stop.Token);
                }
            }));
        }

        // Round-robin only spreads over workers whose connection is up.
        await workersUp.Within();

        var clients = Enumerable.Range(0, Clients).Select(_ => new RequestSocket(Options())).ToList();
        var clientLoops = clients.Select((client, c) => Task.Run(async () =>
        {
            client.Connect(proxy.FrontendEndpoint);
            for (int r = 0; r < RequestsPerClient; r++)
            {
                await client.SendAsync(Message.FromStrings($"client {c}", $"request {r}"), stop.Token);
                var reply = await client.ReceiveAsync(stop.Token);
                reply.Count.Should().Be(3);
                reply.GetString(0).Should().StartWith("worker ");
                reply.GetString(1).Should().Be($"client {c}");
                reply.GetString(2).Should().Be($"request {r}");
            }
        })).ToList();

        await Task.WhenAll(clientLoops).Within();
        await stop.CancelAsync();
        await Task.WhenAll(workerLoops).Within();

        served.Values.Sum().Should().Be(Clients * RequestsPerClient);
        served.Keys.Should().BeEquivalentTo(Enumerable.Range(0, Workers), "the DEALER backend round-robins over every connected worker");
        var stats = await proxy.StopAsync();
        stats.FrontendToBackendMessages.Should().Be(Clients * RequestsPerClient);
        stats.BackendToFrontendMessages.Should().Be(Clients * RequestsPerClient);
        foreach (var socket in clients.Cast<ZmqSocket>().Concat(workerSockets))
        {
            await socket.DisposeAsync();
        }
    }

    [Fact]
    public async Task RunAsync_Streamer_ForwardsEveryMultipartMessageInOrder()
    {
        const int Count = 5000;
        await using var proxy = RunningProxy.Start(new PullSocket(Options()), new PushSocket(Options()));
        await using var producer = new PushSocket(Options());
        await using var consumer = new PullSocket(Options());
        producer.Connect(proxy.FrontendEndpoint);
        consumer.Connect(proxy.BackendEndpoint);
        using var cts = new CancellationTokenSource(TestTimeouts.Long);

        long sentBytes = 0;
        var produce = Task.Run(async () =>
        {
            for (int i = 0; i < Count; i++)
            {
                var message = Numbered(i, extraFrames: 3);
                sentBytes += message.TotalLength;
                await producer.SendAsync(message, cts.Token);
            }
        });

        for (int i = 0; i < Count; i++)
        {
            var message = await consumer.ReceiveAsync(cts.Token);
            SequenceOf(message).Should().Be(i);
            message.Count.Should().Be(4, "all frames travel together");
            message.GetString(1).Should().Be($"part-0-of-{i}");
            message[2].IsEmpty.Should().BeTrue();
            message.GetString(3).Should().Be($"part-2-of-{i}");
        }

        await produce.Within();
        (await consumer.TryReceiveAsync(TimeSpan.FromMilliseconds(20))).Should().BeNull("nothing is duplicated");
        var stats = await proxy.StopAsync();
        stats.Should().Be(new ProxyStatistics(Count, sentBytes, 0, 0, 0, 0));
    }

    [Fact]
    public async Task RunAsync_StreamerWithoutConsumerYet_HoldsMessagesUntilOneConnects()
    {
        await using var proxy = RunningProxy.Start(new PullSocket(Options()), new PushSocket(Options()));
        await using var producer = new PushSocket(Options());
        producer.Connect(proxy.FrontendEndpoint);
        for (int i = 0; i < 10; i++)
        {
            await producer.SendAsync(Numbered(i)).AsTask().Within();
        }

        // The backend PUSH has no peer: the proxy must wait for one, not drop.
        await using var consumer = new PullSocket(Options());
        consumer.Connect(proxy.BackendEndpoint);
        for (int i = 0; i < 10; i++)
        {
            SequenceOf(await consumer.ReceiveWithin()).Should().Be(i);
        }
    }

    [Fact]
    public async Task RunAsync_WithCapture_CaptureReceivesACopyOfEveryMessage()
    {
        const int Count = 200;
        await using var proxy = RunningProxy.Bind(new PullSocket(Options()), new PushSocket(Options()), new PushSocket(Options()));
        var captureUp = Handshakes(proxy.Capture!, 1);
        proxy.Go();
        await using var tap = new PullSocket(Options());
        tap.Connect(proxy.CaptureEndpoint!);
        await captureUp.Within();
        await using var producer = new PushSocket(Options());
        await using var consumer = new PullSocket(Options());
        producer.Connect(proxy.FrontendEndpoint);
        consumer.Connect(proxy.BackendEndpoint);

        for (int i = 0; i < Count; i++)
        {
            await producer.SendAsync(Numbered(i)).AsTask().Within();
        }

        for (int i = 0; i < Count; i++)
        {
            var forwarded = await consumer.ReceiveWithin();
            var copy = await tap.ReceiveWithin();
            SequenceOf(forwarded).Should().Be(i);
            copy.Select(f => f.ToArray()).Should().BeEquivalentTo(forwarded.Select(f => f.ToArray()), o => o.WithStrictOrdering());
        }

        var stats = await proxy.StopAsync();
        stats.CapturedMessages.Should().Be(Count);
        stats.CaptureDrops.Should().Be(0);
    }

    [Fact]
    public async Task RunAsync_QueueWithCapture_CapturesRequestsAndRepliesWithEnvelopes()
    {
        await using var proxy = RunningProxy.Bind(new RouterSocket(Options()), new DealerSocket(Options()), new DealerSocket(Options()));
        var captureUp = Handshakes(proxy.Capture!, 1);
        proxy.Go();
        await using var tap = new DealerSocket(Options());
        tap.Connect(proxy.CaptureEndpoint!);
        await captureUp.Within();
        await using var client = new RequestSocket(Options());
        await using var worker = new ReplySocket(Options());
        client.Connect(proxy.FrontendEndpoint);
        worker.Connect(proxy.BackendEndpoint);

        await client.SendAsync(Message.FromStrings("ping")).AsTask().Within();
        (await worker.ReceiveWithin()).GetString(0).Should().Be("ping");
        await worker.SendAsync(Message.FromStrings("pong")).AsTask().Within();
        (await client.ReceiveWithin()).GetString(0).Should().Be("pong");

        // As the proxy saw them: [client id, "", body] both ways.
        var request = await tap.ReceiveWithin();
        var reply = await tap.ReceiveWithin();
        request.Count.Should().Be(3);
        request[1].IsEmpty.Should().BeTrue();
        request.GetString(2).Should().Be("ping");
        reply.Count.Should().Be(3);
        reply[0].ToArray().Should().Equal(request[0].ToArray(), "the reply carries the same routing id back");
        reply.GetString(2).Should().Be("pong");
    }

    [Fact]
    public async Task RunAsync_CaptureWithoutRoom_DropsCopiesAndKeepsForwarding()
    {
        const int Count = 50;

        // A DEALER capture that never connects: every copy is refused at once.
        await using var proxy = RunningProxy.Start(new PullSocket(Options()), new PushSocket(Options()), new DealerSocket(Options()));
        await using var producer = new PushSocket(Options());
        await using var consumer = new PullSocket(Options());
        producer.Connect(proxy.FrontendEndpoint);
        consumer.Connect(proxy.BackendEndpoint);

        for (int i = 0; i < Count; i++)
        {
            await producer.SendAsync(Numbered(i)).AsTask().Within();
        }

        for (int i = 0; i < Count; i++)
        {
            SequenceOf(await consumer.ReceiveWithin()).Should().Be(i);
        }

        var stats = await proxy.StopAsync();
        stats.CaptureDrops.Should().Be(Count);
        stats.CapturedMessages.Should().Be(0);
        stats.FrontendToBackendMessages.Should().Be(Count);
    }

    [Fact]
    public async Task Pause_StreamerPausedThenResumed_HoldsMessagesThenDeliversAllInOrder()
    {
        await using var proxy = RunningProxy.Start(new PullSocket(Options()), new PushSocket(Options()));
        await using var producer = new PushSocket(Options());
        await using var consumer = new PullSocket(Options());
        producer.Connect(proxy.FrontendEndpoint);
        consumer.Connect(proxy.BackendEndpoint);
        await producer.SendAsync(Numbered(0)).AsTask().Within();
        SequenceOf(await consumer.ReceiveWithin()).Should().Be(0);

        proxy.Control.Pause();
        proxy.Control.IsPaused.Should().BeTrue();
        for (int i = 1; i <= 20; i++)
        {
            await producer.SendAsync(Numbered(i)).AsTask().Within();
        }

        (await consumer.TryReceiveAsync(TestTimeouts.Short)).Should().BeNull("a paused proxy forwards nothing");
        proxy.Control.Statistics.FrontendToBackendMessages.Should().Be(1);

        proxy.Control.Resume();
        proxy.Control.IsPaused.Should().BeFalse();
        for (int i = 1; i <= 20; i++)
        {
            SequenceOf(await consumer.ReceiveWithin()).Should().Be(i);
        }

        (await proxy.StopAsync()).FrontendToBackendMessages.Should().Be(21);
    }

    [Fact]
    public async Task Pause_Twice_ResumeOnceIsEnoughAndNothingIsLost()
    {
        await using var proxy = RunningProxy.Start(new PullSocket(Options()), new PushSocket(Options()));
        await using var producer = new PushSocket(Options());
        await using var consumer = new PullSocket(Options());
        producer.Connect(proxy.FrontendEndpoint);
        consumer.Connect(proxy.BackendEndpoint);

        proxy.Control.Pause();
        proxy.Control.Pause();
        await producer.SendAsync(Numbered(7)).AsTask().Within();
        proxy.Control.Resume();
        proxy.Control.Resume();

        SequenceOf(await consumer.ReceiveWithin()).Should().Be(7);
    }

    [Fact]
    public async Task Terminate_RunningProxy_RunAsyncCompletesNormallyAndLeavesSocketsOpen()
    {
        await using var proxy = RunningProxy.Start(new RouterSocket(Options()), new DealerSocket(Options()));
        proxy.Control.IsRunning.Should().BeTrue();

        proxy.Control.Terminate();

        await proxy.Run.Within();
        proxy.Run.IsCompletedSuccessfully.Should().BeTrue();
        proxy.Control.IsTerminated.Should().BeTrue();
        proxy.Control.IsRunning.Should().BeFalse();
        (await proxy.Frontend.TryReceiveAsync(TimeSpan.Zero)).Should().BeNull("the proxy does not dispose the sockets it was given");
    }

    [Fact]
    public async Task Terminate_WhilePaused_RunAsyncCompletes()
    {
        await using var proxy = RunningProxy.Start(new PullSocket(Options()), new PushSocket(Options()));
        proxy.Control.Pause();

        proxy.Control.Terminate();

        await proxy.Run.Within();
        proxy.Run.IsCompletedSuccessfully.Should().BeTrue();
    }

    [Fact]
    public async Task Terminate_BeforeStart_RunAsyncReturnsAtOnce()
    {
        await using var frontend = new PullSocket(Options());
        await using var backend = new PushSocket(Options());
        using var control = new ProxyControl();
        control.Terminate();

        await Proxy.RunAsync(frontend, backend, control: control).Within();
    }

    [Fact]
    public async Task Terminate_WithSendBlockedOnMissingPeer_RunAsyncCompletes()
    {
        await using var proxy = RunningProxy.Start(new PullSocket(Options()), new PushSocket(Options()));
        await using var producer = new PushSocket(Options());
        producer.Connect(proxy.FrontendEndpoint);
        await producer.SendAsync(Numbered(1)).AsTask().Within();

        // No consumer: the proxy waits to hand the message over. Terminate must still end it.
        proxy.Control.Terminate();

        await proxy.Run.Within();
        proxy.Run.IsCompletedSuccessfully.Should().BeTrue();
    }

    [Fact]
    public async Task RunAsync_Cancelled_TaskIsCancelled()
    {
        await using var frontend = new RouterSocket(Options());
        await using var backend = new DealerSocket(Options());
        frontend.Bind("tcp://127.0.0.1:0");
        backend.Bind("tcp://127.0.0.1:0");
        using var cts = new CancellationTokenSource();
        var run = Proxy.RunAsync(frontend, backend, cancellationToken: cts.Token);

        await cts.CancelAsync();

        var wait = async () => await run.Within();
        await wait.Should().ThrowAsync<OperationCanceledException>();
        run.IsCanceled.Should().BeTrue();
    }

    [Fact]
    public async Task RunAsync_AlreadyCancelled_TaskIsCancelled()
    {
        await using var frontend = new PullSocket(Options());
        await using var backend = new PushSocket(Options());
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        using var control = new ProxyControl();

        var run = async () => await Proxy.RunAsync(frontend, backend, control: control, cancellationToken: cts.Token).Within();

        await run.Should().ThrowAsync<OperationCanceledException>();
        control.IsRunning.Should().BeFalse("the control is free for another run");
    }

    [Fact]
    public async Task RunAsync_OneDirectionFull_OtherDirectionKeepsFlowing()
    {
        // DEALER <-> DEALER proxy between a client that floods and a worker that never reads: the
        // forward direction fills every queue and TCP buffer, yet the worker's message still comes back.
        await using var proxy = RunningProxy.Bind(new DealerSocket(Options(1)), new DealerSocket(Options(1)));
        var up = Task.WhenAll(Handshakes(proxy.Frontend, 1), Handshakes(proxy.Backend, 1));
        proxy.Go();
        await using var client = new DealerSocket(Options(1));
        await using var worker = new DealerSocket(Options(1));
        client.Connect(proxy.FrontendEndpoint);
        worker.Connect(proxy.BackendEndpoint);
        await up.Within();

        var chunk = new byte[256 * 1024];
        bool sawFull = false;
        int sent = 0;

        // Bounded: 512 x 256 KiB = 128 MiB at most, far beyond loopback buffers.
        for (; sent < 512 && !sawFull; sent++)
        {
            sawFull = !await client.TrySendAsync(new Message().Append(chunk), TestTimeouts.Short);
        }

        sawFull.Should().BeTrue("the worker never reads, so backpressure reaches the client");
        proxy.Control.Statistics.FrontendToBackendMessages.Should().BeLessThan(sent);

        await worker.SendAsync(Message.FromStrings("still here")).AsTask().Within();

        (await client.ReceiveWithin()).GetString(0).Should().Be("still here");

        // The proxy counts a message after its send returns, which can be after the client already has it.
        SpinWait.SpinUntil(() => proxy.Control.Statistics.BackendToFrontendMessages == 1, TestTimeouts.Long).Should().BeTrue();
    }

    [Fact]
    public async Task RunAsync_ControlAlreadyDrivingAProxy_ThrowsInvalidOperation()
    {
        await using var proxy = RunningProxy.Start(new PullSocket(Options()), new PushSocket(Options()));
        await using var frontend = new PullSocket(Options());
        await using var backend = new PushSocket(Options());

        Action second = () => _ = Proxy.RunAsync(frontend, backend, control: proxy.Control);

        second.Should().Throw<InvalidOperationException>();
    }

    [Fact]
    public async Task RunAsync_FrontendDisposedWhileWaiting_TaskFaultsWithObjectDisposed()
    {
        await using var proxy = RunningProxy.Start(new RouterSocket(Options()), new DealerSocket(Options()));

        await proxy.Frontend.DisposeAsync();

        var wait = async () => await proxy.Run.Within();
        await wait.Should().ThrowAsync<ObjectDisposedException>();
    }
}
