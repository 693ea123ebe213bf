using Reliability.Patterns.Heartbeating;
using Reliability.Transport;

namespace Reliability.Patterns.LazyPirate;

/// <summary>
/// The Lazy Pirate attempt logic without I/O (docs/patterns/lazy-pirate.md §2): which connection an
/// attempt goes out on, when it has waited long enough, whether and when to try again, and when to
/// give up. Inputs are method calls (a request submitted or cancelled, a message received on a
/// connection, a connection failed, the clock passed <see cref="NextDeadline"/>); outputs are
/// <see cref="LazyPirateOutput{TRequest, TReply}"/>s taken with <see cref="TryTakeOutput"/>, in the
/// order they must be carried out.
/// </summary>
/// <typeparam name="TRequest">What the caller asks for.</typeparam>
/// <typeparam name="TReply">What the caller gets back.</typeparam>
/// <remarks>
/// Single-threaded: the driver serialises the inputs and carries out the outputs. Connections are
/// only numbers here; an attempt that got no reply (or failed) always closes its connection, so a
/// late reply can never answer a later attempt or request, and an answered connection is kept
/// (up to the idle limit) for the next request. Time comes only from the <see cref="TimeProvider"/>'s
/// monotonic timestamps, so tests drive it with a manual clock.
/// </remarks>
internal sealed class LazyPirateCore<TRequest, TReply>
{
    private readonly IRequestCodec<TRequest, TReply> _codec;
    private readonly TimeProvider _time;
    private readonly long _timeoutUnits;
    private readonly int _attempts;
    private readonly TimeSpan _retryDelay;
    private readonly TimeSpan _retryDelayMax;
    private readonly int _endpointCount;
    private readonly int _maxIdle;
    private readonly Dictionary<long, Pending> _requests = [];
    private readonly Dictionary<long, Pending> _awaitingReply = [];
    private readonly Stack<long> _idle = new();
    private readonly Queue<LazyPirateOutput<TRequest, TReply>> _outputs = new();

    // Deadlines by due time; an entry is stale when its request moved on (its Generation changed).
    private readonly PriorityQueue<(Pending Request, int Generation), long> _deadlines = new();
    private long _nextRequestId;
    private long _nextConnectionId;
    private int _nextEndpoint;
    private long _succeeded;
    private long _retries;
    private long _abandoned;
    private long _cancelled;
    private bool _disposed;

    /// <summary>Creates the core; <paramref name="options"/> must be valid.</summary>
    /// <param name="options">Timeout, attempts, retry delays and the number of endpoints to rotate through.</param>
    /// <param name="codec">Frames requests and reads replies.</param>
    /// <param name="maxIdleConnections">Answered connections kept for reuse.</param>
    /// <param name="timeProvider">The clock of every deadline.</param>
    public LazyPirateCore(LazyPirateOptions options, IRequestCodec<TRequest, TReply> codec, int maxIdleConnections, TimeProvider timeProvider)
    {
        _codec = codec;
        _time = timeProvider;
        _timeoutUnits = Timestamps.ToUnits(options.RequestTimeout, timeProvider.TimestampFrequency);
        _attempts = options.Attempts;
        _retryDelay = options.RetryDelay;
        _retryDelayMax = options.RetryDelayMax;
        _endpointCount = options.Endpoints.Count;
        _maxIdle = maxIdleConnections;
    }

    /// <summary>Counts since the core was created.</summary>
    public LazyPirateStatistics Statistics => new(_nextRequestId, _succeeded, _retries, _abandoned, _cancelled, _nextConnectionId);

    /// <summary>Requests neither answered nor given up.</summary>
    public int InFlight => _requests.Count;

    /// <summary>Answered connections waiting for the next request.</summary>
    public int IdleConnections => _idle.Count;

    /// <summary>Timestamp at which <see cref="OnTimer"/> must next run; <see cref="long.MaxValue"/> when nothing waits.</summary>
    public long NextDeadline
    {
        get
        {
            while (_deadlines.TryPeek(out var entry, out long due))
            {
                if (entry.Request.Generation == entry.Generation)
                {
                    return due;
                }

                _deadlines.Dequeue();
            }

            return long.MaxValue;
        }
    }

