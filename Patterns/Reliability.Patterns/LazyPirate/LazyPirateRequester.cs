using Polly;

namespace Reliability.Patterns.LazyPirate;

/// <summary>
/// The Lazy Pirate attempt loop shared by the clients that retry with a fresh socket: each request
/// runs through a Polly pipeline, each attempt takes an idle connection or opens one, sends the
/// encoded request and reads the reply; an attempt that got no reply (or failed) closes its
/// connection, so a late reply can never answer a later attempt or request. What goes on the wire
/// is the <see cref="IRequestCodec{TRequest, TReply}"/>'s business, what is logged and measured the
/// <see cref="IRequestEvents{TRequest}"/>'s.
/// </summary>
/// <typeparam name="TRequest">What the caller asks for.</typeparam>
/// <typeparam name="TReply">What the caller gets back.</typeparam>
/// <remarks>Thread-safe. Dispose ends in-flight requests with <see cref="ObjectDisposedException"/>.</remarks>
internal sealed class LazyPirateRequester<TRequest, TReply> : IAsyncDisposable
{
    private readonly object _owner;
    private readonly ResiliencePipeline _pipeline;
    private readonly IRequestCodec<TRequest, TReply> _codec;
    private readonly IRequestEvents<TRequest> _events;
    private readonly Func<long, int, IRequestConnection> _connect;
    private readonly int _endpointCount;
    private readonly int _maxIdleConnections;
    private readonly CancellationTokenSource _lifetime = new();
    private readonly object _gate = new();
    private readonly Stack<IRequestConnection> _idle = new();
    private readonly HashSet<IRequestConnection> _open = [];
    private long _requests;
    private long _succeeded;
    private long _retries;
    private long _abandoned;
    private long _cancelled;
    private long _socketsOpened;
    private long _nextRequestId;
    private int _nextEndpoint;
    private Task? _disposal;

    /// <summary>Creates the requester. No connection is opened until the first request.</summary>
    /// <param name="owner">The client, named in <see cref="ObjectDisposedException"/>s.</param>
    /// <param name="pipeline">Bounds each attempt and decides about retries.</param>
    /// <param name="codec">Frames requests and reads replies.</param>
    /// <param name="events">Logs, metrics and the give-up exception.</param>
    /// <param name="connect">Opens connection <c>id</c>, connecting to endpoint <c>first</c> first.</param>
    /// <param name="endpointCount">How many endpoints <paramref name="connect"/> rotates through.</param>
    /// <param name="maxIdleConnections">Answered connections kept for reuse; more concurrency than this opens and closes extra ones.</param>
    public LazyPirateRequester(
        object owner,
        ResiliencePipeline pipeline,
        IRequestCodec<TRequest, TReply> codec,
        IRequestEvents<TRequest> events,
        Func<long, int, IRequestConnection> connect,
        int endpointCount,
        int maxIdleConnections)
    {
        _owner = owner;
        _pipeline = pipeline;
        _codec = codec;
        _events = events;
        _connect = connect;
        _endpointCount = endpointCount;
        _maxIdleConnections = maxIdleConnections;
    }

    /// <summary>Counts since the requester was created (each counter read atomically; not one snapshot across them).</summary>
    public LazyPirateStatistics Statistics => new(
        Interlocked.Read(ref _requests),
        Interlocked.Read(ref _succeeded),
        Interlocked.Read(ref _retries),
        Interlocked.Read(ref _abandoned),
        Interlocked.Read(ref _cancelled),
        Interlocked.Read(ref _socketsOpened));

    /// <summary>True once disposal has started.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposal) is not null;

    /// <summary>Cancelled when disposal starts, for waits the owner does before <see cref="RequestAsync"/>.</summary>
    public CancellationToken Lifetime => _lifetime.Token;

    /// <summary>Runs <paramref name="request"/> through the pipeline, one attempt per callback.</summary>
    /// <param name="request">The request; the codec encodes it afresh for every attempt.</param>
    /// <param name="cancellationToken">Abandons the request at once: its connection is closed and nothing is retried.</param>
    /// <returns>The reply the codec read.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The requester was disposed before or during the request.</exception>
    /// <remarks>When the pipeline gives up, the exception from <see cref="IRequestEvents{TRequest}.Abandoned"/> is thrown.</remarks>
    public async Task<TReply> RequestAsync(TRequest request, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, _owner);
        cancellationToken.ThrowIfCancellationRequested();

