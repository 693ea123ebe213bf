using Reliability.Testing.PyZmq;

namespace Reliability.Transport.Tests.Interop;

/// <summary>PUB/SUB/XPUB/XSUB and PAIR against libzmq 4.3.4: subscriptions cross in both encodings.</summary>
public sealed class PubSubInteropTests
{
    private static readonly TimeSpan Step = TimeSpan.FromMilliseconds(50);

    [PyZmqFact]
    public async Task OurSub_LibzmqPub_ReceivesSubscribedTopicOnly()
    {
        await using var peer = await PyZmqPeer.StartAsync();
        var pub = await peer.CreateSocketAsync("PUB");
        string endpoint = await pub.BindAsync();
        await using var sub = new SubscriberSocket();
        sub.Subscribe("t1");
        sub.Connect(endpoint);

        Message? received = null;
        for (int i = 0; i < 100 && received is null; i++)
        {
            await pub.SendStringsAsync("t2 other");
            await pub.SendStringsAsync("t1 hello", "part 2");
            received = await sub.TryReceiveAsync(Step);
        }

        received.Should().NotBeNull();
        received!.GetString(0).Should().Be("t1 hello");
        received.GetString(1).Should().Be("part 2");
    }

    [PyZmqFact]
    public async Task OurPub_LibzmqSub_FiltersAtPublisher()
    {
        await using var peer = await PyZmqPeer.StartAsync();
        var sub = await peer.CreateSocketAsync("SUB", new PeerSocketOptions { Extra = new Dictionary<string, string> { ["SUBSCRIBE"] = Convert.ToHexString("t1"u8) } });
        await using var pub = new PublisherSocket();
        string endpoint = pub.Bind("tcp://127.0.0.1:0");
        await sub.ConnectAsync(endpoint);

        IReadOnlyList<byte[]>? received = null;
        for (int i = 0; i < 100 && received is null; i++)
        {
            await pub.SendAsync(Message.FromStrings("t2 other"));
            await pub.SendAsync(Message.FromStrings("t1 hello"));
            received = await sub.TryReceiveAsync(Step);
        }

        received.Should().NotBeNull();
        System.Text.Encoding.UTF8.GetString(received![0]).Should().Be("t1 hello");
    }

    [PyZmqFact]
    public async Task OurXPub_LibzmqSub_SeesSubscriptionNotice()
    {
        await using var peer = await PyZmqPeer.StartAsync();
        await using var xpub = new XPublisherSocket();
        string endpoint = xpub.Bind("tcp://127.0.0.1:0");
        var sub = await peer.CreateSocketAsync("SUB", new PeerSocketOptions { Extra = new Dictionary<string, string> { ["SUBSCRIBE"] = Convert.ToHexString("abc"u8) } });
        await sub.ConnectAsync(endpoint);

        (await xpub.ReceiveWithin())[0].ToArray().Should().Equal([1, .. "abc"u8.ToArray()]);
    }

    [PyZmqFact]
    public async Task OurSub_LibzmqXPub_SubscribeCommandUnderstood()
    {
        await using var peer = await PyZmqPeer.StartAsync();
        var xpub = await peer.CreateSocketAsync("XPUB");
        string endpoint = await xpub.BindAsync();
        await using var sub = new SubscriberSocket();
        sub.Subscribe("xyz");
        sub.Connect(endpoint);

        var notice = await xpub.ReceiveAsync(TestTimeouts.Long);
        notice[0].Should().Equal([1, .. "xyz"u8.ToArray()]);

        await xpub.SendStringsAsync("xyz!");
        (await sub.ReceiveWithin()).GetString(0).Should().Be("xyz!");
    }

    [PyZmqFact]
    public async Task OurXSub_LibzmqXPub_SubscriptionMessageForwarded()
    {
        await using var peer = await PyZmqPeer.StartAsync();
        var xpub = await peer.CreateSocketAsync("XPUB");
        string endpoint = await xpub.BindAsync();
        await using var xsub = new XSubscriberSocket();
        xsub.Connect(endpoint);
        await xsub.SendAsync(Message.FromFrames([1, (byte)'q']));

        (await xpub.ReceiveAsync(TestTimeouts.Long))[0].Should().Equal((byte)1, (byte)'q');
    }

    [PyZmqTheory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Pair_OursAgainstLibzmq_RoundTrip(bool oursBinds)
    {
        await using var peer = await PyZmqPeer.StartAsync();
        var theirs = await peer.CreateSocketAsync("PAIR");
        await using var ours = new PairSocket();
        if (oursBinds)
        {
            await theirs.ConnectAsync(ours.Bind("tcp://127.0.0.1:0"));
        }
        else
        {
            ours.Connect(await theirs.BindAsync());
        }

        await ours.SendAsync(Message.FromStrings("to libzmq"));
        System.Text.Encoding.UTF8.GetString((await theirs.ReceiveAsync(TestTimeouts.Long))[0]).Should().Be("to libzmq");
        await theirs.SendStringsAsync("to ours");
        (await ours.ReceiveWithin()).GetString(0).Should().Be("to ours");
    }
}