    /// <summary>Takes the next output to carry out, in the order the core decided them.</summary>
    public bool TryTakeOutput(out LazyPirateOutput<TRequest, TReply> output) => _outputs.TryDequeue(out output);

    /// <summary>Starts <paramref name="request"/>: its first attempt goes out on an idle connection or a new one.</summary>
    /// <returns>The request's id, used by every later input and output about it.</returns>
    /// <exception cref="ObjectDisposedException">The core was disposed.</exception>
    public long Submit(TRequest request)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var pending = new Pending(++_nextRequestId, request);
        _requests.Add(pending.Id, pending);
        StartAttempt(pending);
        return pending.Id;
    }

    /// <summary>
    /// Connection <paramref name="connectionId"/> received <paramref name="message"/>. A message for no
    /// attempt (its connection was given up, or nothing is pending on it) is dropped.
    /// </summary>
    /// <returns>True while the connection's attempt waits for more messages: the driver keeps reading it.</returns>
    public bool OnReply(long connectionId, Message message)
    {
        if (!_awaitingReply.TryGetValue(connectionId, out var pending))
        {
            return false;
        }

        var step = pending.Reader!.Read(message);
        if (step.Error is { } error)
        {
            FailAttempt(pending, error);
            return false;
        }

        if (!step.IsDone)
        {
            return true;
        }

        _awaitingReply.Remove(connectionId);
        Finish(pending);
        _succeeded++;
        if (_idle.Count < _maxIdle)
        {
            _idle.Push(connectionId);
        }
        else
        {
            Emit(new(LazyPirateAction.Close, ConnectionId: connectionId));
        }

        Emit(new(LazyPirateAction.Answered, pending.Id, pending.Request, connectionId, pending.Attempt, Reply: step.Reply));
        return false;
    }

    /// <summary>
    /// Connection <paramref name="connectionId"/> could not be opened, sent on or read
    /// (<paramref name="error"/>). Its attempt fails without a retry: that is not the server being
    /// slow or gone, so another attempt would only repeat it. Ignored for a connection already given up.
    /// </summary>
    public void OnConnectionFailed(long connectionId, Exception error)
    {
        if (_awaitingReply.TryGetValue(connectionId, out var pending))
        {
            FailAttempt(pending, error);
        }
    }

    /// <summary>The caller gave request <paramref name="requestId"/> up: its connection is closed, nothing is retried. Ignored once it has ended.</summary>
    public void Cancel(long requestId)
    {
        if (_requests.TryGetValue(requestId, out var pending))
        {
            CloseAttempt(pending);
            Finish(pending);
            _cancelled++;
            Emit(new(LazyPirateAction.GaveUp, pending.Id, pending.Request, Attempt: pending.Attempt, Failure: LazyPirateFailure.Cancelled));
        }
    }

    /// <summary>Acts on every deadline that has passed: a timed-out attempt is closed and retried or given up; a retry whose delay is over goes out.</summary>
    public void OnTimer()
    {
        long now = _time.GetTimestamp();
        while (_deadlines.TryPeek(out var entry, out long due) && due <= now)
        {
            _deadlines.Dequeue();
            var pending = entry.Request;
            if (pending.Generation != entry.Generation)
            {
                continue;
            }

            if (pending.ConnectionId == 0)
            {
                StartAttempt(pending);
                continue;
            }

            Emit(new(LazyPirateAction.AttemptTimedOut, pending.Id, pending.Request, pending.ConnectionId, pending.Attempt));
            CloseAttempt(pending);
            if (pending.Attempt >= _attempts)
            {
                Finish(pending);
                _abandoned++;
                Emit(new(LazyPirateAction.GaveUp, pending.Id, pending.Request, Attempt: pending.Attempt, Failure: LazyPirateFailure.NoReply));
                continue;
            }

            var delay = RetryDelay(pending.Attempt);
            if (delay <= TimeSpan.Zero)
            {
                StartAttempt(pending);
            }
            else
            {
                Schedule(pending, now + Timestamps.ToUnits(delay, _time.TimestampFrequency));
            }
        }
    }

    /// <summary>Closes every connection and gives every request up; then <see cref="LazyPirateAction.Disposed"/>. Idempotent.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var pending in _requests.Values.ToArray())
        {
            CloseAttempt(pending);
            Finish(pending);
            Emit(new(LazyPirateAction.GaveUp, pending.Id, pending.Request, Attempt: pending.Attempt, Failure: LazyPirateFailure.Disposed));
        }

        while (_idle.TryPop(out long idle))
        {
            Emit(new(LazyPirateAction.Close, ConnectionId: idle));
        }

        _deadlines.Clear();
        Emit(new(LazyPirateAction.Disposed));
    }

    private void StartAttempt(Pending pending)
    {
        pending.Attempt++;
        if (pending.Attempt > 1)
        {
            _retries++;
            Emit(new(LazyPirateAction.Retrying, pending.Id, pending.Request, Attempt: pending.Attempt));
        }

        if (!_idle.TryPop(out long connectionId))
        {
            connectionId = ++_nextConnectionId;
            Emit(new(LazyPirateAction.Open, ConnectionId: connectionId, FirstEndpoint: _nextEndpoint));
            _nextEndpoint = (_nextEndpoint + 1) % _endpointCount;
        }

        pending.ConnectionId = connectionId;
        pending.Reader = _codec.StartReply(pending.Request, pending.Attempt, connectionId);
        _awaitingReply.Add(connectionId, pending);
        Schedule(pending, _time.GetTimestamp() + _timeoutUnits);
        Emit(new(LazyPirateAction.Send, pending.Id, pending.Request, connectionId, pending.Attempt, Frames: _codec.Encode(pending.Request)));
    }

    private void FailAttempt(Pending pending, Exception error)
    {
        Emit(new(LazyPirateAction.AttemptFailed, pending.Id, pending.Request, pending.ConnectionId, pending.Attempt, Error: error));
        CloseAttempt(pending);
        Finish(pending);
        Emit(new(LazyPirateAction.GaveUp, pending.Id, pending.Request, Attempt: pending.Attempt, Failure: LazyPirateFailure.AttemptFailed, Error: error));
    }

    /// <summary>The attempt's connection still expects a reply that may never come, or come late: it is closed, never reused.</summary>
    private void CloseAttempt(Pending pending)
    {
        if (pending.ConnectionId != 0)
        {
            _awaitingReply.Remove(pending.ConnectionId);
            Emit(new(LazyPirateAction.Close, ConnectionId: pending.ConnectionId));
            pending.ConnectionId = 0;
            pending.Reader = null;
        }
    }

    private void Finish(Pending pending)
    {
        _requests.Remove(pending.Id);
        pending.Generation++;
    }

    private void Schedule(Pending pending, long due)
    {
        pending.Generation++;
        _deadlines.Enqueue((pending, pending.Generation), due);
    }

    /// <summary>The pause after attempt <paramref name="attempt"/>: constant, or doubling from <c>RetryDelay</c> up to <c>RetryDelayMax</c>.</summary>
    private TimeSpan RetryDelay(int attempt)
    {
        if (_retryDelayMax <= _retryDelay || _retryDelay <= TimeSpan.Zero)
        {
            return _retryDelay;
        }

        // attempt >= 1 and at most MaxAttempts: the shift is capped so the product cannot overflow.
        int doublings = Math.Min(attempt - 1, 30);
        double ticks = _retryDelay.Ticks * Math.Pow(2, doublings);
        return ticks >= _retryDelayMax.Ticks ? _retryDelayMax : TimeSpan.FromTicks((long)ticks);
    }

    private void Emit(LazyPirateOutput<TRequest, TReply> output) => _outputs.Enqueue(output);

    private sealed class Pending(long id, TRequest request)
    {
        public long Id { get; } = id;

        public TRequest Request { get; } = request;

        public int Attempt { get; set; }

        /// <summary>The connection the current attempt waits on; 0 between attempts (retry delay).</summary>
        public long ConnectionId { get; set; }

        public IReplyReader<TReply>? Reader { get; set; }

        public int Generation { get; set; }
    }
}
