using System.Text;
using static Reliability.Transport.Tests.Interop.InteropHelpers;

namespace Reliability.Transport.Tests.Interop.JeroMq;

/// <summary>
/// Our sockets against Debian's JeroMQ 0.3.6, which speaks ZMTP/2.0 only (docs/wire/zmtp.md §17):
/// every cell hung before version detection. Each pattern in both directions; JeroPeer.java is the peer.
/// </summary>
public sealed class JeroMqInteropTests
{
    private const int Count = 3;

    [JeroMqFact]
    public async Task OurReq_TheirRep_RepliesArrive_AndTheHandshakeIsZmtp2()
    {
        await using var theirs = await JeroMqPeer.StartAsync("REP", bind: true, "tcp://127.0.0.1", Count);
        await using var ours = new OurSide("REQ");
        ours.Socket.Connect($"tcp://127.0.0.1:{await theirs.PortAsync()}");
        for (int i = 0; i < Count; i++)
        {
            await ours.SendAsync([Utf8($"request {i}")]);
            (await ours.ReceiveAsync()).Should().BeEquivalentTo(new[] { Utf8($"request {i}") });
            (await theirs.ReceivedAsync()).Should().BeEquivalentTo(new[] { Utf8($"request {i}") });
        }

        await theirs.CompletedAsync();
        ours.Events.Count(SocketEventKind.HandshakeFailed).Should().Be(0, ours.Events.ToString());
    }

    [JeroMqFact]
    public async Task TheirReq_OurRep_RequestsAreAnswered()
    {
        await using var ours = new OurSide("REP");
        string endpoint = ours.Socket.Bind("tcp://127.0.0.1:0");
        await using var theirs = await JeroMqPeer.StartAsync("REQ", bind: false, endpoint, Count);
        for (int i = 0; i < Count; i++)
        {
            var request = await ours.ReceiveAsync();
            request.Should().BeEquivalentTo(new[] { Utf8($"request {i}") });
            await ours.SendAsync([Utf8($"reply {i}")]);
            (await theirs.ReceivedAsync()).Should().BeEquivalentTo(new[] { Utf8($"reply {i}") });
        }

        await theirs.CompletedAsync();
    }

    [JeroMqFact]
    public async Task OurDealer_TheirRouter_EchoKeepsTheEnvelope()
    {
        await using var theirs = await JeroMqPeer.StartAsync("ROUTER", bind: true, "tcp://127.0.0.1", Count);
        await using var ours = new OurSide("DEALER", new SocketOptions { Linger = TimeSpan.Zero, RoutingId = Utf8("our-dealer") });
        ours.Socket.Connect($"tcp://127.0.0.1:{await theirs.PortAsync()}");
        for (int i = 0; i < Count; i++)
        {
            await ours.SendAsync([[], Utf8($"request {i}")]);
            (await theirs.ReceivedAsync()).Should().BeEquivalentTo(new[] { Utf8("our-dealer"), [], Utf8($"request {i}") },
                "JeroMQ's ROUTER names us by the identity frame of the ZMTP/2.0 handshake");
            (await ours.ReceiveAsync()).Should().BeEquivalentTo(new[] { [], Utf8($"request {i}") });
        }

        await theirs.CompletedAsync();
    }

    [JeroMqFact]
    public async Task TheirDealer_OurRouter_RepliesRouteBack()
    {
        await using var ours = new OurSide("ROUTER", new SocketOptions { Linger = TimeSpan.Zero, RouterMandatory = true });
        string endpoint = ours.Socket.Bind("tcp://127.0.0.1:0");
        await using var theirs = await JeroMqPeer.StartAsync("DEALER", bind: false, endpoint, Count);
        for (int i = 0; i < Count; i++)
        {
            var request = await ours.ReceiveAsync();
            request.Should().HaveCount(3);
            request[2].Should().Equal(Utf8($"request {i}"));
            await ours.SendAsync([request[0], [], Utf8($"reply {i}")]);
            (await theirs.ReceivedAsync()).Should().BeEquivalentTo(new[] { [], Utf8($"reply {i}") });
        }

        await theirs.CompletedAsync();
    }

    [JeroMqFact]
    public async Task OurPush_TheirPull_MessagesArriveInOrder()
    {
        await using var theirs = await JeroMqPeer.StartAsync("PULL", bind: true, "tcp://127.0.0.1", Count);
        await using var ours = new OurSide("PUSH");
        ours.Socket.Connect($"tcp://127.0.0.1:{await theirs.PortAsync()}");
        for (int i = 0; i < Count; i++)
        {
            await ours.SendAsync([Utf8($"push {i}"), new byte[300]]);
        }

        for (int i = 0; i < Count; i++)
        {
            (await theirs.ReceivedAsync()).Should().BeEquivalentTo(new[] { Utf8($"push {i}"), new byte[300] }, "a 300-octet frame takes the long form");
        }

        await theirs.CompletedAsync();
    }

    [JeroMqFact]
    public async Task TheirPush_OurPull_MessagesArriveInOrder()
    {
        await using var ours = new OurSide("PULL");
        string endpoint = ours.Socket.Bind("tcp://127.0.0.1:0");
        await using var theirs = await JeroMqPeer.StartAsync("PUSH", bind: false, endpoint, Count);
        for (int i = 0; i < Count; i++)
        {
            (await ours.ReceiveAsync()).Should().BeEquivalentTo(new[] { Utf8($"push {i}"), new byte[] { 0, 1, 0xFF } });
        }

        await theirs.CompletedAsync();
    }

    [JeroMqFact]
    public async Task TheirPub_OurSub_OnlyTheSubscribedTopicArrives()
    {
        await using var theirs = await JeroMqPeer.StartAsync("PUB", bind: true, "tcp://127.0.0.1", Count);
        await using var ours = new OurSide("SUB");
        ((SubscriberSocket)ours.Socket).Subscribe("A"u8.ToArray());
        ours.Socket.Connect($"tcp://127.0.0.1:{await theirs.PortAsync()}");
        for (int i = 0; i < Count; i++)
        {
            var message = await ours.ReceiveAsync();
            Encoding.ASCII.GetString(message[0]).Should().StartWith("A ", "our ZMTP/2.0-style subscription reached JeroMQ's PUB");
        }
    }

    [JeroMqFact]
    public async Task OurPub_TheirSub_FiltersByItsSubscription()
    {
        await using var ours = new OurSide("PUB");
        string endpoint = ours.Socket.Bind("tcp://127.0.0.1:0");
        await using var theirs = await JeroMqPeer.StartAsync("SUB", bind: false, endpoint, Count);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var publishing = Task.Run(async () =>
        {
            // Until the subscription has arrived, publishing reaches nobody (slow joiner): keep going, bounded.
            for (int i = 0; i < 1500 && !stop.IsCancellationRequested; i++)
            {
                await ours.Socket.SendAsync(Message.FromStrings($"B {i}"), stop.Token);
                await ours.Socket.SendAsync(Message.FromStrings($"A {i}"), stop.Token);
                await Task.Delay(20, stop.Token);
            }
        });
        try
        {
            for (int i = 0; i < Count; i++)
            {
                Encoding.ASCII.GetString((await theirs.ReceivedAsync())[0]).Should().StartWith("A ");
            }

            await theirs.CompletedAsync();
        }
        finally
        {
            await stop.CancelAsync();
            await publishing.ContinueWith(_ => { }, TaskScheduler.Default);
        }
    }
}
