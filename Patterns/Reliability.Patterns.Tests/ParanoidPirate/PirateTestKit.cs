using System.Collections.Concurrent;
using System.Text;
using Reliability.Patterns.Heartbeating;
using Reliability.Transport;

namespace Reliability.Patterns.Tests.ParanoidPirate;

/// <summary>Waits, clients and helpers shared by the Pirate tests. Every wait is bounded.</summary>
internal static class PirateTestKit
{
    /// <summary>Upper bound for anything that should happen "soon"; generous for slow CI machines, well under the 10 s per test.</summary>
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Fast heartbeats for loopback tests: 100 ms × 10 (expiry 1 s), back-off 50..200 ms. A tight
    /// expiry gave false expiries on a 2-core host: with other test classes running in parallel the
    /// test process's thread pool was measured stalling for up to 700 ms (a dedicated thread only
    /// 80 ms), and the queue, the workers and the transport all run on that pool.
    /// </summary>
    public static readonly HeartbeatOptions FastHeartbeat = new()
    {
        Interval = TimeSpan.FromMilliseconds(100),
        Liveness = 10,
        ReconnectInitial = TimeSpan.FromMilliseconds(50),
        ReconnectMax = TimeSpan.FromMilliseconds(200),
    };

    public const string AnyPort = "tcp://127.0.0.1:0";

    /// <summary>Echo handler: the reply body is the request body.</summary>
    public static ValueTask<Message> Echo(Message body, CancellationToken cancellationToken) => ValueTask.FromResult(body);

    /// <summary>
    /// Receives with a deadline, bounded by a cancellation token. (Written this way because, before
    /// transport commit b3797c3, a finite-timeout receive that completed early crashed the process
    /// when its timer fired later.)
    /// </summary>
    public static async Task<Message?> TryReceiveAsync(ZmqSocket socket, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            return await socket.ReceiveAsync(cts.Token);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            return null;
        }
    }

    public static async Task<Message> ReceiveAsync(ZmqSocket socket, TimeSpan? timeout = null)
    {
        var message = await TryReceiveAsync(socket, timeout ?? Wait);
        message.Should().NotBeNull($"a message was expected on the {socket.Type} socket within {timeout ?? Wait}");
        return message!;
    }

    /// <summary>Sends with a bounded wait.</summary>
    public static async Task SendAsync(ZmqSocket socket, Message message)
    {
        using var cts = new CancellationTokenSource(Wait);
        await socket.SendAsync(message, cts.Token);
    }

    /// <summary>A task that completes the first time <paramref name="predicate"/> holds for a queue event.</summary>
    public static Task<RoutingKey> NextEvent(Reliability.Patterns.ParanoidPirate.ParanoidPirateQueue queue, Reliability.Patterns.ParanoidPirate.QueueEventKind kind, Func<RoutingKey, bool>? predicate = null)
    {
        var seen = new TaskCompletionSource<RoutingKey>(TaskCreationOptions.RunContinuationsAsynchronously);
        Action<Reliability.Patterns.ParanoidPirate.QueueEventKind, RoutingKey>? handler = null;
        handler = (k, key) =>
        {
            if (k == kind && (predicate is null || predicate(key)))
            {
                seen.TrySetResult(key);
                queue.Observed -= handler;
            }
        };
        queue.Observed += handler;
        return seen.Task;
    }

    /// <summary>A task that completes once <paramref name="count"/> events of <paramref name="kind"/> have been seen.</summary>
    public static Task<IReadOnlyList<RoutingKey>> Events(Reliability.Patterns.ParanoidPirate.ParanoidPirateQueue queue, Reliability.Patterns.ParanoidPirate.QueueEventKind kind, int count)
    {
        var seen = new TaskCompletionSource<IReadOnlyList<RoutingKey>>(TaskCreationOptions.RunContinuationsAsynchronously);
        var keys = new List<RoutingKey>();
        Action<Reliability.Patterns.ParanoidPirate.QueueEventKind, RoutingKey>? handler = null;
        handler = (k, key) =>
        {
            if (k != kind)
            {
                return;
            }

            lock (keys)
            {
                keys.Add(key);
                if (keys.Count == count)
                {
                    seen.TrySetResult(keys.ToArray());
                    queue.Observed -= handler;
                }
            }
        };
        queue.Observed += handler;
        return seen.Task;
    }

    /// <summary>One request on a fresh client socket, no retry; the socket is closed afterwards.</summary>
    public static async Task<string> RequestOnceAsync(string endpoint, string body)
    {
        await using var client = new TestClient(endpoint, Wait, attempts: 1);
        return await client.RequestAsync(body);
    }

    public static string Text(ReadOnlyMemory<byte> frame) => Encoding.UTF8.GetString(frame.Span);

    public static byte[] Bytes(string text) => Encoding.UTF8.GetBytes(text);
}

