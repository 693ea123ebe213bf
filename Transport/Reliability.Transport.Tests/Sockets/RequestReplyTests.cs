namespace Reliability.Transport.Tests.Sockets;

public sealed class RequestReplyTests
{
    [Fact]
    public async Task Send_RequestToReply_EchoesBody()
    {
        await using var rep = new ReplySocket();
        string endpoint = rep.Bind("tcp://127.0.0.1:0");
        await using var req = new RequestSocket();
        req.Connect(endpoint);

        await req.SendAsync(Message.FromStrings("hello", "world")).AsTask().Within();
        var request = await rep.ReceiveWithin();
        request.Select(f => f.ToArray()).Should().BeEquivalentTo(new[] { "hello"u8.ToArray(), "world"u8.ToArray() }, o => o.WithStrictOrdering());

        await rep.SendAsync(Message.FromStrings("reply")).AsTask().Within();
        var reply = await req.ReceiveWithin();
        reply.Count.Should().Be(1);
        reply.GetString(0).Should().Be("reply");
    }

    [Fact]
    public async Task Send_TwiceWithoutReceive_ThrowsSocketState()
    {
        await using var req = new RequestSocket();
        req.Connect("tcp://127.0.0.1:1");
        await req.SendAsync(Message.FromStrings("one")).AsTask().Within();
        var second = async () => await req.SendAsync(Message.FromStrings("two"));
        await second.Should().ThrowAsync<SocketStateException>();
    }

    [Fact]
    public async Task Receive_BeforeSend_ThrowsSocketState()
    {
        await using var req = new RequestSocket();
        var receive = async () => await req.TryReceiveAsync(TimeSpan.Zero);
        await receive.Should().ThrowAsync<SocketStateException>();
    }

    [Fact]
    public async Task Send_ReplyBeforeRequest_ThrowsSocketState()
    {
        await using var rep = new ReplySocket();
        var send = async () => await rep.SendAsync(Message.FromStrings("x"));
        await send.Should().ThrowAsync<SocketStateException>();
    }

    [Fact]
    public async Task DealerRouter_RoundTrip_RoutesByIdentity()
    {
        await using var router = new RouterSocket();
        string endpoint = router.Bind("tcp://127.0.0.1:0");
        await using var dealer = new DealerSocket(new SocketOptions { RoutingId = "abc"u8.ToArray() });
        dealer.Connect(endpoint);

        await dealer.SendAsync(Message.FromStrings("hello")).AsTask().Within();
        var received = await router.ReceiveWithin();
        received.GetString(0).Should().Be("abc");
        received.GetString(1).Should().Be("hello");

        await router.SendAsync(Message.FromStrings("abc", "world")).AsTask().Within();
        var reply = await dealer.ReceiveWithin();
        reply.Count.Should().Be(1);
        reply.GetString(0).Should().Be("world");
    }
}
