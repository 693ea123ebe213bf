using Microsoft.Extensions.Logging;
using Reliability.Transport;

namespace Reliability.Patterns.LazyPirate;

/// <summary>One request channel of the client: a REQ socket in production, a fake in unit tests.</summary>
internal interface IRequestConnection : IAsyncDisposable
{
    /// <summary>Client-local number, for logs.</summary>
    long Id { get; }

    /// <summary>Sends <paramref name="request"/> (handed over) and waits for its reply, until <paramref name="cancellationToken"/> fires.</summary>
    ValueTask<Message> RequestAsync(Message request, CancellationToken cancellationToken);
}

/// <summary>
/// A REQ socket connected to every endpoint. It is used for one request at a time and is closed
/// (linger 0) as soon as a request on it is abandoned, so nothing queued for an old attempt is sent
/// later and no late reply to it can be read.
/// </summary>
internal sealed class RequestSocketConnection : IRequestConnection
{
    private readonly RequestSocket _socket;

    /// <summary>Creates the socket and starts connecting, beginning with <c>endpoints[firstEndpoint]</c>.</summary>
    /// <remarks>
    /// REQ sends round-robin starting with the first connected pipe, and a pipe accepts a request
    /// while its peer is still (re)connecting; rotating the connect order makes a fresh socket try a
    /// different server first than the socket it replaces.
    /// </remarks>
    public RequestSocketConnection(long id, IReadOnlyList<string> endpoints, int firstEndpoint, SocketOptions options, ILoggerFactory? loggerFactory, TimeProvider timeProvider)
    {
        Id = id;
        _socket = new RequestSocket(options, loggerFactory, timeProvider);
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

    public async ValueTask<Message> RequestAsync(Message request, CancellationToken cancellationToken)
    {
        // Infinite socket-level waits: the resilience pipeline's token bounds the attempt, so the
        // socket options' SendTimeout/ReceiveTimeout cannot turn a timeout into a different exception.
        await _socket.TrySendAsync(request, Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false);
        return await _socket.TryReceiveAsync(Timeout.InfiniteTimeSpan, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException("An infinite REQ receive returned no message.");
    }

    public ValueTask DisposeAsync() => _socket.DisposeAsync();
}