/// <summary>
/// Loopback and interop tests of the Pirate queues and workers run alone, not in parallel with
/// other test classes: their heartbeat deadlines are real time, and thread-pool stalls caused by
/// unrelated tests (process starts, CPU-heavy model checks) would make them flaky.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PirateLoopbackCollection
{
    public const string Name = "Pirate loopback";
}

/// <summary>A component running in the background, stopped (and awaited, bounded) on dispose.</summary>
internal sealed class Running : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();

    private Running(Func<CancellationToken, Task> run)
    {
        Task = Task.Run(() => run(_stop.Token));
    }

    public Task Task { get; }

    public static Running Start(Func<CancellationToken, Task> run) => new(run);

    /// <summary>Cancels the component and waits until it has returned.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WaitAsync(PirateTestKit.Wait);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync();
        }
        finally
        {
            _stop.Dispose();
        }
    }
}

/// <summary>
/// A minimal Lazy Pirate client for the tests: REQ, bounded wait for the reply, and on a timeout a
/// fresh socket (so a late reply to the old attempt can never be taken for the new one). Dispose it
/// (or let the test end) to close the socket.
/// </summary>
internal sealed class TestClient(string endpoint, TimeSpan timeout, int attempts = 5) : IAsyncDisposable
{
    private RequestSocket? _socket;

    public int Retries { get; private set; }

    public async Task<string> RequestAsync(string body)
    {
        // Bounded by the attempt count.
        for (int attempt = 1; attempt <= attempts; attempt++)
        {
            if (_socket is null)
            {
                _socket = new RequestSocket(new SocketOptions { Linger = TimeSpan.Zero });
                _socket.Connect(endpoint);
            }

            await PirateTestKit.SendAsync(_socket, Message.FromStrings(body));
            var reply = await PirateTestKit.TryReceiveAsync(_socket, timeout);
            if (reply is not null)
            {
                reply.Count.Should().Be(1, "an echo reply has the request's single body frame");
                return reply.GetString(0);
            }

            Retries++;
            await _socket.DisposeAsync();
            _socket = null;
        }

        throw new TimeoutException($"no reply to '{body}' after {attempts} attempts of {timeout}");
    }

    public async ValueTask DisposeAsync()
    {
        if (_socket is not null)
        {
            await _socket.DisposeAsync();
        }
    }
}

/// <summary>Counts how often each body was answered (from the clients' view) and checks exactly-once.</summary>
internal sealed class AnswerLedger
{
    private readonly ConcurrentDictionary<string, int> _answers = new();

    public void Record(string request, string reply)
    {
        reply.Should().Be(request, "each reply must be the echo of its own request");
        _answers.AddOrUpdate(request, 1, (_, n) => n + 1);
    }

    /// <summary>
    /// Sends <paramref name="requests"/> from <paramref name="clients"/> clients at once (request i from
    /// client i mod <paramref name="clients"/>; each client one request at a time, no retry) and records
    /// every answer. Bounded by <see cref="PirateTestKit.Wait"/> in all.
    /// </summary>
    public Task SendFromClientsAsync(string endpoint, IReadOnlyList<string> requests, int clients) =>
        Task.WhenAll(Enumerable.Range(0, clients).Select(c => Task.Run(async () =>
        {
            await using var client = new TestClient(endpoint, PirateTestKit.Wait, attempts: 1);
            for (int i = c; i < requests.Count; i += clients)
            {
                Record(requests[i], await client.RequestAsync(requests[i]));
            }
        }))).WaitAsync(PirateTestKit.Wait);

    public void ShouldHaveExactlyOnce(IEnumerable<string> requests)
    {
        var expected = requests.ToHashSet();
        _answers.Keys.Should().BeEquivalentTo(expected);
        _answers.Values.Should().OnlyContain(n => n == 1);
    }
}
