namespace Reliability.Transport.Tests.Proxies;

/// <summary>A proxy on bound loopback sockets, terminated and cleaned up on dispose.</summary>
internal sealed class RunningProxy : IAsyncDisposable
{
    private RunningProxy(ZmqSocket frontend, ZmqSocket backend, ZmqSocket? capture)
    {
        Frontend = frontend;
        Backend = backend;
        Capture = capture;
        FrontendEndpoint = frontend.Bind("tcp://127.0.0.1:0");
        BackendEndpoint = backend.Bind("tcp://127.0.0.1:0");
        CaptureEndpoint = capture?.Bind("tcp://127.0.0.1:0");
    }

    public ZmqSocket Frontend { get; }

    public ZmqSocket Backend { get; }

    public ZmqSocket? Capture { get; }

    public string FrontendEndpoint { get; }

    public string BackendEndpoint { get; }

    public string? CaptureEndpoint { get; }

    public ProxyControl Control { get; } = new();

    public Task Run { get; private set; } = Task.CompletedTask;

    /// <summary>Binds the sockets (but does not start the proxy yet, so tests can subscribe to events first).</summary>
    public static RunningProxy Bind(ZmqSocket frontend, ZmqSocket backend, ZmqSocket? capture = null) => new(frontend, backend, capture);

    /// <summary>Binds and starts.</summary>
    public static RunningProxy Start(ZmqSocket frontend, ZmqSocket backend, ZmqSocket? capture = null) => Bind(frontend, backend, capture).Go();

    public RunningProxy Go()
    {
        Run = Proxy.RunAsync(Frontend, Backend, Capture, Control);
        return this;
    }

    /// <summary>Terminates, waits for the run to end (rethrowing a fault) and returns the final counters.</summary>
    public async Task<ProxyStatistics> StopAsync()
    {
        Control.Terminate();
        await Run.Within();
        return Control.Statistics;
    }

    public async ValueTask DisposeAsync()
    {
        Control.Terminate();
        try
        {
            await Run.WaitAsync(TestTimeouts.Long);
        }
        catch (Exception)
        {
            // The test asserts on the run itself where it matters.
        }

        await Frontend.DisposeAsync();
        await Backend.DisposeAsync();
        if (Capture is not null)
        {
            await Capture.DisposeAsync();
        }

        Control.Dispose();
    }

    public static SocketOptions Options(int highWaterMark = 1000) =>
        new() { Linger = TimeSpan.Zero, SendHighWaterMark = highWaterMark, ReceiveHighWaterMark = highWaterMark };

    /// <summary>Completes after <paramref name="count"/> successful handshakes on <paramref name="socket"/>; subscribe before connecting.</summary>
    public static Task Handshakes(ZmqSocket socket, int count)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        int seen = 0;
        socket.EventRaised += (_, e) =>
        {
            if (e.Kind == SocketEventKind.HandshakeSucceeded && Interlocked.Increment(ref seen) == count)
            {
                done.TrySetResult();
            }
        };
        return done.Task;
    }

    /// <summary>A message whose first frame is a 4-octet big-endian sequence number, then <paramref name="extraFrames"/> frames.</summary>
    public static Message Numbered(int sequence, int extraFrames = 2)
    {
        var number = new byte[4];
        System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(number, sequence);
        var message = new Message().Append(number);
        for (int i = 0; i < extraFrames; i++)
        {
            message.Append(i % 2 == 0 ? $"part-{i}-of-{sequence}" : string.Empty);
        }

        return message;
    }

    public static int SequenceOf(Message message) => System.Buffers.Binary.BinaryPrimitives.ReadInt32BigEndian(message[0].Span);
}
