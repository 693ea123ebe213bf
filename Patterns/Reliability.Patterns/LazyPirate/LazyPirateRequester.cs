using Reliability.Patterns.Heartbeating;
using Reliability.Transport;

namespace Reliability.Patterns.LazyPirate;

/// <summary>
/// The I/O around <see cref="LazyPirateCore{TRequest, TReply}"/>, shared by the clients that retry
/// with a fresh socket (Lazy Pirate, Majordomo): it owns the connections, one timer and the
/// callers' tasks, feeds the core its inputs under one lock, and carries out its outputs in the
/// order it emitted them. What goes on the wire is the <see cref="IRequestCodec{TRequest, TReply}"/>'s
/// business, what is logged and measured the <see cref="IRequestEvents{TRequest}"/>'s.
/// </summary>
/// <typeparam name="TRequest">What the caller asks for.</typeparam>
/// <typeparam name="TReply">What the caller gets back.</typeparam>
/// <remarks>
/// <para>
/// Outputs are carried out outside the lock, by one thread at a time (whichever input produced
/// them: a caller, the timer, a connection's read loop), so the core never sees re-entrancy and an
/// event callback may start another request. Sends and closes are started, not awaited there, so a
/// slow connection holds up no other. A caller's task is completed only after the carrying out is
/// handed back, so its continuation (which may well start the next request at once) runs on the thread
/// that carried the outputs out but never inside the driver's work; that keeps the path of a request
/// free of an extra thread hop.
/// </para>
/// <para>Thread-safe. Dispose ends in-flight requests with <see cref="ObjectDisposedException"/>.</para>
/// </remarks>
internal sealed class LazyPirateRequester<TRequest, TReply> : IAsyncDisposable
{
    private readonly object _owner;
    private readonly IRequestEvents<TRequest> _events;
    private readonly Func<long, int, IRequestConnection> _connect;
    private readonly TimeProvider _time;
    private readonly TimeSpan _requestTimeout;
    private readonly LazyPirateCore<TRequest, TReply> _core;
    private readonly ITimer _timer;
    private readonly CancellationTokenSource _lifetime = new();
    private readonly object _gate = new();

    // Touched only by the thread carrying out outputs (one at a time, handed over through _gate).
    private readonly Dictionary<long, Connection> _connections = [];
    private readonly List<Task> _closing = [];

    // Guarded by _gate.
    private readonly Dictionary<long, Caller> _callers = [];
    private bool _carryingOut;
    private long _timerDue = long.MaxValue;
    private int _closedOnDispose;
    private TaskCompletionSource? _disposal;

    /// <summary>Creates the requester. No connection is opened until the first request.</summary>
    /// <param name="owner">The client, named in <see cref="ObjectDisposedException"/>s.</param>
    /// <param name="options">The attempt policy (timeout, attempts, delays, endpoints); must be valid.</param>
    /// <param name="codec">Frames requests and reads replies.</param>
    /// <param name="events">Logs, metrics and the give-up exception.</param>
    /// <param name="connect">Opens connection <c>id</c>, connecting to endpoint <c>first</c> first.</param>
    /// <param name="maxIdleConnections">Answered connections kept for reuse; more concurrency than this opens and closes extra ones.</param>
    /// <param name="timeProvider">The clock of the attempts' deadlines.</param>
    public LazyPirateRequester(
        object owner,
        LazyPirateOptions options,
        IRequestCodec<TRequest, TReply> codec,
        IRequestEvents<TRequest> events,
        Func<long, int, IRequestConnection> connect,
        int maxIdleConnections,
        TimeProvider timeProvider)
    {
        _owner = owner;
        _events = events;
        _connect = connect;
        _time = timeProvider;
        _requestTimeout = options.RequestTimeout;
        _core = new LazyPirateCore<TRequest, TReply>(options, codec, maxIdleConnections, timeProvider);
        _timer = timeProvider.CreateTimer(static s => ((LazyPirateRequester<TRequest, TReply>)s!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>Counts since the requester was created.</summary>
    public LazyPirateStatistics Statistics
    {
        get
        {
            lock (_gate)
            {
                return _core.Statistics;
            }
        }
    }

    /// <summary>True once disposal has started.</summary>
    public bool IsDisposed => Volatile.Read(ref _disposal) is not null;

    /// <summary>Cancelled when disposal starts, for waits the owner does before <see cref="RequestAsync"/>.</summary>
    public CancellationToken Lifetime => _lifetime.Token;

    /// <summary>Hands <paramref name="request"/> to the core and waits for its outcome.</summary>
    /// <param name="request">The request; the codec encodes it afresh for every attempt.</param>
    /// <param name="cancellationToken">Abandons the request at once: its connection is closed and nothing is retried.</param>
    /// <returns>The reply the codec read.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The requester was disposed before or during the request.</exception>
    /// <remarks>
    /// When no attempt got a reply in time, the exception from <see cref="IRequestEvents{TRequest}.Abandoned"/>
    /// is thrown; any other failure of an attempt is thrown as it is.
    /// </remarks>
    public async Task<TReply> RequestAsync(TRequest request, CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(IsDisposed, _owner);
        cancellationToken.ThrowIfCancellationRequested();
        var caller = new Caller(cancellationToken);
        _events.Started();
        long id;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposal is not null, _owner);
            id = _core.Submit(request);
            _callers.Add(id, caller);
            ArmTimer();
        }

        CarryOut();
        using var registration = cancellationToken.CanBeCanceled
            ? cancellationToken.Register(static s => ((CancelState)s!).Cancel(), new CancelState(this, id))
            : default;
        return await caller.Outcome.Task.ConfigureAwait(false);
    }

    /// <summary>Closes every connection and ends requests in flight with <see cref="ObjectDisposedException"/>.</summary>
    /// <returns>A task that completes when every connection is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        TaskCompletionSource disposal;
        bool first = false;
        lock (_gate)
        {
            if (_disposal is null)
            {
                _disposal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                first = true;
                _core.Dispose();
            }

            disposal = _disposal;
        }

        if (first)
        {
            await _lifetime.CancelAsync().ConfigureAwait(false);
            await _timer.DisposeAsync().ConfigureAwait(false);
            CarryOut();
        }

        await disposal.Task.ConfigureAwait(false);
    }

