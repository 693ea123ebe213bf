using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Reliability.Mdp.Protocol;
using Reliability.Transport;

namespace Reliability.Mdp.Client;

/// <summary>
/// An asynchronous Majordomo client: many requests outstanding at once over DEALER sockets, each
/// <see cref="RequestAsync(string, Message, CancellationToken)"/> completed by its own reply or failed
/// by its own timeout. No retries: a timed-out request fails with <see cref="MdpRequestFailedException"/>.
/// </summary>
/// <remarks>
/// <para>
/// <b>Matching replies to requests.</b> A Majordomo reply carries only the service name and the body
/// (RFC 7/18); the broker routes it back by the client's socket identity. Matching by arrival order per
/// service would be wrong as soon as a service has two workers (a fast one overtakes a slow one), and
/// putting a request id into the body works only with workers that echo it back. So the client keeps
/// at most <b>one outstanding request per service on each connection</b>: a reply that arrives on
/// connection C from service S belongs to the single request for S in flight on C, with any broker and
/// any worker, bodies untouched. More concurrency for one service uses more connections, up to
/// <see cref="MajordomoAsyncClientOptions.MaxConnections"/>; beyond that requests wait, in call order,
/// for a connection to become free (their timeout runs meanwhile).
/// </para>
/// <para>
/// <b>Late replies.</b> When a request times out, its connection can no longer tell a late reply to it
/// from the reply to the next request for the same service. The connection therefore takes no new
/// requests; the replies it still gets for that service are counted as late and dropped, its other
/// requests complete normally, and once they are done it is closed (linger 0, so nothing it still had
/// queued reaches the broker) and replaced by a fresh connection when needed. A late reply can never
/// complete another request.
/// </para>
/// <para>
/// <b>Broker restart.</b> Requests in flight when the broker goes away time out; their connections are
/// replaced as above, and requests made after the broker is back go out on working connections.
/// </para>
/// <para>
/// As an <see cref="IMajordomoClient"/> it can stand in for <see cref="MajordomoClient"/>: each request then
/// uses <see cref="MajordomoAsyncClientOptions.Timeout"/> and is not retried.
/// </para>
/// <para>Thread-safe. Dispose fails the requests in flight with <see cref="ObjectDisposedException"/>.</para>
/// </remarks>
public sealed partial class MajordomoAsyncClient : IMajordomoClient, IAsyncDisposable
{
    private readonly ILogger _logger;
    private readonly ILoggerFactory? _loggerFactory;
    private readonly TimeProvider _time;
    private readonly SocketOptions _socketOptions;
    private readonly object _gate = new();
    private readonly List<Lane> _lanes = [];
    private readonly Dictionary<string, Queue<Pending>> _waiting = new(StringComparer.Ordinal);
    private readonly HashSet<Task> _closing = [];
    private readonly HashSet<Pending> _settling = [];
    private int _currentBroker;
    private long _retries;
    private long _nextLaneId;
    private long _nextRequestId;
    private long _requests;
    private long _succeeded;
    private long _timedOut;
    private long _cancelled;
    private long _lateReplies;
    private long _invalidReplies;
    private bool _disposed;
    private Task? _disposal;

    /// <summary>Creates the client. Connections are opened as requests need them.</summary>
    /// <param name="options">Settings; validated here.</param>
    /// <param name="loggerFactory">Logging for the client and its sockets; none when null.</param>
    /// <param name="timeProvider">Clock for the per-request timeouts and the sockets; <see cref="TimeProvider.System"/> when null.</param>
    /// <exception cref="ArgumentException"><paramref name="options"/> is invalid.</exception>
    public MajordomoAsyncClient(MajordomoAsyncClientOptions options, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        _loggerFactory = loggerFactory;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<MajordomoAsyncClient>();
        _time = timeProvider ?? TimeProvider.System;
        // The lane loops only parse replies and complete tasks (whose continuations run on the thread
        // pool), so they may run on the I/O thread that delivered the reply.
        _socketOptions = options.Socket with { Linger = TimeSpan.Zero, InlineReceiveContinuations = true };
    }

    /// <summary>The settings the client was created with.</summary>
    public MajordomoAsyncClientOptions Options { get; }

