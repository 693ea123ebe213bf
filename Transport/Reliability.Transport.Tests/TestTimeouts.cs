namespace Reliability.Transport.Tests;

/// <summary>Upper bounds for waits in tests: generous, so a slow CI machine never flakes, but never infinite.</summary>
internal static class TestTimeouts
{
    public static readonly TimeSpan Short = TimeSpan.FromMilliseconds(300);

    public static readonly TimeSpan Long = TimeSpan.FromSeconds(10);

    /// <summary>Waits for a task, failing the test instead of hanging.</summary>
    public static async Task<T> Within<T>(this Task<T> task, TimeSpan? limit = null) => await task.WaitAsync(limit ?? Long);

    /// <summary>Waits for a task, failing the test instead of hanging.</summary>
    public static async Task Within(this Task task, TimeSpan? limit = null) => await task.WaitAsync(limit ?? Long);

    /// <summary>Receives with the long timeout, failing the test when nothing arrives.</summary>
    public static async Task<Message> ReceiveWithin(this ZmqSocket socket, TimeSpan? limit = null)
    {
        var message = await socket.TryReceiveAsync(limit ?? Long);
        message.Should().NotBeNull($"a message was expected on the {socket.Type} socket within {limit ?? Long}");
        return message!;
    }

    /// <summary>Completes when the socket reports <paramref name="kind"/> (optionally matching <paramref name="predicate"/>).</summary>
    public static Task<SocketEvent> NextEvent(this ZmqSocket socket, SocketEventKind kind, Func<SocketEvent, bool>? predicate = null)
    {
        var seen = new TaskCompletionSource<SocketEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        EventHandler<SocketEvent>? handler = null;
        handler = (_, e) =>
        {
            if (e.Kind == kind && (predicate is null || predicate(e)))
            {
                seen.TrySetResult(e);
                socket.EventRaised -= handler;
            }
        };
        socket.EventRaised += handler;
        return seen.Task;
    }
}
