using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Reliability.Patterns.Heartbeating;
using Reliability.Transport;

namespace Reliability.Patterns.ParanoidPirate;

/// <summary>
/// A Paranoid Pirate worker (PPP, RFC 6; zguide ppworker): a DEALER that announces itself with
/// READY, answers requests with a handler, heartbeats the queue and reconnects when the queue
/// falls silent. Wire-compatible with the zguide's ppqueue and with <see cref="ParanoidPirateQueue"/>.
/// </summary>
/// <remarks>
/// <para>The handler receives the request body (the frames after the client's envelope) and
/// returns the reply body; the worker puts the envelope back. The handler runs on the thread pool
/// while the worker's loop keeps receiving and heartbeating, so a long request never makes the
/// queue think the worker died (docs/wire/ppp.md §8).</para>
/// <para>Liveness and heartbeats start when the connection's handshake succeeds: until the queue
/// is reachable the worker only waits (the transport retries the connection every 100 ms), so a
/// worker started before its queue, or waiting for a restarted one, joins it as soon as it is up.
/// Once connected, when nothing has arrived from the queue for interval × liveness, the worker closes its
/// socket without lingering (queued heartbeats and READYs are discarded, docs/wire/ppp.md §11), waits
/// (<see cref="ReconnectBackoff"/>: doubling, reset by any message from the queue), and connects
/// a fresh socket that sends READY. A request being handled at that moment is cancelled: its reply
/// could no longer reach the client.</para>
/// <para>The handler should be asynchronous: one that blocks its thread for a long time takes a
/// thread-pool thread away from the loop and the transport, and on a small pool (two cores means
/// two threads before the pool grows, about twice a second) that can delay heartbeats past the
/// queue's expiry.</para>
/// <para>If the handler throws, the worker sends READY again instead of a reply, so the queue
/// knows it is free (our queue then requeues or drops the request; the client's retry recovers it).
/// The handler should honour its cancellation token: shutdown and reconnects wait for it.</para>
/// </remarks>
public sealed class ParanoidPirateWorker
{
    private readonly Func<Message, CancellationToken, ValueTask<Message>> _handler;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Random? _random;
    private long _replies;
    private int _sessions;
    private int _started;

    /// <summary>Creates a worker; nothing connects until <see cref="RunAsync"/>.</summary>
    /// <param name="handler">Turns a request body into a reply body; should honour the token.</param>
    /// <param name="options">Settings; <see langword="null"/> for the defaults.</param>
    /// <param name="loggerFactory">Logging; none when <see langword="null"/>.</param>
    /// <param name="timeProvider">Clock for heartbeats, liveness and back-off; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="options"/> is invalid.</exception>
    public ParanoidPirateWorker(
        Func<Message, CancellationToken, ValueTask<Message>> handler,
        ParanoidPirateWorkerOptions? options = null,
        ILoggerFactory? loggerFactory = null,
        TimeProvider? timeProvider = null)
        : this(handler, options, loggerFactory, timeProvider, null)
    {
    }

    internal ParanoidPirateWorker(
        Func<Message, CancellationToken, ValueTask<Message>> handler,
        ParanoidPirateWorkerOptions? options,
        ILoggerFactory? loggerFactory,
        TimeProvider? timeProvider,
        Random? random)
    {
        ArgumentNullException.ThrowIfNull(handler);
        options ??= new ParanoidPirateWorkerOptions();
        options.Validate();
        Options = options;
        _handler = handler;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger<ParanoidPirateWorker>();
        _time = timeProvider ?? TimeProvider.System;
        _random = random;
    }

    /// <summary>The settings in use.</summary>
    public ParanoidPirateWorkerOptions Options { get; }

    /// <summary>Replies sent so far.</summary>
    public long RepliesSent => Interlocked.Read(ref _replies);

    /// <summary>Connections made so far (1 + reconnects after the queue fell silent).</summary>
    public int Sessions => Volatile.Read(ref _sessions);

    /// <summary>Raised with the identity of each new connection, after its READY was queued (for tests).</summary>
    internal event Action<ReadOnlyMemory<byte>>? SessionStarted;

