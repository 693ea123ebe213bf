using static Reliability.Transport.Tests.Proxies.RunningProxy;

namespace Reliability.Transport.Tests.Proxies;

/// <summary>Argument checks happen at the call, before any task starts.</summary>
public sealed class ProxyValidationTests
{
    [Fact]
    public async Task RunAsync_NullFrontend_ThrowsArgumentNull()
    {
        await using var backend = new DealerSocket(Options());

        Action act = () => _ = Proxy.RunAsync(null!, backend);

        act.Should().Throw<ArgumentNullException>().WithParameterName("frontend");
    }

    [Fact]
    public async Task RunAsync_NullBackend_ThrowsArgumentNull()
    {
        await using var frontend = new RouterSocket(Options());

        Action act = () => _ = Proxy.RunAsync(frontend, null!);

        act.Should().Throw<ArgumentNullException>().WithParameterName("backend");
    }

    [Fact]
    public async Task RunAsync_SameSocketTwice_ThrowsArgument()
    {
        await using var socket = new DealerSocket(Options());

        Action act = () => _ = Proxy.RunAsync(socket, socket);

        act.Should().Throw<ArgumentException>().WithMessage("*two different sockets*");
    }

    [Fact]
    public async Task RunAsync_CaptureIsFrontendOrBackend_ThrowsArgument()
    {
        await using var frontend = new RouterSocket(Options());
        await using var backend = new DealerSocket(Options());

        Action sameAsFrontend = () => _ = Proxy.RunAsync(frontend, backend, capture: frontend);
        Action sameAsBackend = () => _ = Proxy.RunAsync(frontend, backend, capture: backend);

        sameAsFrontend.Should().Throw<ArgumentException>().WithParameterName("capture");
        sameAsBackend.Should().Throw<ArgumentException>().WithParameterName("capture");
    }

    [Fact]
    public async Task RunAsync_PushFrontendPushBackend_ThrowsArgumentBecauseNothingCanFlow()
    {
        await using var frontend = new PushSocket(Options());
        await using var backend = new PushSocket(Options());

        Action act = () => _ = Proxy.RunAsync(frontend, backend);

        act.Should().Throw<ArgumentException>().WithMessage("*No message can flow between a Push frontend and a Push backend*");
    }

    [Fact]
    public async Task RunAsync_PushFrontendPullBackend_ForwardsBackendToFrontend()
    {
        // A streamer turned around: PULL backend receives, PUSH frontend sends.
        await using var proxy = RunningProxy.Start(new PushSocket(Options()), new PullSocket(Options()));
        await using var producer = new PushSocket(Options());
        await using var consumer = new PullSocket(Options());
        producer.Connect(proxy.BackendEndpoint);
        consumer.Connect(proxy.FrontendEndpoint);

        await producer.SendAsync(Message.FromStrings("upstream")).AsTask().Within();

        (await consumer.ReceiveWithin()).GetString(0).Should().Be("upstream");
        (await proxy.StopAsync()).BackendToFrontendMessages.Should().Be(1);
    }

    [Theory]
    [InlineData(SocketType.Req)]
    [InlineData(SocketType.Rep)]
    public async Task RunAsync_StrictlyAlternatingFrontend_ThrowsArgument(SocketType type)
    {
        await using ZmqSocket frontend = type == SocketType.Req ? new RequestSocket(Options()) : new ReplySocket(Options());
        await using var backend = new DealerSocket(Options());

        Action act = () => _ = Proxy.RunAsync(frontend, backend);

        act.Should().Throw<ArgumentException>().WithParameterName("frontend").WithMessage("*ROUTER*DEALER*");
    }

    [Fact]
    public async Task RunAsync_RepBackend_ThrowsArgument()
    {
        await using var frontend = new RouterSocket(Options());
        await using var backend = new ReplySocket(Options());

        Action act = () => _ = Proxy.RunAsync(frontend, backend);

        act.Should().Throw<ArgumentException>().WithParameterName("backend");
    }

    [Theory]
    [InlineData(SocketType.Pull)]
    [InlineData(SocketType.Router)]
    [InlineData(SocketType.Req)]
    public async Task RunAsync_CaptureTypeCannotCapture_ThrowsArgument(SocketType type)
    {
        await using var frontend = new PullSocket(Options());
        await using var backend = new PushSocket(Options());
        await using ZmqSocket capture = type switch
        {
            SocketType.Pull => new PullSocket(Options()),
            SocketType.Router => new RouterSocket(Options()),
            _ => new RequestSocket(Options()),
        };

        Action act = () => _ = Proxy.RunAsync(frontend, backend, capture);

        act.Should().Throw<ArgumentException>().WithParameterName("capture").WithMessage($"A {type} socket cannot capture*");
    }

    [Fact]
    public async Task RunAsync_DisposedControl_ThrowsObjectDisposed()
    {
        await using var frontend = new PullSocket(Options());
        await using var backend = new PushSocket(Options());
        var control = new ProxyControl();
        control.Dispose();

        Action act = () => _ = Proxy.RunAsync(frontend, backend, control: control);

        act.Should().Throw<ObjectDisposedException>();
    }

    [Fact]
    public async Task RunAsync_RouterFrontendPushBackend_IsAcceptedOneWay()
    {
        // One-directional pairs are fine: ROUTER receives, PUSH sends; PUSH never receives.
        await using var proxy = RunningProxy.Start(new RouterSocket(Options()), new PushSocket(Options()));
        await using var client = new DealerSocket(Options());
        await using var consumer = new PullSocket(Options());
        client.Connect(proxy.FrontendEndpoint);
        consumer.Connect(proxy.BackendEndpoint);

        await client.SendAsync(Message.FromStrings("one way")).AsTask().Within();

        var got = await consumer.ReceiveWithin();
        got.Count.Should().Be(2, "the ROUTER's routing id travels with the message");
        got.GetString(1).Should().Be("one way");
        proxy.Run.IsCompleted.Should().BeFalse();
    }
}
