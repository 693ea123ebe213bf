using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Reliability.Patterns;
using Reliability.Mdp.Protocol;
using Reliability.Transport;

namespace Reliability.Mdp.Worker;

/// <summary>
/// A Majordomo worker (RFC 7 / RFC 18 worker side, docs/wire/mdp.md §7): registers one service with a
/// broker and answers the requests the broker sends it, one at a time.
/// </summary>
/// <remarks>
/// <para>
/// A connection loop of its own owns the DEALER socket: it sends READY and receives requests, and a
/// timer of the connection sends HEARTBEAT when nothing else went out for <see cref="WorkerOptions.Heartbeat"/>
/// (also while a handler is busy, so the broker can tell a slow worker from a dead one, docs/wire/mdp.md §8) and
/// declares the broker dead after heartbeat × liveness of silence. It then closes the socket without lingering and
/// connects a new one after a back-off (docs/wire/mdp.md §12: nothing queued for the dead connection is sent
/// later). A DISCONNECT from the broker — the way a restarted broker tells an unknown worker to
/// register again — makes it re-register on a fresh socket at once. Shutting down sends DISCONNECT.
/// </para>
/// <para>
/// Two ways to use it: <see cref="RunAsync"/> with a handler, or <see cref="ReceiveAsync"/> and
/// <see cref="MdpRequest.ReplyAsync"/> in a loop of your own. A request received on a connection that
/// has since been replaced is no longer expected by the broker (it requeued or failed it), so its
/// reply is dropped; see <see cref="MdpRequest.ReplyAsync"/>.
/// </para>
/// <para>Thread-safe. Dispose (or the end of <see cref="RunAsync"/>) sends DISCONNECT and closes the socket.</para>
/// </remarks>
public sealed partial class MajordomoWorker : IAsyncDisposable
{
    private readonly ILogger _logger;
    private readonly ILoggerFactory? _loggerFactory;
    private readonly TimeProvider _time;
    private readonly WorkerLiveness _liveness;
    private readonly Channel<MdpRequest> _requests;

    private readonly CancellationTokenSource _stop = new();
    private readonly object _gate = new();
    private readonly TagList _tags;
    private readonly string _version;
    private readonly TimeSpan _replySendTimeout;
    private readonly SocketOptions _socketOptions;
    private Connection? _connection;
    private Task? _loop;
    private Task? _disposal;
    private long _connections;
    private long _reconnects;
    private long _requestsReceived;
    private long _repliesSent;
    private long _partialsSent;
    private long _heartbeatsSent;
    private long _heartbeatsReceived;
    private long _brokerDisconnects;
    private long _brokerSilences;
    private long _handlerFailures;
    private long _staleReplies;
    private long _invalidMessages;

    /// <summary>Creates the worker. Nothing is connected until <see cref="Start"/>, <see cref="ReceiveAsync"/> or <see cref="RunAsync"/>.</summary>
    /// <param name="options">Settings; validated here.</param>
    /// <param name="loggerFactory">Logging for the worker and its sockets; none when null.</param>
    /// <param name="timeProvider">Clock for heartbeats, liveness and reconnect delays (and the sockets' timers); <see cref="TimeProvider.System"/> when null.</param>
    /// <exception cref="ArgumentException"><paramref name="options"/> is invalid.</exception>
    public MajordomoWorker(WorkerOptions options, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;

        // The connection loop only parses commands and queues requests (the handler runs behind the
        // request channel, on the thread pool), so it may run on the I/O thread that delivered them.
        // The broker knows a worker by its connection: once that ends (a peer event, after whatever the
        // connection delivered), waiting for DISCONNECT or for the broker's silence only delays the fresh
        // registration that follows anyway.
        _socketOptions = options.Socket with { InlineReceiveContinuations = true, ReceivePeerEvents = true };

        // Synchronous continuations run the receiver of a request (the handler loop) inside the
        // connection loop's write; only when the handler is declared quick and non-blocking.
        _requests = Channel.CreateUnbounded<MdpRequest>(
            new UnboundedChannelOptions { SingleWriter = true, AllowSynchronousContinuations = options.UnsafeInlineHandler });
        _loggerFactory = loggerFactory;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<MajordomoWorker>();
        _time = timeProvider ?? TimeProvider.System;
        _liveness = new WorkerLiveness(options, _time);
        _tags = WorkerMetrics.Tags(options.Service);
        _version = options.Version.Number();

        // A reply may wait for room in a full outbound queue, but not past the point where the broker
        // would be declared dead anyway.
        _replySendTimeout = options.Heartbeat * options.Liveness;
    }

