using Reliability.Testing.PyZmq;
using Reliability.Transport.Tests.Interop;
using static Reliability.Transport.Tests.Interop.InteropHelpers;
using static Reliability.Transport.Tests.Proxies.RunningProxy;

namespace Reliability.Transport.Tests.Proxies;

/// <summary>The forwarder shape: XSUB frontend (publishers) ↔ XPUB backend (subscribers).</summary>
public sealed class ForwarderTests
{
    [Fact]
    public async Task RunAsync_XSubXPubForwarder_SubscriptionsGoUpstreamAndMatchingPublicationsComeDown()
    {
        const int Count = 100;
        await using var proxy = RunningProxy.Bind(new XSubscriberSocket(Options()), new XPublisherSocket(Options()), new PushSocket(Options()));
        var captureUp = Handshakes(proxy.Capture!, 1);
        proxy.Go();
        await using var tap = new PullSocket(Options());
        tap.Connect(proxy.CaptureEndpoint!);
        await captureUp.Within();
        await using var publisher = new PublisherSocket(Options());
        await using var subscriber = new SubscriberSocket(Options());
        publisher.Connect(proxy.FrontendEndpoint);
        subscriber.Subscribe("weather");
        subscriber.Connect(proxy.BackendEndpoint);

        // The subscription is the first thing through the proxy, backend to frontend.
        byte[] subscribe = [1, .. "weather"u8];
        (await tap.ReceiveWithin())[0].ToArray().Should().Equal(subscribe);

        await WarmUpAsync(publisher, subscriber);
        for (int i = 0; i < Count; i++)
        {
            await publisher.SendAsync(Message.FromStrings("sports", $"{i}")).AsTask().Within();
            await publisher.SendAsync(Message.FromStrings("weather", $"{i}")).AsTask().Within();
        }

        for (int i = 0; i < Count; i++)
        {
            var message = await subscriber.ReceiveWithin();
            message.GetString(0).Should().Be("weather", "the publisher only sends what the proxy subscribed to");
            message.GetString(1).Should().Be($"{i}");
        }

        subscriber.Unsubscribe("weather").Should().BeTrue();

        // Bounded: the copies of the warm-up and data messages come first, then the cancel.
        byte[] cancel = [0, .. "weather"u8];
        bool sawCancel = false;
        for (int i = 0; i < 10 * Count && !sawCancel; i++)
        {
            var copy = await tap.ReceiveWithin();
            sawCancel = copy.Count == 1 && copy[0].Span.SequenceEqual(cancel);
        }

        sawCancel.Should().BeTrue("the cancel travels upstream through the proxy too");
        var stats = await proxy.StopAsync();
        stats.BackendToFrontendMessages.Should().Be(2, "one subscribe and one cancel");
        stats.FrontendToBackendMessages.Should().BeGreaterThanOrEqualTo(Count);
    }

    [PyZmqFact]
    public async Task RunAsync_LibZmqPubThroughOurForwarderToLibZmqSub_DeliversSubscribedTopicInOrder()
    {
        const int Count = 200;
        await using var proxy = RunningProxy.Start(new XSubscriberSocket(Options()), new XPublisherSocket(Options()));
        await using var peer = await PyZmqPeer.StartAsync();
        var subscriber = await peer.CreateSocketAsync("SUB", new PeerSocketOptions
        {
            Extra = new Dictionary<string, string> { ["SUBSCRIBE"] = Convert.ToHexString("weather"u8) },
        });
        await subscriber.ConnectAsync(proxy.BackendEndpoint);
        var publisher = await peer.CreateSocketAsync("PUB");
        await publisher.ConnectAsync(proxy.FrontendEndpoint);

        // Slow joiner: publish until the subscription has reached the libzmq publisher.
        bool joined = false;
        for (int attempt = 0; attempt < 100 && !joined; attempt++)
        {
            await publisher.SendAsync([Utf8("weather"), Utf8("warm-up")]);
            joined = await subscriber.TryReceiveAsync(TimeSpan.FromMilliseconds(50)) is not null;
        }

        joined.Should().BeTrue("the subscription reaches the publisher through the proxy");

        // The path is FIFO: once the marker arrives, every warm-up still in flight is behind us.
        await publisher.SendAsync([Utf8("weather"), Utf8("marker")]);
        bool sawMarker = false;
        for (int i = 0; i < 101 && !sawMarker; i++)
        {
            var frames = await subscriber.ReceiveAsync(Wait);
            sawMarker = frames[1].AsSpan().SequenceEqual(Utf8("marker"));
        }

        sawMarker.Should().BeTrue();
        await publisher.SendAsync([Utf8("sports"), Utf8("not subscribed")]);
        (await publisher.SendManyAsync(Count, size: 16, prefix: [Utf8("weather")])).Should().Be(Count);
        var result = await subscriber.ReceiveManyAsync(Count, skip: 1, Wait);

        result.Received.Should().Be(Count);
        result.InOrder.Should().BeTrue(result.FirstBad is null ? string.Empty : string.Join(' ', result.FirstBad));
        result.Prefixes.Should().ContainSingle().Which.Should().Equal(Utf8("weather"));
    }

    /// <summary>
    /// Publishes warm-ups until one arrives (the subscription has reached the publisher), then a marker,
    /// and reads up to the marker so that no warm-up is left in flight (the path is FIFO).
    /// </summary>
    private static async Task WarmUpAsync(ZmqSocket publisher, ZmqSocket subscriber)
    {
        await Sockets.PubSubTests.PublishUntilReceivedAsync(publisher, subscriber, "weather");
        await publisher.SendAsync(Message.FromStrings("weather", "marker")).AsTask().Within();
        for (int i = 0; i < 201; i++)
        {
            var message = await subscriber.ReceiveWithin();
            if (message.Count == 2 && message.GetString(1) == "marker")
            {
                return;
            }
        }

        throw new InvalidOperationException("the marker never arrived");
    }
}
