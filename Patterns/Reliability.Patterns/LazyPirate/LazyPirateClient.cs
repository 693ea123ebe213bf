using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Reliability.Transport;

namespace Reliability.Patterns.LazyPirate;

/// <summary>
/// Lazy Pirate client (zguide ch. 4, PROTOCOLS.md §3.1): sends a request over REQ, waits up to a
/// timeout for the reply, and retries a bounded number of times before giving up with
/// <see cref="RequestFailedException"/>. Works against any REP server or ROUTER-based queue.
/// </summary>
/// <remarks>
/// <para>
/// A REQ socket whose reply never came is stuck ("expect reply" forever; a resend is refused,
/// PROTOCOLS.md §5 pitfall 1). On every abandoned attempt the client therefore closes that socket
/// with linger 0 and makes the next attempt on a new one, as the zguide does. REQ relaxed+correlate
/// mode would also avoid returning a late reply, but it keeps the old connection: the abandoned
/// request stays queued while the server is down and is delivered (and worked on again) when it
/// comes back. Closing the socket drops it, and a late reply arrives on a connection that no
/// longer exists, so it can never be mistaken for the answer to a newer attempt or request.
/// </para>
/// <para>
/// Timeouts, retries and back-off are a Polly <see cref="ResiliencePipeline"/>
/// (<see cref="LazyPirateOptions.Pipeline"/> or the default, see
/// <see cref="LazyPiratePipelineExtensions.AddLazyPirate"/>). Each attempt takes an idle socket or
/// opens one, so concurrent requests (and hedged attempts) each get their own socket; a socket
/// whose request was answered is kept for the next request.
/// </para>
/// <para>Thread-safe. Dispose ends in-flight requests with <see cref="ObjectDisposedException"/>.</para>
/// </remarks>
public sealed class LazyPirateClient : IAsyncDisposable, IDisposable
{
    // Idle sockets kept for reuse; more concurrency than this just opens and closes extra sockets.
    private const int MaxIdleConnections = 16;

    private readonly ILogger _logger;
    private readonly ResiliencePipeline _pipeline;
    private readonly Func<long, int, IRequestConnection> _connect;
    private readonly CancellationTokenSource _lifetime = new();
    private readonly object _gate = new();
    private readonly Stack<IRequestConnection> _idle = new();
    private readonly HashSet<IRequestConnection> _open = [];
    private readonly string _endpointText;
    private readonly TagList _tags;
    private long _requests;
    private long _succeeded;
    private long _retries;
    private long _abandoned;
    private long _cancelled;
    private long _socketsOpened;
    private long _nextRequestId;
    private int _nextEndpoint;
    private Task? _disposal;

