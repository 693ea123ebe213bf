using System.Threading.Channels;
using Reliability.Patterns.LazyPirate;
using Reliability.Testing.PyZmq;
using Reliability.Transport;

namespace Reliability.Patterns.Tests.LazyPirate;

/// <summary>Upper bounds for waits in these tests: generous for slow CI machines, never infinite.</summary>
internal static class Limits
{
    public static readonly TimeSpan Long = TimeSpan.FromSeconds(5);

    public static Task<T> Within<T>(this Task<T> task) => task.WaitAsync(Long);

    public static Task Within(this Task task) => task.WaitAsync(Long);

    /// <summary>Waits (bounded) until <paramref name="condition"/> holds, yielding between checks; for state armed on another thread.</summary>
    public static async Task UntilAsync(Func<bool> condition, string what)
    {
        long deadline = TimeProvider.System.GetTimestamp() + (long)(Long.TotalSeconds * TimeProvider.System.TimestampFrequency);
        while (!condition())
        {
            if (TimeProvider.System.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"condition not met within {Long}: {what}");
            }

            await Task.Yield();
        }
    }

    /// <summary>An endpoint nobody else uses, so metric measurements can be told apart by their tag.</summary>
    public static string UniqueEndpoint() => $"tcp://test-{Guid.NewGuid():N}:1";
}

/// <summary>
/// A scripted stand-in for the server side of the client's connections: every attempt shows up
/// in <see cref="NextAttemptAsync"/>, and the test answers it, or lets the clock time it out.
/// </summary>
internal sealed class FakeServer
{
    private readonly Channel<FakeAttempt> _attempts = Channel.CreateUnbounded<FakeAttempt>();
    private readonly List<FakeConnection> _connections = [];

    public IReadOnlyList<FakeConnection> Connections
    {
        get
        {
            lock (_connections)
            {
                return [.. _connections];
            }
        }
    }

    public IRequestConnection Connect(long id, int firstEndpoint)
    {
        var connection = new FakeConnection(this, id, firstEndpoint);
        lock (_connections)
        {
            _connections.Add(connection);
        }

        return connection;
    }

    public Task<FakeAttempt> NextAttemptAsync() => _attempts.Reader.ReadAsync().AsTask().Within();

    public bool HasPendingAttempt => _attempts.Reader.TryPeek(out _);

    internal void Arrived(FakeAttempt attempt) => _attempts.Writer.TryWrite(attempt);
}

internal sealed class FakeConnection(FakeServer server, long id, int firstEndpoint) : IRequestConnection
{
    private int _disposed;
    private FakeAttempt? _current;

    public long Id { get; } = id;

    public int FirstEndpoint { get; } = firstEndpoint;

    public bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    public int Requests { get; private set; }

    public ValueTask SendAsync(Message request, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        Requests++;
        _current = new FakeAttempt(this, request);
        server.Arrived(_current);
        return ValueTask.CompletedTask;
    }

    public async ValueTask<Message> ReceiveAsync(CancellationToken cancellationToken)
    {
        var attempt = _current ?? throw new InvalidOperationException("Receive before send.");
        await using var registration = cancellationToken.Register(() => attempt.Reply.TrySetCanceled(cancellationToken));
        return await attempt.Reply.Task.ConfigureAwait(false);
    }

    public ValueTask DisposeAsync()
    {
        Interlocked.Exchange(ref _disposed, 1);
        return ValueTask.CompletedTask;
    }
}

internal sealed class FakeAttempt(FakeConnection connection, Message request)
{
    public FakeConnection Connection { get; } = connection;

    public Message Request { get; } = request;

    public TaskCompletionSource<Message> Reply { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Answer(params string[] frames) => Reply.TrySetResult(Message.FromStrings(frames));
}

/// <summary>A fact that needs pyzmq: skipped with the reason when it is missing, run (and failing) under CI=true.</summary>
public sealed class PyZmqFactAttribute : FactAttribute
{
    public PyZmqFactAttribute()
    {
        if (PyZmqEnvironment.SkipReason is { } reason)
        {
            Skip = reason;
        }
    }
}