    /// <summary>Counts since the client was created (each counter read atomically; not one snapshot across them).</summary>
    public MajordomoAsyncClientStatistics Statistics
    {
        get
        {
            lock (_gate)
            {
                return new(_requests, _succeeded, _timedOut, _cancelled, _lateReplies, _invalidReplies, _nextLaneId, _lanes.Count) { Retries = _retries };
            }
        }
    }

    /// <summary>Sends a request with the default timeout (<see cref="MajordomoAsyncClientOptions.Timeout"/>).</summary>
    /// <param name="service">The service name (1 to 255 UTF-8 bytes, no control characters).</param>
    /// <param name="body">The request frames (zero or more); the message is not modified.</param>
    /// <param name="cancellationToken">Abandons the request.</param>
    /// <returns>A task completed by the request's own reply.</returns>
    /// <exception cref="MdpRequestFailedException">(From the task) no reply within the timeout.</exception>
    /// <exception cref="OperationCanceledException">(From the task) <paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The client was disposed (also from the task, for requests in flight).</exception>
    public Task<MdpReply> RequestAsync(string service, Message body, CancellationToken cancellationToken = default) =>
        RequestAsync(service, body, Options.Timeout, cancellationToken);

    /// <summary>Sends a request that fails unless its reply arrives within <paramref name="timeout"/> of this call.</summary>
    /// <param name="service">The service name (1 to 255 UTF-8 bytes, no control characters).</param>
    /// <param name="body">The request frames (zero or more); the message is not modified.</param>
    /// <param name="timeout">Time allowed for the reply, counted from this call (positive, at most one hour).</param>
    /// <param name="cancellationToken">Abandons the request.</param>
    /// <returns>A task completed by the request's own reply.</returns>
    /// <exception cref="MdpRequestFailedException">(From the task) no reply within the timeout.</exception>
    /// <exception cref="OperationCanceledException">(From the task) <paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The client was disposed (also from the task, for requests in flight).</exception>
    public Task<MdpReply> RequestAsync(string service, Message body, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (timeout <= TimeSpan.Zero || timeout > MajordomoAsyncClientOptions.MaxTimeout)
        {
            throw new ArgumentOutOfRangeException(nameof(timeout), timeout, $"The timeout must be positive and at most {MajordomoAsyncClientOptions.MaxTimeout}.");
        }

        var request = new ClientRequest(service, body);
        if (cancellationToken.IsCancellationRequested)
        {
            return Task.FromCanceled<MdpReply>(cancellationToken);
        }

        // The span lasts until the reply (or failure) on another thread: it must not stay current in the caller's
        // flow, so the caller's own activity (the new span's parent) is made current again.
        var activity = MdpTelemetry.StartClientRequest(ref request, Options.Version, Options.TraceContext);
        if (activity is not null)
        {
            Activity.Current = activity.Parent;
        }

        var pending = new Pending(this, request, timeout, cancellationToken) { Activity = activity };
        Lane? lane;
        lock (_gate)
        {
            if (_disposed)
            {
                activity?.Dispose();
            }

            ObjectDisposedException.ThrowIf(_disposed, this);
            pending.Id = ++_nextRequestId;
            _requests++;
            lane = AssignLocked(pending);
        }

        ClientMetrics.Requests.Add(1, ClientMetrics.Async);
        pending.Arm();
        if (lane is not null)
        {
            Send(lane, pending);
        }

        return pending.Task;
    }

    /// <summary>Fails every request in flight with <see cref="ObjectDisposedException"/> and closes every connection.</summary>
    /// <returns>A task that completes when every socket is closed.</returns>
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
        // Started under _gate by DisposeAsync: let it return before taking the lock again.
        await Task.Yield();
        var orphans = new List<Pending>();
        Task[] closing;
        lock (_gate)
        {
            _disposed = true;
            foreach (var lane in _lanes)
            {
                orphans.AddRange(lane.Slots.Values);
                lane.Slots.Clear();
                CloseLaneLocked(lane);
            }

            _lanes.Clear();
            foreach (var queue in _waiting.Values)
            {
                orphans.AddRange(queue);
            }

            _waiting.Clear();
            orphans.AddRange(_settling);
            _settling.Clear();
            closing = [.. _closing];
        }

