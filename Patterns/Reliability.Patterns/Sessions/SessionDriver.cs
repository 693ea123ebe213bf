using System.Threading.Channels;
using Reliability.Transport;

namespace Reliability.Patterns.Sessions;

/// <summary>
/// Runs an <see cref="ISessionCore{TCommand}"/>: opens one socket at a time to a fixed endpoint, feeds the core
/// every input (messages and peer events, timer deadlines, application commands) one at a time from a single
/// loop, performs the sends the core asks for, and when the core ends a connection closes it and opens the
/// next after the delay the core chose (docs/architecture.md, "Session driver").
/// </summary>
/// <remarks>
/// <para>All inputs go through one channel read by one loop, so the core never runs twice at once and never
/// inside its own send: a reply posted by a handler, a message the transport delivered and a timer tick are
/// handled in the order they were posted, whatever thread posted them. The loop may run inline on the
/// thread that posted (the transport's I/O thread for messages), which keeps a request's path free of
/// thread hops; anything that closes a socket first moves to the thread pool.</para>
/// <para>The transport's reconnects (every <see cref="SocketOptions.ReconnectInterval"/>) cover a peer that is
/// not up yet; the session's own reconnects, on a fresh socket, cover a peer that forgot us (a restart,
/// silence, a DISCONNECT), with the delay the core's back-off gives.</para>
/// </remarks>
/// <typeparam name="TCommand">The application's commands to the core.</typeparam>
internal sealed class SessionDriver<TCommand>
{
    private readonly ISessionCore<TCommand> _core;
    private readonly Func<ZmqSocket> _openSocket;
    private readonly string _endpoint;
    private readonly TimeProvider _time;
    private readonly Action<TCommand> _abandon;
    private readonly Channel<Input> _inputs;
    private readonly ITimer _timer;
    private long _timerDueAt = long.MaxValue;
    private long _currentId;

