namespace Reliability.Transport.Tests.Sockets;

/// <summary>Per-peer flow control on a ROUTER: <see cref="RouterSocket.PauseReceiving"/> and <see cref="RouterSocket.ResumeReceiving"/>.</summary>
public sealed class FlowControlTests
{
    private const int Messages = 2000;

    // 1 KiB bodies: after the pause at most one read buffer (64 KiB) of them can still arrive.
    private static readonly byte[] Body = new byte[1024];

    [Theory]
    [InlineData("tcp://127.0.0.1:0")]
    [InlineData("inproc://flow-control-pause")]
    public async Task PausedPeer_IsNotRead_UntilResumed_AndLosesNothing(string endpoint)
    {
        await using var router = new RouterSocket(new SocketOptions { ReceivePeerEvents = true });
        string bound = router.Bind(endpoint);
        await using var dealer = new DealerSocket(new SocketOptions { RoutingId = "flood"u8.ToArray(), SendHighWaterMark = Messages });
        dealer.Connect(bound);
        (await router.ReceiveWithin()).PeerEvent.Should().Be(PeerEventKind.Connected);

        router.PauseReceiving("flood"u8).Should().BeTrue();
        for (int i = 0; i < Messages; i++)
        {
            (await dealer.TrySendAsync(Message.FromFrames(BitConverter.GetBytes(i), Body), TestTimeouts.Long)).Should().BeTrue();
        }

        int early = 0;
        while (await router.TryReceiveAsync(TestTimeouts.Short) is not null)
        {
            early++;
        }

        early.Should().BeLessThanOrEqualTo(64, "a paused peer's connection is not read beyond the buffer in hand");

        router.ResumeReceiving("flood"u8).Should().BeTrue();
        var seen = new List<int>();
        for (int i = early; i < Messages; i++)
        {
            seen.Add(BitConverter.ToInt32((await router.ReceiveWithin())[1].Span));
        }

        seen.Should().Equal(Enumerable.Range(early, Messages - early), "nothing is lost or reordered by a pause");
    }

    [Fact]
    public async Task PausingOnePeer_LeavesTheOthersAlone()
    {
        await using var router = new RouterSocket();
        string bound = router.Bind("tcp://127.0.0.1:0");
        await using var slow = new DealerSocket(new SocketOptions { RoutingId = "slow"u8.ToArray(), SendHighWaterMark = Messages });
        await using var other = new DealerSocket(new SocketOptions { RoutingId = "other"u8.ToArray() });
        slow.Connect(bound);
        other.Connect(bound);
        await slow.SendAsync(Message.FromStrings("hello"));
        (await router.ReceiveWithin()).GetString(0).Should().Be("slow");

        router.PauseReceiving("slow"u8).Should().BeTrue();
        for (int i = 0; i < Messages; i++)
        {
            (await slow.TrySendAsync(Message.FromFrames(Body), TimeSpan.Zero)).Should().BeTrue();
        }

        await other.SendAsync(Message.FromStrings("through"));

        // The paused peer's read in progress may still deliver one buffer of its messages; the other peer's
        // message arrives regardless.
        int fromSlow = 0;
        Message next;
        while ((next = await router.ReceiveWithin()).GetString(0) == "slow")
        {
            fromSlow++;
        }

        next.GetString(0).Should().Be("other");
        next.GetString(1).Should().Be("through");
        fromSlow.Should().BeLessThanOrEqualTo(64);
    }

    [Fact]
    public async Task UnknownPeer_CannotBePaused()
    {
        await using var router = new RouterSocket();
        router.Bind("tcp://127.0.0.1:0");

        router.PauseReceiving("nobody"u8).Should().BeFalse();
        router.ResumeReceiving("nobody"u8).Should().BeFalse();
    }
}
