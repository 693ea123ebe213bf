using System.Text;
using Reliability.Testing.PyZmq;
using static Reliability.Transport.Tests.Interop.InteropHelpers;

namespace Reliability.Transport.Tests.Interop;

/// <summary>Several libzmq peers on one of our sockets, identity reuse, REQ correlation and heartbeats.</summary>
[Collection(ExclusiveCollection.Name)]
public sealed class RoutingInteropTests
{
    [PyZmqFact]
    public async Task OurRouter_ThreeLibZmqDealers_EachReplyReachesOnlyItsSender()
    {
        await using var peer = await PyZmqPeer.StartAsync();
        await using var ours = new OurSide("ROUTER", new SocketOptions { Linger = TimeSpan.Zero, RouterMandatory = true });
        var endpoint = ours.Socket.Bind("tcp://127.0.0.1:0");
        var dealers = new List<PeerSocket>();
        for (var i = 0; i < 3; i++)
        {
            var dealer = await peer.CreateSocketAsync("DEALER", new PeerSocketOptions { RoutingId = Utf8($"d{i}") });
            await dealer.ConnectAsync(endpoint);
            await dealer.SendStringsAsync($"from-d{i}");
            dealers.Add(dealer);
        }

        var seen = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var message = await ours.ReceiveAsync();
            var id = Encoding.UTF8.GetString(message[0]);
            Encoding.UTF8.GetString(message[1]).Should().Be($"from-{id}");
            seen.Add(id);
            await ours.SendAsync([message[0], Utf8($"to-{id}")]);
        }

