using Reliability.Testing.PyZmq;
using Reliability.Transport.Tests.Interop;


namespace Reliability.Transport.Tests.Sockets;

/// <summary>ipc:// endpoints (Unix domain sockets) with the same socket semantics as tcp://.</summary>
public sealed class IpcTests
{
    private static string NewPath() => Path.Combine(Path.GetTempPath(), $"rel-test-{Guid.NewGuid():N}.ipc");

    [Fact]
    public async Task Ipc_DealerRouter_RoundTripAndFileRemovedOnClose()
    {
        string path = NewPath();
        var router = new RouterSocket();
        router.Bind($"ipc://{path}").Should().Be($"ipc://{path}");
        File.Exists(path).Should().BeTrue();
        await using var dealer = new DealerSocket(new SocketOptions { RoutingId = "ipc"u8.ToArray() });
        dealer.Connect($"ipc://{path}");

        await dealer.SendAsync(Message.FromStrings("over a file"));
        var request = await router.ReceiveWithin();
        request.GetString(0).Should().Be("ipc");
        await router.SendAsync(Message.FromStrings("ipc", "back"));
        (await dealer.ReceiveWithin()).GetString(0).Should().Be("back");

        await router.DisposeAsync();
        File.Exists(path).Should().BeFalse("the socket file is removed when the endpoint closes");
    }

    [Fact]
    public async Task Ipc_StaleFileFromCrashedProcess_BindSucceeds()
    {
        string path = NewPath();
        await File.WriteAllTextAsync(path, "left behind");
        try
        {
            await using var rep = new ReplySocket();

            rep.Bind($"ipc://{path}");

            await using var req = new RequestSocket();
            req.Connect($"ipc://{path}");
            await req.SendAsync(Message.FromStrings("hi"));
            (await rep.ReceiveWithin()).GetString(0).Should().Be("hi");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Ipc_LiveListener_SecondBindFailsAddressInUse()
    {
        string path = NewPath();
        await using var first = new RouterSocket();
        first.Bind($"ipc://{path}");
        await using var second = new RouterSocket();

        second.Invoking(s => s.Bind($"ipc://{path}")).Should().Throw<EndpointException>().WithMessage("*in use*");
    }

    [Fact]
    public async Task Ipc_WildcardBind_PicksFreshPath()
    {
        await using var pull = new PullSocket();
        string bound = pull.Bind("ipc://*");
        bound.Should().StartWith("ipc://").And.NotContain("*");
        await using var push = new PushSocket();
        push.Connect(bound);

        await push.SendAsync(Message.FromStrings("anywhere"));

        (await pull.ReceiveWithin()).GetString(0).Should().Be("anywhere");
    }

    [Fact]
    public async Task Ipc_ConnectBeforeBind_Reconnects()
    {
        string path = NewPath();
        await using var dealer = new DealerSocket(new SocketOptions { ReconnectInterval = TimeSpan.FromMilliseconds(20) });
        dealer.Connect($"ipc://{path}");
        await dealer.SendAsync(Message.FromStrings("early"));

        await using var router = new RouterSocket();
        router.Bind($"ipc://{path}");

        (await router.ReceiveWithin()).GetString(1).Should().Be("early");
    }

    [PyZmqTheory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Ipc_AgainstLibzmq_RoundTrip(bool oursBinds)
    {
        string endpoint = $"ipc://{NewPath()}";
        await using var peer = await PyZmqPeer.StartAsync();
        var theirs = await peer.CreateSocketAsync("REP");
        await using var ours = new RequestSocket();
        if (oursBinds)
        {
            ours.Bind(endpoint);
            await theirs.ConnectAsync(endpoint);
        }
        else
        {
            await theirs.BindAsync(endpoint);
            ours.Connect(endpoint);
        }

        await ours.SendAsync(Message.FromStrings("to libzmq over ipc"));
        var request = await theirs.ReceiveAsync(TestTimeouts.Long);
        await theirs.SendAsync(request);

        (await ours.ReceiveWithin()).GetString(0).Should().Be("to libzmq over ipc");
    }
}