    /// <param name="core">The decisions.</param>
    /// <param name="openSocket">Creates an unconnected socket for the next connection; the driver connects, reads and disposes it.</param>
    /// <param name="endpoint">Where every socket connects.</param>
    /// <param name="timeProvider">Clock for the core's deadlines and the reconnect delays.</param>
    /// <param name="abandon">Called for a command that can no longer reach any connection (posted after the session stopped).</param>
    public SessionDriver(ISessionCore<TCommand> core, Func<ZmqSocket> openSocket, string endpoint, TimeProvider timeProvider, Action<TCommand> abandon)
    {
        _core = core;
        _openSocket = openSocket;
        _endpoint = endpoint;
        _time = timeProvider;
        _abandon = abandon;
        _inputs = Channel.CreateUnbounded<Input>(new UnboundedChannelOptions { SingleReader = true, AllowSynchronousContinuations = true });

        // Created unarmed: it is armed for the core's first deadline once a connection is open.
        _timer = timeProvider.CreateTimer(static s => ((SessionDriver<TCommand>)s!).OnTimerFired(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>The current connection's <see cref="ISessionLink.Id"/>; 0 between connections.</summary>
    public long CurrentId => Volatile.Read(ref _currentId);

    /// <summary>Queues a command for the core; false when the session has stopped (the command was not taken).</summary>
    public bool Post(TCommand command) => _inputs.Writer.TryWrite(Input.ForCommand(command));

    /// <summary>Serves connection after connection until <paramref name="stop"/> is cancelled or the core fails.</summary>
    /// <returns>A task that ends when the last socket is closed; it faults with the core's exception if the core throws.</returns>
    public async Task RunAsync(CancellationToken stop)
    {
        try
        {
            long id = 0;

            // Bounded by stop: every pass is one connection, then the core's reconnect delay.
            while (!stop.IsCancellationRequested)
            {
                var link = new Link(this, ++id, _openSocket());
                SessionEnd end;
                try
                {
                    end = await ServeAsync(link, stop).ConfigureAwait(false);
                }
                catch
                {
                    await CloseAsync(link, farewell: null).ConfigureAwait(false);
                    link.Dispose();
                    throw;
                }

                var closing = _core.OnClosed(end);
                await CloseAsync(link, closing.Farewell).ConfigureAwait(false);
                if (closing.Quiesce is { } quiesce)
                {
                    // The core's own work was cancelled with the connection; its failures are the core's to report.
                    await quiesce.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                }

                // Only now: the cancelled work may still have been looking at the connection's token.
                link.Dispose();

                if (end == SessionEnd.Stopping)
                {
                    break;
                }

                if (closing.ReconnectIn > TimeSpan.Zero)
                {
                    try
                    {
                        await Task.Delay(closing.ReconnectIn, _time, stop).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                }
            }
        }
        finally
        {
            await _timer.DisposeAsync().ConfigureAwait(false);
            _inputs.Writer.TryComplete();
            while (_inputs.Reader.TryRead(out var left))
            {
                if (left.Kind == InputKind.Command)
                {
                    _abandon(left.Command!);
                }
            }
        }
    }

    private async Task<SessionEnd> ServeAsync(Link link, CancellationToken stop)
    {
        link.Socket.EventRaised += link.OnSocketEvent;
        link.Socket.Connect(_endpoint);
        Volatile.Write(ref _currentId, link.Id);
        link.StartPump();
        _core.OnOpened(link);
        await AfterInputAsync(link, stop).ConfigureAwait(false);

        // Bounded: ends when the core (or the transport) ends the connection, or on stop.
        while (link.EndReason is null)
        {
            if (!_inputs.Reader.TryRead(out var input))
            {
                try
                {
                    input = await _inputs.Reader.ReadAsync(stop).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return SessionEnd.Stopping;
                }
            }

            switch (input.Kind)
            {
                case InputKind.Message when input.LinkId == link.Id:
                    _core.OnMessage(link, input.Message!);
                    break;
                case InputKind.Timer:
                    Volatile.Write(ref _timerDueAt, long.MaxValue);
                    _core.OnTimer(link);
                    break;
                case InputKind.Command:
                    _core.OnCommand(link, input.Command!);
                    break;
                case InputKind.SocketFailed when input.LinkId == link.Id:
                    link.End(SessionEnd.HandshakeFailed);
                    break;
                default:
                    // Left over from an earlier connection's socket: that connection is gone.
                    break;
            }

            await AfterInputAsync(link, stop).ConfigureAwait(false);
        }

        return stop.IsCancellationRequested ? SessionEnd.Stopping : link.EndReason.Value;
    }

    /// <summary>Performs the waiting sends the core queued, then arms the timer for its next deadline if that is sooner than the armed one.</summary>
    private async ValueTask AfterInputAsync(Link link, CancellationToken stop)
    {
        while (link.TryTakeWaitingSend(out var send))
        {
            send.Complete(link.EndReason is null ? await link.SendAsync(send, stop).ConfigureAwait(false) : SendOutcome.Closed);
        }

        var dueIn = _core.NextDeadlineIn;
        if (dueIn == Timeout.InfiniteTimeSpan)
        {
            return;
        }

        // A later deadline needs no re-arming: the armed tick comes early, the core finds nothing due and
        // says when to come back. So most inputs cost a clock read, not a timer change.
        long dueAt = _time.GetTimestamp() + Heartbeating.Timestamps.ToUnits(dueIn, _time.TimestampFrequency);
        if (dueAt < Volatile.Read(ref _timerDueAt))
        {
            Volatile.Write(ref _timerDueAt, dueAt);
            _timer.Change(dueIn, Timeout.InfiniteTimeSpan);
        }
    }

    private void OnTimerFired() => _inputs.Writer.TryWrite(Input.ForTimer());

    private async Task CloseAsync(Link link, Message? farewell)
    {
        Volatile.Write(ref _currentId, 0);

        // Off whatever stack the loop runs on (the transport's I/O thread, a handler, the timer) before the
        // socket it may belong to is closed.
        await Task.Yield();
        link.Socket.EventRaised -= link.OnSocketEvent;
        if (farewell is not null)
        {
            // Lingers up to the socket's Linger so the farewell reaches a live peer.
            link.TrySend(farewell);
        }
        else
        {
            // Drops whatever is still queued for a peer we gave up on (heartbeats, READY, replies), so a peer
            // that comes back never receives it (docs/wire/ppp.md §11, docs/wire/mdp.md §12).
            link.Socket.Disconnect(_endpoint);
        }

        await link.Socket.DisposeAsync().ConfigureAwait(false);
        await link.StopPumpAsync().ConfigureAwait(false);
        while (link.TryTakeWaitingSend(out var send))
        {
            send.Complete(SendOutcome.Closed);
        }
    }

    private enum InputKind
    {
        Message,
        Timer,
        Command,
        SocketFailed,
    }

    private readonly record struct Input(InputKind Kind, long LinkId, Message? Message, TCommand? Command)
    {
        public static Input ForMessage(long linkId, Message message) => new(InputKind.Message, linkId, message, default);

        public static Input ForTimer() => new(InputKind.Timer, 0, null, default);

        public static Input ForCommand(TCommand command) => new(InputKind.Command, 0, null, command);

        public static Input ForSocketFailure(long linkId) => new(InputKind.SocketFailed, linkId, null, default);
    }

    private readonly record struct WaitingSend(Message Message, TimeSpan MaxWait, Action<object?, SendOutcome> Done, object? State, CancellationToken CancellationToken)
    {
        public void Complete(SendOutcome outcome) => Done(State, outcome);
    }

    /// <summary>One connection: its socket, the pump that feeds its messages to the loop, and the sends waiting for the loop.</summary>
    private sealed class Link(SessionDriver<TCommand> driver, long id, ZmqSocket socket) : ISessionLink, IDisposable
    {
        private readonly CancellationTokenSource _pumpStop = new();
        private readonly Queue<WaitingSend> _waiting = new();
        private Task _pump = Task.CompletedTask;

        public long Id { get; } = id;

        public ZmqSocket Socket { get; } = socket;

        public SessionEnd? EndReason { get; private set; }

        public CancellationToken Closing => _pumpStop.Token;

        public bool TrySend(Message message)
        {
            try
            {
                var sending = Socket.TrySendAsync(message, TimeSpan.Zero);
                return sending.IsCompletedSuccessfully && sending.Result;
            }
            catch (ObjectDisposedException)
            {
                return false;
            }
        }

        public void SendWaiting(Message message, TimeSpan maxWait, Action<object?, SendOutcome> done, object? state, CancellationToken cancellationToken) =>
            _waiting.Enqueue(new WaitingSend(message, maxWait, done, state, cancellationToken));

        public void End(SessionEnd reason) => EndReason ??= reason;

        public bool TryTakeWaitingSend(out WaitingSend send) => _waiting.TryDequeue(out send);

        public async ValueTask<SendOutcome> SendAsync(WaitingSend send, CancellationToken stop)
        {
            if (TrySend(send.Message))
            {
                return SendOutcome.Sent;
            }

            if (send.MaxWait <= TimeSpan.Zero)
            {
                return SendOutcome.TimedOut;
            }

            using var linked = CancellationTokenSource.CreateLinkedTokenSource(stop, send.CancellationToken);
            try
            {
                return await Socket.TrySendAsync(send.Message, send.MaxWait, linked.Token).ConfigureAwait(false) ? SendOutcome.Sent : SendOutcome.TimedOut;
            }
            catch (OperationCanceledException)
            {
                return send.CancellationToken.IsCancellationRequested ? SendOutcome.Cancelled : SendOutcome.Closed;
            }
            catch (ObjectDisposedException)
            {
                return SendOutcome.Closed;
            }
        }

        public void StartPump() => _pump = PumpAsync();

        public async Task StopPumpAsync()
        {
            await _pumpStop.CancelAsync().ConfigureAwait(false);
            await _pump.ConfigureAwait(false);
        }

        public void Dispose() => _pumpStop.Dispose();

        public void OnSocketEvent(object? sender, SocketEvent e)
        {
            // A protocol error during the handshake stops the transport's own reconnects (libzmq#1043): this
            // socket will never reach the peer, so the session must start afresh.
            if (e.Error is not null)
            {
                driver._inputs.Writer.TryWrite(Input.ForSocketFailure(Id));
            }
        }

        private async Task PumpAsync()
        {
            var token = _pumpStop.Token;
            try
            {
                // Bounded by the socket's life: ends when the connection is closed.
                while (true)
                {
                    var message = await Socket.TryReceiveAsync(Timeout.InfiniteTimeSpan, token).ConfigureAwait(false);
                    if (message is not null)
                    {
                        driver._inputs.Writer.TryWrite(Input.ForMessage(Id, message));
                    }
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or ReliabilityException)
            {
                // The socket was closed: this connection is over.
            }
        }
    }
}