        seen.Should().BeEquivalentTo("d0", "d1", "d2");
        for (var i = 0; i < 3; i++)
        {
            var reply = await dealers[i].ReceiveAsync(Wait);
            Encoding.UTF8.GetString(reply.Single()).Should().Be($"to-d{i}");
            (await dealers[i].TryReceiveAsync(TimeSpan.FromMilliseconds(20))).Should().BeNull();
        }
    }

    [PyZmqFact]
    public async Task OurDealer_TwoLibZmqRouters_RoundRobinsRequests()
    {
        await using var peer = await PyZmqPeer.StartAsync();
        var routers = new[] { await peer.CreateSocketAsync("ROUTER"), await peer.CreateSocketAsync("ROUTER") };
        await using var ours = new OurSide("DEALER");
        foreach (var router in routers)
        {
            ours.Socket.Connect(await router.BindAsync());
        }

        // Round-robin only spreads over connections that are up.
        await ours.Events.WaitAsync(SocketEventKind.HandshakeSucceeded, occurrence: 2);
        for (var i = 0; i < 4; i++)
        {
            await ours.SendAsync([Utf8($"m{i}")]);
        }

        foreach (var router in routers)
        {
            (await router.ReceiveAsync(Wait)).Should().HaveCount(2);
            (await router.ReceiveAsync(Wait)).Should().HaveCount(2);
            (await router.TryReceiveAsync(TimeSpan.FromMilliseconds(20))).Should().BeNull("4 messages over 2 peers is 2 each");
        }
    }

    [PyZmqFact]
    public async Task OurRouter_LibZmqDealerRestartedWithSameIdentity_RoutesToNewConnection()
    {
        var identity = Utf8("worker-1");
        await using var ours = new OurSide("ROUTER", new SocketOptions { Linger = TimeSpan.Zero, RouterMandatory = true });
        var endpoint = ours.Socket.Bind("tcp://127.0.0.1:0");
        await using (var first = await PyZmqPeer.StartAsync())
        {
            var worker = new TheirSide(await first.CreateSocketAsync("DEALER", new PeerSocketOptions { RoutingId = identity }));
            await worker.Socket.ConnectAsync(endpoint);
            (await RoundTripAsync(worker, ours, "first life")).Should().Equal(identity);
            await first.KillAsync();
            await ours.Events.WaitAsync(SocketEventKind.Disconnected);
        }

        await using var second = await PyZmqPeer.StartAsync();
        var reborn = new TheirSide(await second.CreateSocketAsync("DEALER", new PeerSocketOptions { RoutingId = identity }));
        await reborn.Socket.ConnectAsync(endpoint);

        (await RoundTripAsync(reborn, ours, "second life")).Should().Equal(identity);
    }

    [PyZmqFact]
    public async Task OurReq_RelaxedCorrelatedResendToLibZmqRep_DropsStaleReply()
    {
        await using var peer = await PyZmqPeer.StartAsync();
        var rep = await peer.CreateSocketAsync("REP");
        await using var ours = new OurSide("REQ", new SocketOptions { Linger = TimeSpan.Zero, RequestRelaxed = true, RequestCorrelate = true });
        ours.Socket.Connect(await rep.BindAsync());

        await ours.SendAsync([Utf8("one")]);
        var first = await rep.ReceiveAsync(Wait);
        await ours.SendAsync([Utf8("two")]);
        await rep.SendStringsAsync("reply-one");
        var second = await rep.ReceiveAsync(Wait);
        await rep.SendStringsAsync("reply-two");
        var reply = await ours.ReceiveAsync();

        Encoding.UTF8.GetString(first.Single()).Should().Be("one");
        Encoding.UTF8.GetString(second.Single()).Should().Be("two");
        Encoding.UTF8.GetString(reply.Single()).Should().Be("reply-two", "the reply to the abandoned request carries the old request id");
    }

    [PyZmqFact]
    public async Task OurRep_LibZmqReqRelaxedCorrelated_KeepsRequestIdEnvelope()
    {
        await using var peer = await PyZmqPeer.StartAsync();
        var req = await peer.CreateSocketAsync("REQ", new PeerSocketOptions { RequestRelaxed = true, RequestCorrelate = true });
        await using var ours = new OurSide("REP");
        await req.ConnectAsync(ours.Socket.Bind("tcp://127.0.0.1:0"));

        await req.SendStringsAsync("one");
        var first = await ours.ReceiveAsync();
        await req.SendStringsAsync("two");
        await ours.SendAsync([Utf8("reply-one")]);
        var second = await ours.ReceiveAsync();
        await ours.SendAsync([Utf8("reply-two")]);
        var reply = await req.ReceiveAsync(Wait);

        Encoding.UTF8.GetString(first.Single()).Should().Be("one");
        Encoding.UTF8.GetString(second.Single()).Should().Be("two");
        Encoding.UTF8.GetString(reply.Single()).Should().Be("reply-two", "libzmq drops a reply whose request id is stale");
    }

    [PyZmqTheory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Heartbeat_LibZmqPingsOurRouter_ConnectionSurvivesTimeout(bool oursBinds)
    {
        await using var peer = await PyZmqPeer.StartAsync();
        // A generous timeout: with 250 ms and then 600 ms the link dropped while other test processes
        // loaded the 2-core box (a PONG delayed by a stalled thread pool, not a missing one).
        var extra = new Dictionary<string, string> { ["HEARTBEAT_IVL"] = "50", ["HEARTBEAT_TIMEOUT"] = "2000" };
        var dealer = new TheirSide(await peer.CreateSocketAsync("DEALER", new PeerSocketOptions { Extra = extra }));
        await dealer.Socket.StartMonitorAsync();
        await using var ours = new OurSide("ROUTER", new SocketOptions { Linger = TimeSpan.Zero, RouterMandatory = true });
        if (oursBinds)
        {
            await dealer.Socket.ConnectAsync(ours.Socket.Bind("tcp://127.0.0.1:0"));
        }
        else
        {
            ours.Socket.Connect(await dealer.Socket.BindAsync());
        }

        await RoundTripAsync(dealer, ours, "before idle");

        // Idle for 60 PING intervals, longer than the timeout: libzmq drops the link after 2 s unless PINGs get PONGs.
        var dropped = await dealer.Socket.TryWaitForEventAsync(TimeSpan.FromMilliseconds(3000), "DISCONNECTED");
        dropped.Should().BeNull();
        ours.Events.Count(SocketEventKind.Disconnected).Should().Be(0);
        await RoundTripAsync(dealer, ours, "after idle");
    }
}