    private void OnTimer()
    {
        lock (_gate)
        {
            _timerDue = long.MaxValue;
            if (_disposal is not null)
            {
                return;
            }

            _core.OnTimer();
            ArmTimer();
        }

        CarryOut();
    }

    private void Cancel(long id)
    {
        lock (_gate)
        {
            _core.Cancel(id);
            ArmTimer();
        }

        CarryOut();
    }

    private bool Received(Connection connection, Message message)
    {
        bool more;
        lock (_gate)
        {
            more = _core.OnReply(connection.Id, message);
            ArmTimer();
        }

        CarryOut();
        return more;
    }

    private void Failed(long connectionId, Exception error)
    {
        lock (_gate)
        {
            _core.OnConnectionFailed(connectionId, error);
            ArmTimer();
        }

        CarryOut();
    }

    /// <summary>
    /// Under <see cref="_gate"/>: makes the timer fire by the core's next deadline. A timer already due
    /// earlier is left alone; it fires early at worst, finds nothing due and is armed again. That
    /// keeps a steady stream of answered requests from re-arming the timer on every one.
    /// </summary>
    private void ArmTimer()
    {
        long next = _core.NextDeadline;
        if (next < _timerDue && _disposal is null)
        {
            _timerDue = next;
            _timer.Change(Timestamps.Until(_time.GetTimestamp(), next, _time.TimestampFrequency), Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Carries out the core's outputs in order, unless another thread already does (it then takes these too).</summary>
    private void CarryOut()
    {
        lock (_gate)
        {
            if (_carryingOut)
            {
                return;
            }

            _carryingOut = true;
        }

        // Usually one request ends per pass; more only after a timer or disposal.
        Caller? ended = null;
        List<Caller>? moreEnded = null;
        while (true)
        {
            LazyPirateOutput<TRequest, TReply> output;
            Caller? caller = null;
            lock (_gate)
            {
                if (!_core.TryTakeOutput(out output))
                {
                    _carryingOut = false;
                    break;
                }

                if (output.Action is LazyPirateAction.Answered or LazyPirateAction.GaveUp)
                {
                    _callers.Remove(output.RequestId, out caller);
                }
            }

            Perform(output, caller);
            if (caller is not null)
            {
                if (ended is null)
                {
                    ended = caller;
                }
                else
                {
                    (moreEnded ??= []).Add(caller);
                }
            }
        }

        ended?.Complete();
        if (moreEnded is not null)
        {
            foreach (var caller in moreEnded)
            {
                caller.Complete();
            }
        }
    }

    private void Perform(in LazyPirateOutput<TRequest, TReply> output, Caller? caller)
    {
        switch (output.Action)
        {
            case LazyPirateAction.Open:
                Open(output.ConnectionId, output.FirstEndpoint);
                break;
            case LazyPirateAction.Send:
                if (_connections.TryGetValue(output.ConnectionId, out var connection))
                {
                    _ = SendAndReadAsync(connection, output.Frames!);
                }

                break;
            case LazyPirateAction.Close:
                Close(output.ConnectionId);
                break;
            case LazyPirateAction.Retrying:
                _events.Retrying(output.RequestId, output.Request!, output.Attempt);
                break;
            case LazyPirateAction.AttemptTimedOut:
                _events.AttemptAbandoned(output.RequestId, output.Request!, output.Attempt, output.ConnectionId);
                break;
            case LazyPirateAction.AttemptFailed:
                _events.AttemptFailed(output.RequestId, output.Request!, output.Attempt, output.ConnectionId, output.Error!);
                break;
            case LazyPirateAction.Answered:
                _events.Answered(output.RequestId, output.Request!, output.Attempt);
                caller?.Succeed(output.Reply!);
                break;
            case LazyPirateAction.GaveUp:
                GiveUp(output, caller);
                break;
            case LazyPirateAction.Disposed:
                _ = FinishDisposalAsync();
                break;
        }
    }

    private void GiveUp(in LazyPirateOutput<TRequest, TReply> output, Caller? caller)
    {
        switch (output.Failure)
        {
            case LazyPirateFailure.Cancelled:
                _events.Cancelled(output.RequestId, output.Request!, output.Attempt);
                caller?.Fail(null);
                break;
            case LazyPirateFailure.Disposed:
                caller?.Fail(new ObjectDisposedException($"The {_owner.GetType().Name} was disposed while request {output.RequestId} was in flight."));
                break;
            case LazyPirateFailure.NoReply:
                var timeout = new TimeoutException($"No reply within {_requestTimeout.TotalMilliseconds} ms on attempt {output.Attempt}.");
                caller?.Fail(_events.Abandoned(output.RequestId, output.Request!, output.Attempt, timeout));
                break;
            default:
                caller?.Fail(output.Error!);
                break;
        }
    }

    private void Open(long id, int firstEndpoint)
    {
        IRequestConnection opened;
        try
        {
            opened = _connect(id, firstEndpoint);
        }
        catch (Exception ex)
        {
            Failed(id, ex);
            return;
        }

        _connections.Add(id, new Connection(id, opened));
        _events.SocketOpened(id);
    }

    private void Close(long id)
    {
        if (!_connections.Remove(id, out var connection))
        {
            return;
        }

        if (IsDisposed)
        {
            _closedOnDispose++;
        }

        connection.Stop.Cancel();
        var closing = connection.Channel.DisposeAsync();
        if (!closing.IsCompletedSuccessfully)
        {
            if (_closing.Count >= 64)
            {
                _closing.RemoveAll(static t => t.IsCompleted);
            }

            _closing.Add(closing.AsTask());
        }
    }

    /// <summary>Sends one attempt's request, then reads its connection until the core has what it needs or the connection is closed.</summary>
    private async Task SendAndReadAsync(Connection connection, Message frames)
    {
        var token = connection.Stop.Token;
        try
        {
            await connection.Channel.SendAsync(frames, token).ConfigureAwait(false);
            while (Received(connection, await connection.Channel.ReceiveAsync(token).ConfigureAwait(false)))
            {
            }
        }
        catch (Exception) when (token.IsCancellationRequested)
        {
            // Closed by the core (timeout, cancellation, disposal): nothing more to read.
        }
        catch (Exception ex)
        {
            Failed(connection.Id, ex);
        }
    }

    private async Task FinishDisposalAsync()
    {
        try
        {
            await Task.WhenAll(_closing.ToArray()).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // A connection that fails to close is gone all the same; disposal does not throw for it.
        }

        // _lifetime stays undisposed: owners may still read Lifetime after disposal (it is cancelled).
        _events.Disposed(_closedOnDispose);
        _disposal!.TrySetResult();
    }

    private sealed class Connection(long id, IRequestConnection channel)
    {
        public long Id { get; } = id;

        public IRequestConnection Channel { get; } = channel;

        /// <summary>Cancelled when the core closes the connection: ends a send or read in progress.</summary>
        public CancellationTokenSource Stop { get; } = new();
    }

    /// <summary>A caller's task, and the outcome decided for it until <see cref="Complete"/> hands it over.</summary>
    private sealed class Caller(CancellationToken token)
    {
        private TReply? _reply;
        private Exception? _error;
        private bool _cancelled;

        public TaskCompletionSource<TReply> Outcome { get; } = new();

        public void Succeed(TReply reply) => _reply = reply;

        /// <summary>Fails with <paramref name="error"/>, or as cancelled by the caller's token when null.</summary>
        public void Fail(Exception? error)
        {
            _error = error;
            _cancelled = error is null;
        }

        /// <summary>Completes the task; its continuation may run inline, so never call this while carrying outputs out.</summary>
        public void Complete()
        {
            if (_cancelled)
            {
                Outcome.TrySetCanceled(token);
            }
            else if (_error is not null)
            {
                Outcome.TrySetException(_error);
            }
            else
            {
                Outcome.TrySetResult(_reply!);
            }
        }
    }

    private sealed class CancelState(LazyPirateRequester<TRequest, TReply> requester, long id)
    {
        public void Cancel() => requester.Cancel(id);
    }
}