    /// <summary>Creates the client. No socket is opened until the first request.</summary>
    /// <param name="options">Settings; validated here.</param>
    /// <param name="loggerFactory">Logging for the client and its sockets; none when null.</param>
    /// <param name="timeProvider">
    /// Clock for the default pipeline's timeouts and retry delays and for the sockets' reconnect
    /// timers; <see cref="TimeProvider.System"/> when null. A pipeline passed in
    /// <see cref="LazyPirateOptions.Pipeline"/> uses the clock it was built with.
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
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<LazyPirateClient>();
        _pipeline = options.Pipeline
            ?? new ResiliencePipelineBuilder { TimeProvider = timeProvider }.AddLazyPirate(options).Build();
        var socketOptions = options.EffectiveSocketOptions;
        var endpoints = options.Endpoints.ToArray();
        _connect = connect
            ?? ((id, first) => new RequestSocketConnection(id, endpoints, first, socketOptions, loggerFactory, timeProvider));
        _endpointText = string.Join(",", endpoints);
        _tags = LazyPirateMetrics.Tags(_endpointText);
    }

    /// <summary>The settings the client was created with.</summary>
    public LazyPirateOptions Options { get; }

    /// <summary>Counts since the client was created (each counter read atomically; not one snapshot across them).</summary>
    public LazyPirateStatistics Statistics => new(
        Interlocked.Read(ref _requests),
        Interlocked.Read(ref _succeeded),
        Interlocked.Read(ref _retries),
        Interlocked.Read(ref _abandoned),
        Interlocked.Read(ref _cancelled),
        Interlocked.Read(ref _socketsOpened));

    /// <summary>
    /// Sends <paramref name="request"/> and returns the reply, retrying on a fresh socket after
    /// each attempt that got no reply in time. <paramref name="request"/> is not modified; each
    /// attempt sends a copy. The reply is never the answer to an earlier attempt or request.
    /// </summary>
    /// <param name="request">The request frames (at least one).</param>
    /// <param name="cancellationToken">Abandons the request at once: its socket is closed and nothing is retried.</param>
    /// <returns>The reply's frames (REQ envelope removed).</returns>
    /// <exception cref="RequestFailedException">The pipeline gave up (by default: no reply on any of <see cref="LazyPirateOptions.Attempts"/> attempts).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The client was disposed before or during the request.</exception>
    public async Task<Message> RequestAsync(Message request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (request.Count == 0)
        {
            throw new ArgumentException("A request needs at least one frame.", nameof(request));
        }

        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposal) is not null, this);
        cancellationToken.ThrowIfCancellationRequested();

        var state = new RequestState(this, request.Clone(), Interlocked.Increment(ref _nextRequestId), cancellationToken);
        Interlocked.Increment(ref _requests);
        LazyPirateMetrics.Requests.Add(1, _tags);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _lifetime.Token);
        try
        {
            var reply = await _pipeline.ExecuteAsync(
                static (s, token) => s.Client.AttemptAsync(s, token),
                state,
                linked.Token).ConfigureAwait(false);
            Interlocked.Increment(ref _succeeded);
            LazyPirateLog.RequestAnswered(_logger, state.Id, state.Attempts);
            return reply;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Interlocked.Increment(ref _cancelled);
            LazyPirateLog.RequestCancelled(_logger, state.Id, state.Attempts);
            throw;
        }
        catch (OperationCanceledException ex) when (_lifetime.IsCancellationRequested)
        {
            throw new ObjectDisposedException($"The {nameof(LazyPirateClient)} was disposed while request {state.Id} was in flight.", ex);
        }
        catch (ExecutionRejectedException ex)
        {
            // Timeout, open circuit, rate limit...: the pipeline gave up on this request.
            Interlocked.Increment(ref _abandoned);
            LazyPirateMetrics.Abandoned.Add(1, _tags);
            LazyPirateLog.RequestAbandoned(_logger, state.Id, state.Attempts, _endpointText, ex.Message);
            throw new RequestFailedException(state.Attempts, Options.Endpoints, ex);
        }
    }

    /// <summary>Synchronous <see cref="RequestAsync"/>.</summary>
    /// <param name="request">The request frames (at least one).</param>
    /// <param name="cancellationToken">Abandons the request.</param>
    /// <returns>The reply's frames.</returns>
    /// <exception cref="RequestFailedException">The pipeline gave up.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
    public Message Request(Message request, CancellationToken cancellationToken = default) =>
        RequestAsync(request, cancellationToken).GetAwaiter().GetResult();

    private async ValueTask<Message> AttemptAsync(RequestState state, CancellationToken token)
    {
        int attempt = Interlocked.Increment(ref state.AttemptCount);
        if (attempt > 1)
        {
            Interlocked.Increment(ref _retries);
            LazyPirateMetrics.Retries.Add(1, _tags);
            LazyPirateLog.Retrying(_logger, state.Id, attempt, _endpointText);
        }

        token.ThrowIfCancellationRequested();
        var connection = Rent();
        bool answered = false;
        try
        {
            var reply = await connection.RequestAsync(state.Request.Clone(), token).ConfigureAwait(false);
            answered = true;
            return reply;
        }
        catch (OperationCanceledException) when (!state.Caller.IsCancellationRequested && !_lifetime.IsCancellationRequested)
        {
            // Cancelled by the pipeline: the attempt timed out (or lost a hedging race).
            LazyPirateLog.AttemptAbandoned(_logger, state.Id, attempt, connection.Id);
            throw;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LazyPirateLog.AttemptFailed(_logger, state.Id, attempt, connection.Id, ex);
            throw;
        }
        finally
        {
            if (answered)
            {
                await ReturnAsync(connection).ConfigureAwait(false);
            }
            else
            {
                // The socket still expects a reply that may never come, or come late: never reuse it.
                await CloseAsync(connection).ConfigureAwait(false);
            }
        }
    }

    private IRequestConnection Rent()
    {
        long id;
        int first;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposal is not null, this);
            if (_idle.TryPop(out var idle))
            {
                return idle;
            }

            id = ++_socketsOpened;
            first = _nextEndpoint;
            _nextEndpoint = (_nextEndpoint + 1) % Options.Endpoints.Count;
        }

        var connection = _connect(id, first);
        bool disposed;
        lock (_gate)
        {
            disposed = _disposal is not null;
            if (!disposed)
            {
                _open.Add(connection);
            }
        }

        if (disposed)
        {
            // Lost a race with Dispose; the socket has no request yet, so closing it loses nothing.
            connection.DisposeAsync().AsTask().ContinueWith(static _ => { }, TaskScheduler.Default);
            throw new ObjectDisposedException(nameof(LazyPirateClient));
        }

        LazyPirateLog.SocketOpened(_logger, id, _endpointText);
        return connection;
    }

    private ValueTask ReturnAsync(IRequestConnection connection)
    {
        lock (_gate)
        {
            if (_disposal is null && _idle.Count < MaxIdleConnections)
            {
                _idle.Push(connection);
                return ValueTask.CompletedTask;
            }
        }

        return CloseAsync(connection);
    }

    private ValueTask CloseAsync(IRequestConnection connection)
    {
        lock (_gate)
        {
            _open.Remove(connection);
        }

        return connection.DisposeAsync();
    }

    /// <summary>
    /// Closes every socket (linger 0) and ends requests in flight with <see cref="ObjectDisposedException"/>.
    /// </summary>
    /// <returns>A task that completes when every socket is closed.</returns>
    public ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _disposal ??= DisposeCoreAsync();
        }

        return new ValueTask(_disposal);
    }

    /// <summary>Synchronous <see cref="DisposeAsync"/>.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private async Task DisposeCoreAsync()
    {
        // Started while DisposeAsync holds _gate and before _disposal is assigned: yield, so the
        // snapshot below is taken only after Rent can see _disposal and stops adding sockets.
        await Task.Yield();
        IRequestConnection[] open;
        lock (_gate)
        {
            open = [.. _open];
            _open.Clear();
            _idle.Clear();
        }

        await _lifetime.CancelAsync().ConfigureAwait(false);
        foreach (var connection in open)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }

        LazyPirateLog.Disposed(_logger, _endpointText, open.Length);
    }

    private sealed class RequestState(LazyPirateClient client, Message request, long id, CancellationToken caller)
    {
        public int AttemptCount;

        public LazyPirateClient Client { get; } = client;

        public Message Request { get; } = request;

        public long Id { get; } = id;

        public CancellationToken Caller { get; } = caller;

        public int Attempts => Volatile.Read(ref AttemptCount);
    }
}
