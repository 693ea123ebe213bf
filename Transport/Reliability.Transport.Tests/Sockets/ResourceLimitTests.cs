using System.Buffers.Binary;
using System.Diagnostics.Metrics;
using Reliability.Testing;
using Reliability.Transport.Internal;

namespace Reliability.Transport.Tests.Sockets;

/// <summary>
/// What a peer can make a bound socket hold (issue 15, "Resource limits"): connections over
/// <see cref="SocketOptions.MaxConnections"/> or <see cref="SocketOptions.MaxPendingHandshakes"/> are
/// closed at once, a wrong mechanism ends the handshake at its first wrong octet, and what a peer
/// announces (a huge frame, a large handshake command) is reserved only as fast as it sends it.
/// </summary>
public sealed class ResourceLimitTests
{
    /// <summary>Much longer than any wait below: a close within the wait is the limit's doing, not the handshake timeout's.</summary>
    private static readonly TimeSpan SlowHandshake = TimeSpan.FromMinutes(1);

    private static readonly TimeSpan AtOnce = TimeSpan.FromSeconds(5);

    [Fact]
    public async Task MaxPendingHandshakes_SilentConnectionsFillIt_NextIsClosedAtOnce_ThenHealthyServedOnceTheyLeave()
    {
        var log = new InMemoryLog();
        using var refused = new RefusalCounter();
        await using var router = new RouterSocket(new SocketOptions { MaxPendingHandshakes = 2, HandshakeTimeout = SlowHandshake }, log);
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        var silent = new List<RawPeer> { await RawPeer.ConnectAsync(endpoint), await RawPeer.ConnectAsync(endpoint) };

        // Accepts are in order: both silent peers are counted before the third one is looked at.
        using (var third = await RawPeer.ConnectAsync(endpoint))
        {
            await third.WaitForCloseAsync().WaitAsync(AtOnce);
        }

        refused.Count("max_pending_handshakes").Should().BeGreaterThanOrEqualTo(1);
        log.Lines.Should().Contain(line => line.Contains("MaxPendingHandshakes", StringComparison.Ordinal));

        silent.ForEach(peer => peer.Dispose());
        await using var healthy = new DealerSocket(new SocketOptions { RoutingId = "healthy"u8.ToArray(), ReconnectInterval = TimeSpan.FromMilliseconds(20) });
        healthy.Connect(endpoint);
        await healthy.SendAsync(Message.FromStrings("after"));
        (await router.ReceiveWithin()).GetString(1).Should().Be("after");
    }

    [Fact]
    public async Task MaxConnections_Reached_NextIsClosedAtOnce_HandshakenPeerKeepsBeingServed()
    {
        using var refused = new RefusalCounter();
        await using var router = new RouterSocket(new SocketOptions { MaxConnections = 1, HandshakeTimeout = SlowHandshake });
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        await using var healthy = new DealerSocket(new SocketOptions { RoutingId = "healthy"u8.ToArray() });
        healthy.Connect(endpoint);
        await healthy.SendAsync(Message.FromStrings("before"));
        (await router.ReceiveWithin()).GetString(1).Should().Be("before");

        using (var extra = await RawPeer.ConnectAsync(endpoint))
        {
            await extra.WaitForCloseAsync().WaitAsync(AtOnce);
        }

        refused.Count("max_connections").Should().BeGreaterThanOrEqualTo(1);
        await healthy.SendAsync(Message.FromStrings("after"));
        (await router.ReceiveWithin()).GetString(1).Should().Be("after");
    }

    [Fact]
    public async Task Greeting_WrongMechanismOctet_EndsHandshakeBeforeTheRestArrives()
    {
        await using var router = new RouterSocket(new SocketOptions { HandshakeTimeout = SlowHandshake });
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        var failed = router.NextEvent(SocketEventKind.HandshakeFailed);
        using var peer = await RawPeer.ConnectAsync(endpoint);

        // Signature, version 3.1 and one octet of the mechanism: 'P' cannot start "NULL".
        await peer.SendAsync(RawPeer.Greeting("PLAIN")[..13]);

        (await failed.Within(AtOnce)).Error.Should().Be(ProtocolError.MechanismMismatch);
        await peer.WaitForCloseAsync().WaitAsync(AtOnce);
    }

    [Fact]
    public async Task Traffic_HeaderAnnouncingHugeFrame_RefusedFromTheHeaderAlone()
    {
        await using var router = new RouterSocket(new SocketOptions { MaxMessageSize = 1 << 20 });
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        var tooLarge = router.NextEvent(SocketEventKind.Disconnected, e => e.Error == ProtocolError.MessageTooLarge);
        using var peer = await RawPeer.ConnectAsync(endpoint);
        await peer.HandshakeAsync("DEALER", "huge");

        // Long-form header announcing 2^31 - 57 octets, and not one octet of body.
        var header = new byte[9];
        header[0] = 0x02;
        BinaryPrimitives.WriteInt64BigEndian(header.AsSpan(1), int.MaxValue - 56);
        await peer.SendAsync(header);

        await tooLarge.Within(AtOnce);
        await peer.WaitForCloseAsync().WaitAsync(AtOnce);
    }