        var disposed = new ObjectDisposedException(nameof(MajordomoAsyncClient), "The client was disposed while the request was in flight.");
        foreach (var pending in orphans)
        {
            pending.Fail(disposed);
        }

        await Task.WhenAll(closing).ConfigureAwait(false);
    }

    /// <summary>Finds a connection with no request for the service in flight, opening one if allowed; else queues the request.</summary>
    private Lane? AssignLocked(Pending pending)
    {
        string service = pending.Request.Service;
        foreach (var lane in _lanes)
        {
            if (!lane.Draining && !lane.Slots.ContainsKey(service))
            {
                OccupyLocked(lane, pending);
                return lane;
            }
        }

        if (_lanes.Count < Options.MaxConnections)
        {
            var lane = OpenLaneLocked();
            OccupyLocked(lane, pending);
            return lane;
        }

        if (!_waiting.TryGetValue(service, out var queue))
        {
            queue = new Queue<Pending>();
            _waiting[service] = queue;
        }

        pending.State = PendingState.Waiting;
        queue.Enqueue(pending);
        return null;
    }

    private static void OccupyLocked(Lane lane, Pending pending)
    {
        lane.Slots[pending.Request.Service] = pending;
        pending.Lane = lane;
        pending.State = PendingState.Sent;
        pending.Sends++;
    }

    /// <summary>The next queued request for <paramref name="service"/> that has not timed out meanwhile, or null.</summary>
    private Pending? DequeueWaitingLocked(string service)
    {
        if (!_waiting.TryGetValue(service, out var queue))
        {
            return null;
        }

        // Bounded by the queue length; timed-out entries are removed lazily here.
        while (queue.TryDequeue(out var next))
        {
            if (next.State == PendingState.Waiting)
            {
                if (queue.Count == 0)
                {
                    _waiting.Remove(service);
                }

                return next;
            }
        }

        _waiting.Remove(service);
        return null;
    }

    /// <summary>Hands queued requests to connections that can take them (after a connection was retired).</summary>
    private void PumpLocked(List<(Lane Lane, Pending Pending)> sends)
    {
        if (_waiting.Count == 0)
        {
            return;
        }

        // Bounded: every service is visited once and each inner pass either assigns a request or stops.
        foreach (string service in _waiting.Keys.ToArray())
        {
            while (FindLaneLocked(service) is { } lane && DequeueWaitingLocked(service) is { } next)
            {
                OccupyLocked(lane, next);
                sends.Add((lane, next));
            }
        }
    }

    private Lane? FindLaneLocked(string service)
    {
        foreach (var lane in _lanes)
        {
            if (!lane.Draining && !lane.Slots.ContainsKey(service))
            {
                return lane;
            }
        }

        return _lanes.Count < Options.MaxConnections ? OpenLaneLocked() : null;
    }

    private Lane OpenLaneLocked()
    {
        long id = ++_nextLaneId;
        int broker = _currentBroker;
        string endpoint = Options.Brokers[broker];
        var socket = new DealerSocket(_socketOptions, _loggerFactory, _time);
        try
        {
            socket.Connect(endpoint);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var lane = new Lane(id, broker, socket);
        _lanes.Add(lane);
        lane.ReceiveLoop = Task.Run(() => ReceiveLoopAsync(lane));
        ClientLog.SocketOpened(_logger, "DEALER", id, endpoint);
        return lane;
    }

    /// <summary>Stops a connection's receive loop and closes its socket without lingering.</summary>
    private void CloseLaneLocked(Lane lane)
    {
        lane.Stop.Cancel();
        var close = CloseLaneAsync(lane);
        _closing.Add(close);
        close.ContinueWith(
            (t, state) =>
            {
                var self = (MajordomoAsyncClient)state!;
                lock (self._gate)
                {
                    self._closing.Remove(t);
                }
            },
            this,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private static async Task CloseLaneAsync(Lane lane)
    {
        // Yield first: this runs under _gate, and the socket's disposal must not.
        await Task.Yield();
        if (lane.ReceiveLoop is { } loop)
        {
            await loop.ConfigureAwait(false);
        }

        await lane.Socket.DisposeAsync().ConfigureAwait(false);
        lane.Stop.Dispose();
    }

    private void RetireLocked(Lane lane, List<(Lane Lane, Pending Pending)> sends)
    {
        _lanes.Remove(lane);
        CloseLaneLocked(lane);
        ClientLog.ConnectionRetired(_logger, lane.Id, Options.Brokers[lane.Broker]);
        PumpLocked(sends);
    }

    private void Send(Lane lane, Pending pending)
    {
        var message = MdpCodec.BuildFromClient(pending.Request, Options.Version, MdpClientSocket.Dealer);
        ValueTask<bool> sending;
        try
        {
            // A DEALER queues while connecting; it waits only when its queue to the broker is full.
            sending = lane.Socket.TrySendAsync(message, pending.Timeout, lane.Stop.Token);
        }
        catch (ObjectDisposedException)
        {
            // The client is being disposed; the request is failed by the disposal.
            return;
        }

        if (!sending.IsCompletedSuccessfully)
        {
            _ = CompleteSendAsync(sending);
        }
    }

    private static async Task CompleteSendAsync(ValueTask<bool> sending)
    {
        try
        {
            // A send that never completes leaves its request to its own timeout.
            await sending.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
        {
            // The connection was closed meanwhile (disposal); the request is failed by that.
        }
    }

    private async Task ReceiveLoopAsync(Lane lane)
    {
        var token = lane.Stop.Token;

        // Bounded by the connection's lifetime: ends when it is retired or the client disposed.
        while (true)
        {
            Message? message;
            try
            {
                message = await lane.Socket.TryReceiveAsync(System.Threading.Timeout.InfiniteTimeSpan, token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }

            if (message is not null)
            {
                OnMessage(lane, message);
            }
        }
    }

    private void OnMessage(Lane lane, Message message)
    {
        var parsed = MdpCodec.ParseAtClient(message, MdpClientSocket.Dealer);
        string? problem = ReplyCheck.Problem(parsed, Options.Version, service: null);
        if (problem is not null)
        {
            CountInvalid(lane, problem);
            return;
        }

        var command = parsed.Command!;
        string service = command.Service;
        Pending? done = null;
        var sends = new List<(Lane Lane, Pending Pending)>();
        lock (_gate)
        {
            if (!lane.Slots.TryGetValue(service, out var pending))
            {
                if (lane.TimedOut.Contains(service))
                {
                    _lateReplies++;
                    ClientMetrics.LateReplies.Add(1, ClientMetrics.Async);
                    ClientLog.LateReply(_logger, service, lane.Id);
                }
                else
                {
                    problem = $"a reply from '{service}', which has no request in flight on this connection";
                }
            }
            else if (command is ClientPartial)
            {
                pending.Partials.Add(new Message(command.Body));
            }
            else
            {
                lane.Slots.Remove(service);
                pending.State = PendingState.Done;
                done = pending;
                _succeeded++;
                if (lane.Draining)
                {
                    if (lane.Slots.Count == 0)
                    {
                        RetireLocked(lane, sends);
                    }
                }
                else if (DequeueWaitingLocked(service) is { } next)
                {
                    OccupyLocked(lane, next);
                    sends.Add((lane, next));
                }
            }
        }

        if (problem is not null)
        {
            CountInvalid(lane, problem);
        }

        // Waiting requests first: with UnsafeInlineCompletions the caller's code runs inside Succeed and
        // may queue more, which must go out after the ones already assigned.
        foreach (var (nextLane, next) in sends)
        {
            Send(nextLane, next);
        }

        if (done is null)
        {
            return;
        }

        // A worker whose handler failed answered with a failure reply (docs/wire/mdp.md §17): answered, but not a success.
        if (HandlerFailureReply.TryRead(command.Body, out string exceptionType))
        {
            done.Fail(ReplyCheck.HandlerFailed(service, done.Sends, Options.BrokerNames, exceptionType));
            return;
        }

        done.Succeed(new MdpReply(service, new Message(command.Body), done.Partials.Count > 0 ? done.Partials : null, parsed.Version));
    }

    private void CountInvalid(Lane lane, string problem)
    {
        Interlocked.Increment(ref _invalidReplies);
        ClientMetrics.InvalidReplies.Add(1, ClientMetrics.Async);
        ClientLog.InvalidReply(_logger, Options.Brokers[lane.Broker], lane.Id, problem);
    }
}
