using Reliability.Transport;

namespace Reliability.Patterns.LazyPirate;

/// <summary>One request channel of a Lazy Pirate requester: a socket in production, a fake in unit tests.</summary>
internal interface IRequestConnection : IAsyncDisposable
{
    /// <summary>Client-local number, for logs.</summary>
    long Id { get; }

    /// <summary>Sends <paramref name="request"/> (handed over), waiting until <paramref name="cancellationToken"/> fires at the most.</summary>
    ValueTask SendAsync(Message request, CancellationToken cancellationToken);

    /// <summary>Waits for the next message from the server, until <paramref name="cancellationToken"/> fires.</summary>
    ValueTask<Message> ReceiveAsync(CancellationToken cancellationToken);
}

/// <summary>
/// A socket connected to every endpoint. It is used for one request at a time and is closed
/// (linger 0) as soon as a request on it is abandoned, so nothing queued for an old attempt is sent
/// later and no late reply to it can be read.
/// </summary>
internal sealed class SocketConnection : IRequestConnection
{
    private readonly ZmqSocket _socket;

    /// <summary>Takes over <paramref name="socket"/> and starts connecting it, beginning with <c>endpoints[firstEndpoint]</c>.</summary>
    /// <remarks>
    /// REQ sends round-robin starting with the first connected pipe, and a pipe accepts a request
    /// while its peer is still (re)connecting; rotating the connect order makes a fresh socket try a
    /// different server first than the socket it replaces.
    /// </remarks>
    public SocketConnection(long id, ZmqSocket socket, IReadOnlyList<string> endpoints, int firstEndpoint)
    {
        Id = id;
        _socket = socket;
        try
        {
            for (int i = 0; i < endpoints.Count; i++)
            {
                _socket.Connect(endpoints[(firstEndpoint + i) % endpoints.Count]);
            }
        }
        catch
        {
            _socket.Dispose();
            throw;
        }
    }

    public long Id { get; }

    /// <summary>
    /// Opens connection <paramref name="id"/> on <paramref name="socket"/> as <paramref name="options"/> say:
    /// with <see cref="LazyPirateOptions.Failover"/> to endpoint <paramref name="first"/> only (each fresh
    /// socket to the next server in turn), otherwise to every endpoint, starting with that one.
    /// </summary>
    public static SocketConnection Open(long id, ZmqSocket socket, LazyPirateOptions options, int first) => options.Failover
        ? new SocketConnection(id, socket, [options.Endpoints[first]], 0)
        : new SocketConnection(id, socket, options.Endpoints, first);

    // Infinite socket-level waits: the core closes the connection when the attempt times out, so the
    // socket options' SendTimeout/ReceiveTimeout cannot turn a timeout into a different exception.
    public async ValueTask SendAsync(Message request, CancellationToken cancellationToken) =>
        await _socket.TrySendAsync(request, Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false);

    public async ValueTask<Message> ReceiveAsync(CancellationToken cancellationToken) =>
        await _socket.TryReceiveAsync(Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException("An infinite receive returned no message.");

    public ValueTask DisposeAsync() => _socket.DisposeAsync();
}
