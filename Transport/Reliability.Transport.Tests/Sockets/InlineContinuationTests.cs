using System.Diagnostics;

namespace Reliability.Transport.Tests.Sockets;

public sealed class InlineContinuationTests
{
    /// <summary>Where the code after an awaited receive ran: inside the connection's delivery or elsewhere.</summary>
    private static async Task<bool> ResumesInsideDeliveryAsync(bool inline)
    {
        await using var pull = new PullSocket(new SocketOptions { InlineReceiveContinuations = inline });
        string endpoint = pull.Bind("tcp://127.0.0.1:0");
        await using var push = new PushSocket();
        push.Connect(endpoint);

        // Nothing is queued yet, so the receive waits and is resumed by the delivery.
        var received = ResumeAndLookAtStackAsync(pull);
        await push.SendAsync(Message.FromStrings("wake")).AsTask().Within();
        return await received.Within();
    }

    private static async Task<bool> ResumeAndLookAtStackAsync(ZmqSocket socket)
    {
        var message = await socket.ReceiveAsync().ConfigureAwait(false);
        message.GetString(0).Should().Be("wake");
        return new StackTrace().ToString().Contains(nameof(ZmqSocket.DeliverInbound), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReceiveAsync_InlineContinuations_ResumesOnTheDeliveringThread()
    {
        (await ResumesInsideDeliveryAsync(inline: true)).Should().BeTrue();
    }

    [Fact]
    public async Task ReceiveAsync_Default_ResumesOnTheThreadPool()
    {
        (await ResumesInsideDeliveryAsync(inline: false)).Should().BeFalse("application code must not run inside a connection's receive loop unless asked");
    }

    [Fact]
    public async Task TryReceiveAsync_InlineContinuationsWithTimeout_ReceivesAndTimesOut()
    {
        await using var pull = new PullSocket(new SocketOptions { InlineReceiveContinuations = true });
        string endpoint = pull.Bind("tcp://127.0.0.1:0");
        await using var push = new PushSocket();
        push.Connect(endpoint);

        var waiting = pull.TryReceiveAsync(TestTimeouts.Long).AsTask();
        await push.SendAsync(Message.FromStrings("one")).AsTask().Within();

        (await waiting.Within())!.GetString(0).Should().Be("one");
        (await pull.TryReceiveAsync(TimeSpan.FromMilliseconds(20)).AsTask().Within()).Should().BeNull();
    }

    [Fact]
    public async Task ReceiveAsync_InlineContinuationsSocketDisposed_WaiterEnds()
    {
        var pull = new PullSocket(new SocketOptions { InlineReceiveContinuations = true });
        pull.Bind("tcp://127.0.0.1:0");
        var waiting = pull.ReceiveAsync().AsTask();

        await pull.DisposeAsync().AsTask().Within();

        await FluentActions.Awaiting(() => waiting.Within()).Should().ThrowAsync<ObjectDisposedException>();
    }

    [Fact]
    public async Task DisposeAsync_InlineReceiverDisposesAgain_OneCloseAndOneMonitorStopped()
    {
        var pull = new PullSocket(new SocketOptions { InlineReceiveContinuations = true });
        pull.Bind("tcp://127.0.0.1:0");
        int stopped = 0;
        pull.EventRaised += (_, e) =>
        {
            if (e.Kind == SocketEventKind.MonitorStopped)
            {
                Interlocked.Increment(ref stopped);
            }
        };

        // The receiver resumes inside the disposal (inline) and disposes again, as `await using` would.
        var receiver = ReceiveThenDisposeAsync(pull);
        await pull.DisposeAsync().AsTask().Within();
        await receiver.Within();

        stopped.Should().Be(1);
    }

    private static async Task ReceiveThenDisposeAsync(ZmqSocket socket)
    {
        try
        {
            await socket.ReceiveAsync();
        }
        catch (ObjectDisposedException)
        {
            await socket.DisposeAsync();
        }
    }
}