        var state = new RequestState(this, request, Interlocked.Increment(ref _nextRequestId), cancellationToken);
        Interlocked.Increment(ref _requests);
        _events.Started();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _lifetime.Token);
        try
        {
            var reply = await _pipeline.ExecuteAsync(
                static (s, token) => s.Requester.AttemptAsync(s, token),
                state,
                linked.Token).ConfigureAwait(false);
            Interlocked.Increment(ref _succeeded);
            _events.Answered(state.Id, request, state.Attempts);
            return reply;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Interlocked.Increment(ref _cancelled);
            _events.Cancelled(state.Id, request, state.Attempts);
            throw;
        }
        catch (OperationCanceledException ex) when (_lifetime.IsCancellationRequested)
        {
            throw new ObjectDisposedException($"The {_owner.GetType().Name} was disposed while request {state.Id} was in flight.", ex);
        }
        catch (ExecutionRejectedException ex)
        {
            // Timeout, open circuit, rate limit...: the pipeline gave up on this request.
            Interlocked.Increment(ref _abandoned);
            throw _events.Abandoned(state.Id, request, state.Attempts, ex);
        }
    }

    private async ValueTask<TReply> AttemptAsync(RequestState state, CancellationToken token)
    {
        int attempt = Interlocked.Increment(ref state.AttemptCount);
        if (attempt > 1)
        {
            Interlocked.Increment(ref _retries);
            _events.Retrying(state.Id, state.Request, attempt);
        }

        token.ThrowIfCancellationRequested();
        var connection = Rent();
        bool answered = false;
        try
        {
            await connection.SendAsync(_codec.Encode(state.Request), token).ConfigureAwait(false);
            var reply = await _codec.ReadReplyAsync(connection, state.Request, attempt, token).ConfigureAwait(false);
            answered = true;
            return reply;
        }
        catch (OperationCanceledException) when (!state.Caller.IsCancellationRequested && !_lifetime.IsCancellationRequested)
        {
            // Cancelled by the pipeline: the attempt timed out (or lost a hedging race).
            _events.AttemptAbandoned(state.Id, state.Request, attempt, connection.Id);
            throw;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            _events.AttemptFailed(state.Id, state.Request, attempt, connection.Id, ex);
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
                // The connection still expects a reply that may never come, or come late: never reuse it.
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
            ObjectDisposedException.ThrowIf(_disposal is not null, _owner);
            if (_idle.TryPop(out var idle))
            {
                return idle;
            }

            id = ++_socketsOpened;
            first = _nextEndpoint;
            _nextEndpoint = (_nextEndpoint + 1) % _endpointCount;
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
            // Lost a race with Dispose; the connection has no request yet, so closing it loses nothing.
            connection.DisposeAsync().AsTask().ContinueWith(static _ => { }, TaskScheduler.Default);
            throw new ObjectDisposedException(_owner.GetType().Name);
        }

        _events.SocketOpened(id);
        return connection;
    }

    private ValueTask ReturnAsync(IRequestConnection connection)
    {
        lock (_gate)
        {
            if (_disposal is null && _idle.Count < _maxIdleConnections)
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

    /// <summary>Closes every connection and ends requests in flight with <see cref="ObjectDisposedException"/>.</summary>
    /// <returns>A task that completes when every connection is closed.</returns>
    public ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _disposal ??= DisposeCoreAsync();
        }

        return new ValueTask(_disposal);
    }

    private async Task DisposeCoreAsync()
    {
        // Started while DisposeAsync holds _gate and before _disposal is assigned: yield, so the
        // snapshot below is taken only after Rent can see _disposal and stops adding connections.
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

        _events.Disposed(open.Length);
    }

    private sealed class RequestState(LazyPirateRequester<TRequest, TReply> requester, TRequest request, long id, CancellationToken caller)
    {
        public int AttemptCount;

        public LazyPirateRequester<TRequest, TReply> Requester { get; } = requester;

        public TRequest Request { get; } = request;

        public long Id { get; } = id;

        public CancellationToken Caller { get; } = caller;

        public int Attempts => Volatile.Read(ref AttemptCount);
    }
}