    [Fact]
    public async Task SendHighWaterMarkBytes_QueueFullByBytes_BeforeItIsFullByMessages()
    {
        await using var dealer = new DealerSocket(new SocketOptions { SendHighWaterMarkBytes = 1000, Linger = TimeSpan.Zero });

        // Nobody listens there: everything stays queued in the pipe.
        dealer.Connect("tcp://127.0.0.1:1");

        (await dealer.TrySendAsync(Message.FromFrames(new byte[600]), TimeSpan.Zero)).Should().BeTrue();
        (await dealer.TrySendAsync(Message.FromFrames(new byte[600]), TimeSpan.Zero)).Should().BeTrue("one message is accepted while the queue is below the limit");
        (await dealer.TrySendAsync(Message.FromFrames(new byte[1]), TimeSpan.Zero)).Should().BeFalse("1200 queued bytes are over the 1000-byte limit");
    }

    [Fact]
    public void Decoder_HandshakeSpace_GrowsAsBytesArrive_NotToWhatIsAnnounced()
    {
        var decoder = new ZmtpDecoder(new NullSink(), -1, _ => { });

        var space = decoder.SpaceFor(ZmtpDecoder.MaxCommandSize);

        space.Length.Should().BeLessThan(4096, "a peer announcing a 1 MiB command has sent none of it yet");
        decoder.Commit(space.Length);
        decoder.SpaceFor(ZmtpDecoder.MaxCommandSize).Length.Should().BeLessThanOrEqualTo(space.Length * 2, "the buffer doubles as the bytes come");
    }

    [Fact]
    public void Decoder_LargeFrame_ArrayGrowsWithTheBody_AndTheMessageIsIntact()
    {
        var sink = new NullSink();
        var decoder = new ZmtpDecoder(sink, -1, _ => { });
        var pipe = new Pipe("tcp://test", isConnectSide: false, sendHighWaterMark: 16, receiveHighWaterMark: 1000);
        const int size = 3 << 20;
        var header = new byte[9];
        header[0] = 0x02;
        BinaryPrimitives.WriteInt64BigEndian(header.AsSpan(1), size);
        header.CopyTo(decoder.SpaceToRead());
        decoder.Commit(header.Length);

        var rest = decoder.DecodeBuffered(pipe);
        rest.Length.Should().BeLessThan(size / 4, "the header alone reserves only the first piece");
        int written = 0;
        while (!rest.IsEmpty)
        {
            var piece = rest.Span[..Math.Min(rest.Length, 100_000)];
            for (int i = 0; i < piece.Length; i++)
            {
                piece[i] = (byte)(written + i);
            }

            written += piece.Length;
            rest = decoder.LargeFrameRead(piece.Length);
        }

        decoder.CompleteLargeFrame(pipe);
        decoder.DecodeBuffered(pipe).IsEmpty.Should().BeTrue("the next decode delivers the batch");
        written.Should().Be(size);
        var body = sink.Last![0].Span;
        body.Length.Should().Be(size);
        body[size - 1].Should().Be(unchecked((byte)(size - 1)));
        body[123_456].Should().Be(unchecked((byte)123_456));
    }

    /// <summary>Keeps the last message the decoder delivers.</summary>
    private sealed class NullSink : IInboundSink
    {
        public Message? Last { get; private set; }

        public bool InterceptsInbound => false;

        public bool InterceptInbound(Pipe pipe, Message message) => false;

        public void DeliverInbound(Pipe pipe, List<Delivery> batch) => Last = batch[^1].Message;

        public bool TryHandleSubscriptionCommand(Pipe pipe, ReadOnlySpan<byte> name, ReadOnlySpan<byte> data) => true;
    }

    /// <summary>Counts <c>reliability.transport.connections.refused</c> by reason while it lives.</summary>
    private sealed class RefusalCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly Dictionary<string, long> _counts = [];

        public RefusalCounter()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Name == "reliability.transport.connections.refused")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag.Key == "reason" && tag.Value is string reason)
                    {
                        lock (_counts)
                        {
                            _counts[reason] = _counts.GetValueOrDefault(reason) + value;
                        }
                    }
                }
            });
            _listener.Start();
        }

        public long Count(string reason)
        {
            lock (_counts)
            {
                return _counts.GetValueOrDefault(reason);
            }
        }

        public void Dispose() => _listener.Dispose();
    }
}
