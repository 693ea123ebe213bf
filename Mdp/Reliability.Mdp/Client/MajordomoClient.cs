using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Reliability.Mdp.Protocol;
using Reliability.Patterns.LazyPirate;
using Reliability.Transport;

namespace Reliability.Mdp.Client;

/// <summary>
/// A synchronous-style Majordomo client (RFC 7 / RFC 18 client side, zguide mdcliapi): one request at a
/// time, each waited for with a timeout and resent a bounded number of times (the Lazy Pirate policy)
/// before it is abandoned with <see cref="MdpRequestFailedException"/>.
/// </summary>
/// <remarks>
/// <para>
/// After an attempt times out, its socket is closed with linger 0 and the next attempt uses a new one
/// (docs/wire/mdp.md §15): a REQ socket whose reply never came cannot send again, and on a fresh
/// socket a late reply to the abandoned attempt can never be taken for the answer to a later one.
/// </para>
/// <para>
/// Timeouts, retries and broker failover are the Lazy Pirate client's: the same state machine
/// (<c>LazyPirateCore</c>) and driver (<c>LazyPirateRequester</c>) run the attempts; this client
/// adds only the MDP framing of requests and the checking of replies (<see cref="MajordomoClientProtocol"/>).
/// </para>
/// <para>Thread-safe: concurrent calls are served one after another. For many outstanding requests use <see cref="MajordomoAsyncClient"/>.</para>
/// </remarks>
public sealed class MajordomoClient : IMajordomoClient, IAsyncDisposable
{
    private readonly MajordomoClientProtocol _protocol;
    private readonly LazyPirateRequester<ClientRequest, MdpReply> _requester;
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);

    /// <summary>Creates the client. No socket is opened until the first request.</summary>
    /// <param name="options">Settings; validated here.</param>
    /// <param name="loggerFactory">Logging for the client and its sockets; none when null.</param>
    /// <param name="timeProvider">Clock for the attempts' timeouts and delays and for the sockets; <see cref="TimeProvider.System"/> when null.</param>
    /// <exception cref="ArgumentException"><paramref name="options"/> is invalid.</exception>
    public MajordomoClient(MajordomoClientOptions options, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        var time = timeProvider ?? TimeProvider.System;
        var socketOptions = options.Socket with { Linger = TimeSpan.Zero };
        var lazyPirate = options.LazyPirate;
        _protocol = new MajordomoClientProtocol(options, (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<MajordomoClient>());

        // One request at a time, so one answered socket is all there is to keep.
        _requester = new LazyPirateRequester<ClientRequest, MdpReply>(
            this,
            lazyPirate,
            _protocol,
            _protocol,
            (id, first) => SocketConnection.Open(id, CreateSocket(options.SocketType, socketOptions, loggerFactory, time), lazyPirate, first),
            maxIdleConnections: 1,
            time);
    }

    /// <summary>The settings the client was created with.</summary>
    public MajordomoClientOptions Options { get; }

    /// <summary>Counts since the client was created (each counter read atomically; not one snapshot across them).</summary>
    public MajordomoClientStatistics Statistics
    {
        get
        {
            var counts = _requester.Statistics;
            return new(counts.Requests, counts.Succeeded, counts.Retries, counts.Abandoned, counts.Cancelled, counts.SocketsOpened, _protocol.InvalidReplies);
        }
    }

    /// <summary>
    /// Sends <paramref name="body"/> to <paramref name="service"/> and returns the reply, resending on a fresh
    /// socket after each attempt that got no reply in time.
    /// </summary>
    /// <param name="service">The service name (1 to 255 UTF-8 bytes, no control characters).</param>
    /// <param name="body">The request frames (zero or more); the message is not modified.</param>
    /// <param name="cancellationToken">Abandons the request at once (its socket is closed; nothing is resent).</param>
    /// <returns>The reply.</returns>
    /// <exception cref="MdpRequestFailedException">No valid reply on any attempt.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
    public async Task<MdpReply> RequestAsync(string service, Message body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        var request = new ClientRequest(service, body);
        ObjectDisposedException.ThrowIf(_requester.IsDisposed, this);
        cancellationToken.ThrowIfCancellationRequested();

        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _requester.Lifetime))
        {
            try
            {
                await _oneAtATime.WaitAsync(linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw new ObjectDisposedException($"The {nameof(MajordomoClient)} was disposed while a request to '{service}' waited for its turn.", ex);
            }
        }

        using var activity = MdpTelemetry.StartClientRequest(ref request, Options.Version, Options.TraceContext);
        _protocol.Activity = activity;
        try
        {
            return await _requester.RequestAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            MdpTelemetry.Fail(activity, ex);
            throw;
        }
        finally
        {
            _protocol.Activity = null;
            _oneAtATime.Release();
        }
    }

    /// <summary>Closes the socket (linger 0) and ends a request in flight with <see cref="ObjectDisposedException"/>.</summary>
    /// <returns>A task that completes when the socket is closed and the request in flight has unwound.</returns>
    public async ValueTask DisposeAsync()
    {
        await _requester.DisposeAsync().ConfigureAwait(false);

        // Waits for a request in flight to unwind; bounded because every wait in an attempt observes
        // the requester's lifetime, which its disposal cancelled.
        await _oneAtATime.WaitAsync().ConfigureAwait(false);
        _oneAtATime.Release();
    }

    private static ZmqSocket CreateSocket(MdpClientSocket type, SocketOptions options, ILoggerFactory? loggerFactory, TimeProvider time) =>
        type == MdpClientSocket.Req
            ? new RequestSocket(options, loggerFactory, time)
            : new DealerSocket(options, loggerFactory, time);
}