    /// <summary>The settings the worker was created with.</summary>
    public WorkerOptions Options { get; }

    /// <summary>Counts since the worker was created (each counter read atomically; not one snapshot across them).</summary>
    public WorkerStatistics Statistics => new(
        Interlocked.Read(ref _connections),
        Interlocked.Read(ref _reconnects),
        Interlocked.Read(ref _requestsReceived),
        Interlocked.Read(ref _repliesSent),
        Interlocked.Read(ref _partialsSent),
        Interlocked.Read(ref _heartbeatsSent),
        Interlocked.Read(ref _heartbeatsReceived),
        Interlocked.Read(ref _brokerDisconnects),
        Interlocked.Read(ref _brokerSilences),
        Interlocked.Read(ref _handlerFailures),
        Interlocked.Read(ref _staleReplies),
        Interlocked.Read(ref _invalidMessages));

    /// <summary>Starts the connection loop (connect, READY, heartbeats) if it is not running yet. Idempotent.</summary>
    /// <exception cref="ObjectDisposedException">The worker was disposed.</exception>
    public void Start()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposal is not null, this);
            _loop ??= Task.Run(ConnectionLoopAsync);
        }
    }

    /// <summary>
    /// Waits for the next request (starting the worker if needed). Answer it with
    /// <see cref="MdpRequest.ReplyAsync"/> before the broker sends another.
    /// </summary>
    /// <param name="cancellationToken">Stops waiting; the worker stays registered.</param>
    /// <returns>The request.</returns>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The worker was disposed.</exception>
    public async ValueTask<MdpRequest> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        Start();

        // Bounded: each pass takes one queued request off the channel.
        while (true)
        {
            MdpRequest request;
            try
            {
                request = await _requests.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ChannelClosedException ex)
            {
                if (ex.InnerException is { } failure)
                {
                    ExceptionDispatchInfo.Capture(failure).Throw();
                }

                throw new ObjectDisposedException(nameof(MajordomoWorker), "The worker has stopped.");
            }

            var current = Volatile.Read(ref _connection);
            if (current is not null && current.Id == request.ConnectionId)
            {
                return request;
            }

            // Queued before a reconnect: the broker no longer waits for its reply.
            WorkerLog.StaleRequest(_logger, Options.Service, request.ConnectionId, current?.Id ?? 0);
        }
    }

    /// <summary>
    /// Serves requests with <paramref name="handler"/> until <paramref name="cancellationToken"/> is
    /// cancelled, then sends DISCONNECT and closes (the worker cannot be used afterwards). The handler's
    /// result is sent as the reply unless the handler answered itself (<see cref="MdpRequest.ReplyAsync"/>,
    /// e.g. after partial replies). A handler that throws gets no reply: MDP has no error reply, and a silent
    /// worker would keep the request forever, so the worker sends DISCONNECT and registers again on a fresh
    /// socket, and the broker requeues or fails the request.
    /// </summary>
    /// <param name="handler">Computes the reply body for a request; called for one request at a time.</param>
    /// <param name="cancellationToken">Stops the worker.</param>
    /// <returns>A task that completes when the worker has stopped.</returns>
    /// <exception cref="ObjectDisposedException">The worker was disposed before it started.</exception>
    public async Task RunAsync(Func<MdpRequest, CancellationToken, ValueTask<Message>> handler, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handler);
        Start();
        try
        {
            // Bounded by cancellation and by disposal (ReceiveAsync then throws).
            while (!cancellationToken.IsCancellationRequested)
            {
                MdpRequest request;
                try
                {
                    request = await ReceiveAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    break;
                }
                catch (ObjectDisposedException) when (_stop.IsCancellationRequested)
                {
                    break;
                }

                Message? reply;
                try
                {
                    reply = await handler(request, cancellationToken).ConfigureAwait(false);
                    if (reply is null && !request.IsAnswered)
                    {
                        throw new InvalidOperationException("The handler returned no reply and did not answer the request itself.");
                    }
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    // Stopping mid-request: the DISCONNECT sent on shutdown lets the broker requeue it.
                    break;
                }
                catch (Exception ex)
                {
                    Interlocked.Increment(ref _handlerFailures);
                    WorkerMetrics.HandlerFailures.Add(1, _tags);
                    WorkerLog.HandlerFailed(_logger, Options.Service, ex);
                    RequestReconnect(request.ConnectionId);
                    continue;
                }

                if (!request.IsAnswered)
                {
                    try
                    {
                        await request.ReplyAsync(reply!, cancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                    {
                        break;
                    }
                }
            }
        }
        finally
        {
            await DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>Sends DISCONNECT to the broker (best effort, bounded by the socket's linger) and closes the socket.</summary>
    /// <returns>A task that completes when the worker has stopped.</returns>
    public ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _disposal ??= DisposeCoreAsync(_loop);
        }

        return new ValueTask(_disposal);
    }

    private async Task DisposeCoreAsync(Task? loop)
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        if (loop is not null)
        {
            await loop.ConfigureAwait(false);
        }

        _requests.Writer.TryComplete();
    }

    /// <summary>Asks the connection loop to re-register (handler failure), if <paramref name="connectionId"/> is still current.</summary>
    internal void RequestReconnect(long connectionId)
    {
        var current = Volatile.Read(ref _connection);
        if (current is not null && current.Id == connectionId)
        {
            current.Abort(SessionEnd.HandlerFailed);
        }
    }

    /// <summary>Sends a request's (partial or final) reply on the connection it came from.</summary>
    internal async ValueTask<bool> SendReplyAsync(MdpRequest request, Message body, bool final, CancellationToken cancellationToken)
    {
        var current = Volatile.Read(ref _connection);
        if (current is null || current.Id != request.ConnectionId)
        {
            DropStaleReply(request, current);
            return false;
        }

        MdpWorkerCommand command = Options.Version == MdpVersion.V01
            ? new WorkerReply(request.ClientAddress, body)
            : final ? new WorkerFinal(request.ClientAddress, body) : new WorkerPartial(request.ClientAddress, body);
        // Book-kept before the send, undone if it fails: the message can reach the broker, and the
        // broker's next request reach this worker, before the send returns (inline writes), and the next
        // request must find the worker idle and the counters already showing this reply.
        Account(final, +1);
        bool sent;
        try
        {
            sent = await current.Socket.TrySendAsync(MdpCodec.BuildFromWorker(command, Options.Version), _replySendTimeout, cancellationToken)
                .ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            // The connection loop replaced the socket while we were sending.
            Account(final, -1);
            DropStaleReply(request, Volatile.Read(ref _connection));
            return false;
        }

        if (!sent)
        {
            Account(final, -1);
            WorkerLog.SendDropped(_logger, Options.Service, final ? "a reply" : "a partial reply", _replySendTimeout.TotalMilliseconds);
            return false;
        }

        if (final)
        {
            // A counter instrument only goes up, so it counts after the fact.
            WorkerMetrics.Replies.Add(1, _tags);
        }

        return true;
    }

    /// <summary>Counts a reply (final) or partial reply in the statistics as sent (+1) or takes that back (-1); liveness learns of sends only.</summary>
    private void Account(bool final, int delta)
    {
        if (final)
        {
            if (delta > 0)
            {
                _liveness.FinalReplySent();
            }

            Interlocked.Add(ref _repliesSent, delta);
        }
        else
        {
            if (delta > 0)
            {
                _liveness.MessageSent();
            }

            Interlocked.Add(ref _partialsSent, delta);
        }
    }

    private void DropStaleReply(MdpRequest request, Connection? current)
    {
        Interlocked.Increment(ref _staleReplies);
        WorkerMetrics.StaleReplies.Add(1, _tags);
        WorkerLog.StaleReply(_logger, Options.Service, request.ConnectionId, current?.Id ?? 0);
    }

    private async Task ConnectionLoopAsync()
    {
        var stop = _stop.Token;
        try
        {
            // Bounded by _stop: every pass opens one connection and ends with it.
            while (!stop.IsCancellationRequested)
            {
                var connection = Open(Interlocked.Increment(ref _connections));
                SessionEnd end;
                try
                {
                    end = await ServeAsync(connection, stop).ConfigureAwait(false);
                }
                finally
                {
                    Volatile.Write(ref _connection, null);
                }

                if (end == SessionEnd.Stopping)
                {
                    await CloseAsync(connection, sendDisconnect: true).ConfigureAwait(false);
                    WorkerLog.Stopped(_logger, Options.Service, Options.BrokerEndpoint);
                    break;
                }

                TimeSpan delay = _liveness.ReconnectDelay(end);
                string? lost = null;
                switch (end)
                {
                    case SessionEnd.BrokerSilent:
                        Interlocked.Increment(ref _brokerSilences);
                        WorkerLog.BrokerSilent(_logger, Options.Service, Options.BrokerEndpoint, (Options.Heartbeat * Options.Liveness).TotalMilliseconds, delay.TotalMilliseconds);
                        lost = "silent";
                        break;
                    case SessionEnd.BrokerDisconnected:
                        Interlocked.Increment(ref _brokerDisconnects);
                        WorkerLog.BrokerDisconnected(_logger, Options.Service, Options.BrokerEndpoint, delay.TotalMilliseconds);
                        lost = "disconnected";
                        break;
                    case SessionEnd.ConnectionLost:
                        WorkerLog.ConnectionLost(_logger, Options.Service, Options.BrokerEndpoint, delay.TotalMilliseconds);
                        lost = "connection_lost";
                        break;
                }

                if (lost is not null)
                {
                    Callback.Invoke(Options.OnPeerLost, new PeerLostArguments(Options.BrokerEndpoint, lost, delay), _logger, nameof(Options.OnPeerLost));
                }

                // After a handler failure the broker must hear DISCONNECT to requeue the request; after
                // silence or a DISCONNECT from the broker there is nobody to tell (RFC 7: send nothing more).
                await CloseAsync(connection, sendDisconnect: end == SessionEnd.HandlerFailed).ConfigureAwait(false);
                Interlocked.Increment(ref _reconnects);
                WorkerMetrics.Reconnects.Add(1, _tags);
                if (delay > TimeSpan.Zero)
                {
                    try
                    {
                        await Task.Delay(delay, _time, stop).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }
            }
        }
        catch (Exception ex)
        {
            WorkerLog.LoopFailed(_logger, Options.Service, ex);
            _requests.Writer.TryComplete(ex);
            return;
        }

        _requests.Writer.TryComplete();
    }

    private Connection Open(long id)
    {
        WorkerLog.Connecting(_logger, Options.Service, Options.BrokerEndpoint, _version, id);
        var socket = new DealerSocket(_socketOptions, _loggerFactory, _time);
        var connection = new Connection(id, socket);
        try
        {
            socket.Connect(Options.BrokerEndpoint);
        }
        catch
        {
            socket.Dispose();
            connection.Dispose();
            throw;
        }

        Volatile.Write(ref _connection, connection);
        return connection;
    }

    private async Task<SessionEnd> ServeAsync(Connection connection, CancellationToken stop)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(stop, connection.AbortToken);
        var token = linked.Token;
        _liveness.Connected();

        // A fresh socket queues READY until the TCP connection is up (no wait needed).
        TrySendNow(connection, new WorkerReady(Options.Service), "READY");

        // Heartbeats and the silence check run on a timer of their own, not in this loop: they go on while
        // the handler is busy, and the receive below needs no per-message timeout.
        var pulse = new Pulse(this, connection);
        await using (pulse.ConfigureAwait(false))
        {
            pulse.Arm(_liveness.WaitTimeout);

            // Bounded: ends on DISCONNECT, or when the pulse (silence), a handler failure or shutdown cancels the wait.
            while (true)
            {
                Message? message;
                try
                {
                    message = await connection.Socket.TryReceiveAsync(Timeout.InfiniteTimeSpan, token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return stop.IsCancellationRequested ? SessionEnd.Stopping : connection.AbortReason;
                }

                if (message is not null && Handle(connection, message) is { } end)
                {
                    return end;
                }
            }
        }
    }

    /// <summary>
    /// One tick of a connection's pulse: declares a silent broker dead (ending the connection) or sends a
    /// heartbeat when one is due, then says when to tick next (null: stop).
    /// </summary>
    private TimeSpan? Tick(Connection connection)
    {
        if (_liveness.BrokerDead)
        {
            connection.Abort(SessionEnd.BrokerSilent);
            return null;
        }

        if (_liveness.TryFireHeartbeat() && TrySendNow(connection, WorkerHeartbeat.Instance, "HEARTBEAT"))
        {
            Interlocked.Increment(ref _heartbeatsSent);
        }

        return _liveness.WaitTimeout;
    }

    /// <summary>Acts on one message from the broker; returns how the connection ends, or null to go on.</summary>
    private SessionEnd? Handle(Connection connection, Message message)
    {
        switch (message.PeerEvent)
        {
            case PeerEventKind.Connected:
                return null;
            case PeerEventKind.Disconnected:
                return SessionEnd.ConnectionLost;
        }

        var parsed = MdpCodec.ParseAtWorker(message);
        string? problem = parsed.IsSuccess
            ? parsed.Version == Options.Version ? null : $"{parsed.Version.DisplayName()} command on an {Options.Version.DisplayName()} worker"
            : parsed.Error;
        if (problem is not null)
        {
            // Invalid input is not a sign of life from a broker speaking our protocol: it does not count as a heartbeat.
            Interlocked.Increment(ref _invalidMessages);
            WorkerMetrics.InvalidMessages.Add(1, _tags);
            WorkerLog.InvalidMessage(_logger, Options.Service, problem);
            return null;
        }

        switch (parsed.Command)
        {
            case WorkerRequest request:
                _liveness.Received(provesRegistration: true);
                _liveness.RequestStarted();
                Interlocked.Increment(ref _requestsReceived);
                WorkerMetrics.Requests.Add(1, _tags);
                WorkerLog.RequestReceived(_logger, Options.Service, connection.Id, request.Body.Count);

                _requests.Writer.TryWrite(new MdpRequest(this, connection.Id, request, parsed.Version));
                return null;

            case WorkerHeartbeat:
                _liveness.Received(provesRegistration: true);
                Interlocked.Increment(ref _heartbeatsReceived);
                return null;

            case WorkerDisconnect:
                // DISCONNECT is not a heartbeat: the broker has dropped us.
                return SessionEnd.BrokerDisconnected;

            default:
                // ParseAtWorker yields only the three commands a broker may send.
                return null;
        }
    }

    /// <summary>
    /// Sends a control command if the socket can take it at once. A zero timeout never waits: when the
    /// queue to the broker is full, the broker is not reading, and a heartbeat more or less changes nothing.
    /// </summary>
    private bool TrySendNow(Connection connection, MdpWorkerCommand command, string name)
    {
        bool sent;
        try
        {
            var sending = connection.Socket.TrySendAsync(MdpCodec.BuildFromWorker(command, Options.Version), TimeSpan.Zero);
            sent = sending.IsCompletedSuccessfully && sending.Result;
        }
        catch (ObjectDisposedException)
        {
            // The connection was closed by the loop while the pulse ticked.
            return false;
        }

        if (sent)
        {
            _liveness.MessageSent();
        }
        else
        {
            WorkerLog.SendDropped(_logger, Options.Service, name, 0);
        }

        return sent;
    }

    private async Task CloseAsync(Connection connection, bool sendDisconnect)
    {
        if (sendDisconnect)
        {
            // Lingers up to Socket.Linger so the DISCONNECT reaches a live broker.
            TrySendNow(connection, WorkerDisconnect.Instance, "DISCONNECT");
        }
        else
        {
            // Linger 0: drop whatever is queued for a broker we gave up on (heartbeats, replies), so a
            // broker that comes back never receives it (docs/wire/mdp.md §12).
            connection.Socket.Disconnect(Options.BrokerEndpoint);
        }

        await connection.Socket.DisposeAsync().ConfigureAwait(false);
        connection.Dispose();
    }
}
