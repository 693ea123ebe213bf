using Reliability.Testing.PyZmq;
using static Reliability.Transport.Tests.Interop.InteropHelpers;

namespace Reliability.Transport.Tests.Interop;

/// <summary>Each of our socket types against its libzmq counterparts, with our side binding and connecting.</summary>
public sealed class SocketPairInteropTests
{
    private static readonly byte[] BinderId = Utf8("binder-router");
    private static readonly byte[] ConnectorId = Utf8("connector-router");

    /// <summary>(our type, libzmq type, whether our side binds): every legal pair of REQ/REP/DEALER/ROUTER.</summary>
    public static TheoryData<string, string, bool> Pairs()
    {
        var data = new TheoryData<string, string, bool>();
        (string Ours, string Theirs)[] pairs =
        [
            ("REQ", "REP"), ("REQ", "ROUTER"),
            ("REP", "REQ"), ("REP", "DEALER"),
            ("DEALER", "REP"), ("DEALER", "ROUTER"), ("DEALER", "DEALER"),
            ("ROUTER", "REQ"), ("ROUTER", "DEALER"), ("ROUTER", "ROUTER"),
        ];
        foreach (var (ours, theirs) in pairs)
        {
            data.Add(ours, theirs, true);
            data.Add(ours, theirs, false);
        }

        return data;
    }

    [PyZmqTheory]
    [MemberData(nameof(Pairs))]
    public async Task RoundTrip_OursAgainstLibZmq_DeliversRequestAndReplyTwice(string ourType, string theirType, bool oursBinds)
    {
        var routerPair = ourType == "ROUTER" && theirType == "ROUTER";
        await using var peer = await PyZmqPeer.StartAsync();
        await using var ours = new OurSide(ourType, new SocketOptions
        {
            Linger = TimeSpan.Zero,
            RoutingId = routerPair ? (oursBinds ? BinderId : ConnectorId) : default,
            RouterMandatory = ourType == "ROUTER",
        });
        var theirs = new TheirSide(await peer.CreateSocketAsync(theirType, new PeerSocketOptions
        {
            RoutingId = routerPair ? (oursBinds ? ConnectorId : BinderId) : null,
            RouterMandatory = theirType == "ROUTER",
        }));

        if (oursBinds)
        {
            var endpoint = ours.Socket.Bind("tcp://127.0.0.1:0");
            if (routerPair)
            {
                // libzmq's way to address a ROUTER it connects to: name the peer at connect time.
                await theirs.Socket.SetOptionAsync("CONNECT_ROUTING_ID", Convert.ToHexString(BinderId));
            }

            await theirs.Socket.ConnectAsync(endpoint);
        }
        else
        {
            var endpoint = await theirs.Socket.BindAsync();
            ours.Socket.Connect(endpoint);
            if (routerPair)
            {
                // A ROUTER can only address a peer whose handshake (and so its Identity) is done.
                await ours.Events.WaitAsync(SocketEventKind.HandshakeSucceeded);
            }
        }

        ISide ourSide = ours;
        ISide theirSide = theirs;
        var (initiator, responder) = Roles(ourSide, theirSide, oursBinds);
        byte[]? target = routerPair ? BinderId : null;

        var firstId = await RoundTripAsync(initiator, responder, "1", target);
        var secondId = await RoundTripAsync(initiator, responder, "2", target);

        if (routerPair)
        {
            firstId.Should().Equal(ConnectorId, "the binding ROUTER sees the connecting ROUTER's Identity");
        }

        if (firstId is not null)
        {
            secondId.Should().Equal(firstId, "one connection keeps one routing id");
        }
    }

    [PyZmqTheory]
    [InlineData("PUSH", true)]
    [InlineData("PUSH", false)]
    [InlineData("PULL", true)]
    [InlineData("PULL", false)]
    public async Task Pipeline_OursAgainstLibZmq_DeliversMultipartMessagesInOrder(string ourType, bool oursBinds)
    {
        var theirType = ourType == "PUSH" ? "PULL" : "PUSH";
        await using var peer = await PyZmqPeer.StartAsync();
        await using var ours = new OurSide(ourType);
        var theirs = new TheirSide(await peer.CreateSocketAsync(theirType));
        if (oursBinds)
        {
            await theirs.Socket.ConnectAsync(ours.Socket.Bind("tcp://127.0.0.1:0"));
        }
        else
        {
            ours.Socket.Connect(await theirs.Socket.BindAsync());
        }

        ISide pusher = ourType == "PUSH" ? ours : theirs;
        ISide puller = ourType == "PUSH" ? theirs : ours;
        var messages = Enumerable.Range(0, 3)
            .Select(i => new[] { Utf8($"part-a-{i}"), Array.Empty<byte>(), new byte[] { (byte)i } })
            .ToList();

        foreach (var message in messages)
        {
            await pusher.SendAsync(message);
        }

        foreach (var message in messages)
        {
            AssertFrames(await puller.ReceiveAsync(), message, $"{pusher.Owner} PUSH -> {puller.Owner} PULL");
        }
    }

    private static (ISide Initiator, ISide Responder) Roles(ISide ours, ISide theirs, bool oursBinds)
    {
        static int Rank(string type) => type switch
        {
            "REQ" => 0,
            "DEALER" => 1,
            "ROUTER" => 2,
            _ => 3, // REP
        };

        var (ourRank, theirRank) = (Rank(ours.Type), Rank(theirs.Type));
        if (ourRank != theirRank)
        {
            return ourRank < theirRank ? (ours, theirs) : (theirs, ours);
        }

        // Same type (DEALER or ROUTER pairs): the connecting side speaks first.
        return oursBinds ? (theirs, ours) : (ours, theirs);
    }
}
