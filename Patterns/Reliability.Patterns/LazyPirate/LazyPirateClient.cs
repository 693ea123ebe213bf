using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Reliability.Transport;

namespace Reliability.Patterns.LazyPirate;

/// <summary>
/// Lazy Pirate client (zguide ch. 4, docs/patterns/lazy-pirate.md §2): sends a request over REQ, waits up to a
/// timeout for the reply, and retries a bounded number of times before giving up with
/// <see cref="RequestFailedException"/>. Works against any REP server or ROUTER-based queue.
/// </summary>
/// <remarks>
/// <para>
/// A REQ socket whose reply never came is stuck ("expect reply" forever; a resend is refused,
/// docs/wire/zmtp.md §13). On every abandoned attempt the client therefore closes that socket
/// with linger 0 and makes the next attempt on a new one, as the zguide does. REQ relaxed+correlate
/// mode would also avoid returning a late reply, but it keeps the old connection: the abandoned
/// request stays queued while the server is down and is delivered (and worked on again) when it
/// comes back. Closing the socket drops it, and a late reply arrives on a connection that no
/// longer exists, so it can never be mistaken for the answer to a newer attempt or request.
/// </para>
/// <para>
/// Timeouts, retries and back-off are decided by a state machine without I/O
/// (<see cref="LazyPirateCore{TRequest, TReply}"/>) on the clock passed in; a thin driver
/// (<see cref="LazyPirateRequester{TRequest, TReply}"/>) owns the sockets and the timer. Each attempt
/// takes an idle socket or opens one, so concurrent requests each get their own socket; a socket
/// whose request was answered is kept for the next request. Core and driver are shared with the
/// Majordomo client, which differs only in how requests and replies are framed.
/// </para>
/// <para>Thread-safe. Dispose ends in-flight requests with <see cref="ObjectDisposedException"/>.</para>
/// </remarks>
public sealed class LazyPirateClient : IAsyncDisposable
{
    // Idle sockets kept for reuse; more concurrency than this just opens and closes extra sockets.
    private const int MaxIdleConnections = 16;

    private readonly LazyPirateRequester<Message, Message> _requester;

    /// <summary>Creates the client. No socket is opened until the first request.</summary>
    /// <param name="options">Settings; validated here.</param>
    /// <param name="loggerFactory">Logging for the client and its sockets; none when null.</param>
    /// <param name="timeProvider">
    /// Clock for the attempts' timeouts and retry delays and for the sockets' reconnect timers;
    /// <see cref="TimeProvider.System"/> when null.
    /// </param>
    /// <exception cref="ArgumentException"><paramref name="options"/> is invalid.</exception>
    public LazyPirateClient(LazyPirateOptions options, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
        : this(options, loggerFactory, timeProvider, null)
    {
    }

    /// <summary>Creates the client over a custom connection factory (tests).</summary>
    internal LazyPirateClient(LazyPirateOptions options, ILoggerFactory? loggerFactory, TimeProvider? timeProvider, Func<long, int, IRequestConnection>? connect)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        timeProvider ??= TimeProvider.System;
        var socketOptions = options.EffectiveSocketOptions;
        var endpoints = options.Endpoints.ToArray();
        connect ??= (id, first) => SocketConnection.Open(id, new RequestSocket(socketOptions, loggerFactory, timeProvider), options, first);
        var protocol = new Protocol(options, (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<LazyPirateClient>(), string.Join(",", endpoints));
        _requester = new LazyPirateRequester<Message, Message>(this, options, protocol, protocol, connect, MaxIdleConnections, timeProvider);
    }

    /// <summary>The settings the client was created with.</summary>
    public LazyPirateOptions Options { get; }

    /// <summary>Counts since the client was created (each counter read atomically; not one snapshot across them).</summary>
    public LazyPirateStatistics Statistics => _requester.Statistics;

    /// <summary>
    /// Sends <paramref name="request"/> and returns the reply, retrying on a fresh socket after
    /// each attempt that got no reply in time. <paramref name="request"/> is not modified; each
    /// attempt sends a copy. The reply is never the answer to an earlier attempt or request.
    /// </summary>
    /// <param name="request">The request frames (at least one).</param>
    /// <param name="cancellationToken">Abandons the request at once: its socket is closed and nothing is retried.</param>
    /// <returns>The reply's frames (REQ envelope removed).</returns>
    /// <exception cref="RequestFailedException">No reply within <see cref="LazyPirateOptions.RequestTimeout"/> on any of <see cref="LazyPirateOptions.Attempts"/> attempts.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The client was disposed before or during the request.</exception>
    public async Task<Message> RequestAsync(Message request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Count == 0)
        {
            throw new ArgumentException("A request needs at least one frame.", nameof(request));
        }

        ObjectDisposedException.ThrowIf(_requester.IsDisposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        return await _requester.RequestAsync(request.Clone(), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Closes every socket (linger 0) and ends requests in flight with <see cref="ObjectDisposedException"/>.
    /// </summary>
    /// <returns>A task that completes when every socket is closed.</returns>
    public ValueTask DisposeAsync() => _requester.DisposeAsync();

    /// <summary>Plain frames on the wire; logs and metrics tagged with the client's endpoints.</summary>
    private sealed class Protocol(LazyPirateOptions options, ILogger logger, string endpoints)
        : IRequestCodec<Message, Message>, IReplyReader<Message>, IRequestEvents<Message>
    {
        private readonly TagList _tags = LazyPirateMetrics.Tags(endpoints);

        public Message Encode(Message request) => request.Clone();

        // REQ delivers exactly the one reply to the request: it is the answer, whatever it holds.
        public IReplyReader<Message> StartReply(Message request, int attempt, long connectionId) => this;

        public ReplyStep<Message> Read(Message message) => ReplyStep<Message>.Done(message);

        public void Started() => LazyPirateMetrics.Requests.Add(1, _tags);

        public void SocketOpened(long socketId) => LazyPirateLog.SocketOpened(logger, socketId, endpoints);

        public void Retrying(long requestId, Message request, int attempt)
        {
            LazyPirateMetrics.Retries.Add(1, _tags);
            LazyPirateLog.Retrying(logger, requestId, attempt, endpoints);
            Callback.Invoke(options.OnRetry, new RetryArguments(requestId, attempt, endpoints), logger, nameof(options.OnRetry));
        }

        public void AttemptAbandoned(long requestId, Message request, int attempt, long socketId) =>
            LazyPirateLog.AttemptAbandoned(logger, requestId, attempt, socketId);

        public void AttemptFailed(long requestId, Message request, int attempt, long socketId, Exception error) =>
            LazyPirateLog.AttemptFailed(logger, requestId, attempt, socketId, error);

        public void Answered(long requestId, Message request, int attempts) => LazyPirateLog.RequestAnswered(logger, requestId, attempts);

        public void Cancelled(long requestId, Message request, int attempts) => LazyPirateLog.RequestCancelled(logger, requestId, attempts);

        public Exception Abandoned(long requestId, Message request, int attempts, TimeoutException reason)
        {
            LazyPirateMetrics.Abandoned.Add(1, _tags);
            LazyPirateLog.RequestAbandoned(logger, requestId, attempts, endpoints, reason.Message);
            return new RequestFailedException(attempts, options.Endpoints, reason);
        }

        public void Disposed(int sockets) => LazyPirateLog.Disposed(logger, endpoints, sockets);
    }
}