    /// <summary>
    /// Serves until <paramref name="cancellationToken"/> is cancelled, reconnecting as often as needed,
    /// then closes its socket and returns. Can be called once.
    /// </summary>
    /// <exception cref="InvalidOperationException">Already started.</exception>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("The worker is already running or has run.");
        }

        var backoff = new ReconnectBackoff(Options.Heartbeat, _random);
        try
        {
            // Bounded by cancellation: every pass is one connection, then a back-off wait.
            while (!cancellationToken.IsCancellationRequested)
            {
                string? lost = await RunSessionAsync(backoff, cancellationToken).ConfigureAwait(false);
                if (cancellationToken.IsCancellationRequested)
                {
                    break;
                }

                var delay = backoff.NextDelay();
                PirateMetrics.WorkerReconnects.Add(1);
                ParanoidPirateLog.Reconnecting(_logger, Options.Endpoint, delay.TotalMilliseconds, backoff.Attempts);
                if (lost is not null)
                {
                    Callback.Invoke(Options.OnPeerLost, new PeerLostArguments(Options.Endpoint, lost, delay), _logger, nameof(Options.OnPeerLost));
                }
                await Task.Delay(delay, _time, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Normal shutdown.
        }

        ParanoidPirateLog.WorkerStopped(_logger, RepliesSent);
    }

    /// <summary>One connection to the queue, from Connect to its end; returns why the queue was given up (null: it never answered, or the socket ended).</summary>
    private async Task<string?> RunSessionAsync(ReconnectBackoff backoff, CancellationToken cancellationToken)
    {
        var identity = Options.RoutingId.IsEmpty ? PirateProtocol.RandomIdentity() : Options.RoutingId;
        var name = new PeerName(identity);

        // A fresh socket per connection, closed without linger: nothing queued for a dead queue
        // (heartbeats, READY, a reply) is ever flushed into the next one (docs/wire/ppp.md §11).
        var socket = new DealerSocket(new SocketOptions { RoutingId = identity, Linger = TimeSpan.Zero }, _loggerFactory, _time);
        using var session = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var pending = new Queue<Message>();
        Task<Message>? receive = null;
        Task<Message>? work = null;
        Message? workEnvelope = null;
        // Liveness starts with the connection, not with Connect: a worker started before its queue,
        // or waiting for a restarted one, would otherwise declare an absent queue dead again and
        // again while its back-off grows towards the maximum. Until then nothing is sent but READY.
        var handshake = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);

        // A lost connection (queue restarted, connection reset) also lost our registration: the queue
        // knows us by this connection and ignores heartbeats from strangers, so waiting out the liveness
        // would only delay the fresh start that follows anyway.
        var connectionLost = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        socket.EventRaised += (_, e) =>
        {
            if (e.Kind == SocketEventKind.HandshakeSucceeded)
            {
                handshake.TrySetResult(true);
            }
            else if (e.Kind == SocketEventKind.Disconnected)
            {
                connectionLost.TrySetResult();
            }
            else if (e.Error is not null)
            {
                // A protocol error stops the transport from reconnecting (libzmq#1043): start afresh after back-off.
                handshake.TrySetResult(false);
            }
        };

        try
        {
            ParanoidPirateLog.WorkerConnecting(_logger, name, Options.Endpoint);
            socket.Connect(Options.Endpoint);
            Interlocked.Increment(ref _sessions);

            // The connecting pipe exists from Connect on, so READY is queued even before the TCP connection is up.
            TrySend(socket, PirateProtocol.Ready(), name, "READY");
            SessionStarted?.Invoke(identity);
            if (!await handshake.Task.WaitAsync(cancellationToken).ConfigureAwait(false))
            {
                ParanoidPirateLog.HandshakeFailed(_logger, name, Options.Endpoint);
                return null;
            }

            var liveness = new PeerLiveness(Options.Heartbeat, _time);
            var pauses = new PauseGuard(Options.Heartbeat.Interval, _time);
            receive = socket.ReceiveAsync(session.Token).AsTask();

            // Bounded by the queue's liveness: without inbound traffic the session ends after the expiry timeout.
            while (true)
            {
                if (receive.IsCompleted)
                {
                    if (!receive.IsCompletedSuccessfully)
                    {
                        return null;
                    }

                    var message = receive.Result;
                    receive = socket.ReceiveAsync(session.Token).AsTask();
                    liveness.MessageReceived();
                    backoff.Reset();
                    HandleQueueMessage(message, name, pending, work is not null);
                }

                if (work is { IsCompleted: true })
                {
                    var reply = await CompleteWorkAsync(work, workEnvelope!, name).ConfigureAwait(false);
                    work = null;
                    workEnvelope = null;
                    if (TrySend(socket, reply, name, "reply"))
                    {
                        liveness.MessageSent();
                    }
                }

                if (work is null && pending.Count > 0)
                {
                    (workEnvelope, work) = StartWork(pending.Dequeue(), session.Token);
                }

                if (connectionLost.Task.IsCompleted)
                {
                    ParanoidPirateLog.QueueConnectionLost(_logger, name, Options.Endpoint);
                    return "connection_lost";
                }

                if (!pauses.MayExpire())
                {
                    ParanoidPirateLog.LoopPaused(_logger, "worker", pauses.LastPause.TotalMilliseconds);
                }
                else if (liveness.IsExpired)
                {
                    ParanoidPirateLog.QueueSilent(_logger, name, Options.Endpoint, Options.Heartbeat.ExpiryTimeout.TotalMilliseconds);
                    return "silent";
                }

                if (liveness.Heartbeat.TryFire())
                {
                    // Heartbeats go out on this loop's schedule whatever the handler is doing.
                    TrySend(socket, PirateProtocol.Heartbeat(), name, "HEARTBEAT");
                }

                if (receive.IsCompleted || work is { IsCompleted: true })
                {
                    continue;
                }

                using var wake = CancellationTokenSource.CreateLinkedTokenSource(session.Token);
                var deadline = Task.Delay(pauses.Deferred ? Options.Heartbeat.Interval : liveness.NextDeadlineIn, _time, wake.Token);
                await Task.WhenAny(receive, work ?? deadline, deadline, connectionLost.Task).ConfigureAwait(false);
                await wake.CancelAsync().ConfigureAwait(false);
                cancellationToken.ThrowIfCancellationRequested();
            }
        }
        finally
        {
            await session.CancelAsync().ConfigureAwait(false);
            await socket.DisposeAsync().ConfigureAwait(false);
            await Observe(receive).ConfigureAwait(false);

            // The handler was cancelled; wait for it so at most one runs at a time.
            await Observe(work).ConfigureAwait(false);
        }
    }

    private void HandleQueueMessage(Message message, PeerName name, Queue<Message> pending, bool busy)
    {
        if (message.Count == 1)
        {
            if (!PirateProtocol.IsCommand(message[0], PirateProtocol.HeartbeatByte))
            {
                Invalid(name, "unknown one-frame command " + PirateProtocol.DescribeFrame(message[0]));
            }

            return;
        }

        if (PirateProtocol.FindDelimiter(message, 0) < 0)
        {
            Invalid(name, $"{message.Count}-frame message without 'address, empty frame, body'");
            return;
        }

        int waiting = busy ? pending.Count + 1 : pending.Count;
        if (waiting > Options.MaxQueuedRequests)
        {
            ParanoidPirateLog.RequestDroppedBusy(_logger, name, pending.Count);
            PirateMetrics.WorkerRequests.Add(1, new System.Diagnostics.TagList { { "outcome", "dropped" } });
            return;
        }

        pending.Enqueue(message);
    }

    private void Invalid(PeerName name, string problem)
    {
        ParanoidPirateLog.InvalidQueueMessage(_logger, name, problem);
        PirateMetrics.InvalidMessages.Add(1, PirateMetrics.Queue(PirateMetrics.Paranoid, "source", "queue"));
    }

    private (Message Envelope, Task<Message> Work) StartWork(Message request, CancellationToken token)
    {
        var (envelope, body) = PirateProtocol.Split(request, PirateProtocol.FindDelimiter(request, 0));

        // On the thread pool, so even a handler that blocks its thread cannot stall heartbeats.
        var work = Task.Run(() => _handler(body, token).AsTask(), token);
        return (envelope, work);
    }

    private async Task<Message> CompleteWorkAsync(Task<Message> work, Message envelope, PeerName name)
    {
        try
        {
            var result = await work.ConfigureAwait(false);
            Interlocked.Increment(ref _replies);
            PirateMetrics.WorkerRequests.Add(1, new System.Diagnostics.TagList { { "outcome", "ok" } });
            return PirateProtocol.BuildReply(envelope, result ?? new Message());
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !work.IsCanceled)
        {
            // READY tells the queue we are free again; it decides what happens to the request.
            ParanoidPirateLog.HandlerFailed(_logger, name, ex);
            PirateMetrics.WorkerRequests.Add(1, new System.Diagnostics.TagList { { "outcome", "failed" } });
            return PirateProtocol.Ready();
        }
        catch (OperationCanceledException)
        {
            PirateMetrics.WorkerRequests.Add(1, new System.Diagnostics.TagList { { "outcome", "failed" } });
            return PirateProtocol.Ready();
        }
    }

    private bool TrySend(ZmqSocket socket, Message message, PeerName name, string what)
    {
        // Zero timeout: the loop never blocks. A full queue (1000 messages) only happens while the
        // connection is down, and then liveness ends the session anyway.
        var sent = socket.TrySendAsync(message, TimeSpan.Zero);
        if (sent.IsCompletedSuccessfully && sent.Result)
        {
            return true;
        }

        ParanoidPirateLog.WorkerSendFailed(_logger, name, what);
        return false;
    }

    private static async Task Observe(Task? task)
    {
        if (task is null)
        {
            return;
        }

        try
        {
            await task.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or ReliabilityException)
        {
            // Expected at session end: the receive and the handler were cancelled.
        }
        catch (Exception)
        {
            // A handler failure after cancellation has no one to report to but the log, which the
            // normal path already covers; the session is over either way.
        }
    }
}
