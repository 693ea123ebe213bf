using Reliability.Transport.Internal;
using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Reliability.Patterns.Heartbeating;
using Reliability.Patterns.Sessions;
using Reliability.Transport;

namespace Reliability.Patterns.ParanoidPirate;

/// <summary>A handler's run finished: its request's reply (or failure) is ready to go back on connection <paramref name="ConnectionId"/>.</summary>
internal sealed record HandlerDone(long ConnectionId, Message Envelope, Task<Message> Work);

/// <summary>
/// The Paranoid Pirate worker's decisions (docs/wire/ppp.md §8–§11) with no socket I/O: READY on each
/// connection, liveness from the handshake on, HEARTBEAT every interval, the queue declared dead after
/// interval × liveness of silence, requests queued while the handler is busy, replies (or READY after a failed
/// handler) on the connection their request came on, and the back-off between connections. Driven by
/// <see cref="SessionDriver{TCommand}"/>; handlers run on the thread pool and report back through it.
/// </summary>
internal sealed class PirateWorkerCore : ISessionCore<HandlerDone>
{
    private readonly ParanoidPirateWorkerOptions _options;
    private readonly Func<Message, CancellationToken, ValueTask<Message>> _handler;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Backoff _backoff;
    private readonly Queue<Message> _pending = new();
    private readonly Action<HandlerDone> _post;
    private RoutingKey _name;
    private PeerLiveness? _liveness;
    private PauseGuard? _pauses;
    private Task _work = Task.CompletedTask;
    private bool _busy;
    private long _replies;
    private int _sessions;

    /// <param name="options">Validated settings.</param>
    /// <param name="handler">The application's request handler.</param>
    /// <param name="post">Posts a finished handler run back to the session loop.</param>
    /// <param name="timeProvider">Clock for heartbeats, liveness and back-off.</param>
    /// <param name="logger">Where the session's events are logged.</param>
    /// <param name="random">Jitter source for the back-off; <see cref="Random.Shared"/> when null.</param>
    public PirateWorkerCore(
        ParanoidPirateWorkerOptions options,
        Func<Message, CancellationToken, ValueTask<Message>> handler,
        Action<HandlerDone> post,
        TimeProvider timeProvider,
        ILogger logger,
        Random? random)
    {
        _options = options;
        _handler = handler;
        _post = post;
        _time = timeProvider;
        _logger = logger;
        _backoff = options.Heartbeat.CreateBackoff(random);
    }

    /// <summary>Raised with the identity of each new connection, after its READY was queued (for tests).</summary>
    public event Action<ReadOnlyMemory<byte>>? SessionStarted;

    /// <summary>Replies sent so far.</summary>
    public long RepliesSent => Interlocked.Read(ref _replies);

    /// <summary>Connections made so far.</summary>
    public int Sessions => Volatile.Read(ref _sessions);

    /// <summary>The routing identity of the connection being opened (fixed, or fresh and random for each one).</summary>
    public ReadOnlyMemory<byte> Identity { get; private set; }

    public TimeSpan NextDeadlineIn =>
        _liveness is null ? Timeout.InfiniteTimeSpan
        : _pauses!.Deferred ? _options.Heartbeat.Interval
        : _liveness.NextDeadlineIn;

    /// <summary>Chooses the identity of the next connection; called just before its socket is made.</summary>
    public ReadOnlyMemory<byte> NextIdentity()
    {
        Identity = _options.RoutingId.IsEmpty ? PirateProtocol.RandomIdentity() : _options.RoutingId;
        _name = new RoutingKey(Identity);
        return Identity;
    }

    public void OnOpened(ISessionLink link)
    {
        // Liveness starts with the handshake, not with Connect: a worker started before its queue, or waiting
        // for a restarted one, would otherwise declare an absent queue dead again and again while its back-off
        // grows towards the maximum. Until then nothing is sent but READY, queued by the connecting pipe.
        _liveness = null;
        _pauses = null;
        ParanoidPirateLog.WorkerConnecting(_logger, _name, _options.Endpoint);
        Interlocked.Increment(ref _sessions);
        TrySend(link, PirateProtocol.Ready(), "READY");
        SessionStarted?.Invoke(Identity);
    }

    public void OnMessage(ISessionLink link, Message message)
    {
        switch (message.PeerEvent)
        {
            case PeerEventKind.Connected:
                _liveness = new PeerLiveness(_options.Heartbeat, _time);
                _pauses = new PauseGuard(_options.Heartbeat.Interval, _time);
                return;

            case PeerEventKind.Disconnected:
                // The queue knows us by this connection and ignores heartbeats from strangers, so waiting out
                // the liveness would only delay the fresh start that follows anyway.
                ParanoidPirateLog.QueueConnectionLost(_logger, _name, _options.Endpoint);
                link.End(SessionEnd.ConnectionLost);
                return;
        }

        _liveness?.MessageReceived();
        _backoff.Reset();
        Accept(message);
        StartNext(link);
    }

    public void OnTimer(ISessionLink link)
    {
        if (_liveness is null)
        {
            return;
        }

        if (!_pauses!.MayExpire())
        {
            ParanoidPirateLog.LoopPaused(_logger, "worker", _pauses.LastPause.TotalMilliseconds);
        }
        else if (_liveness.IsExpired)
        {
            ParanoidPirateLog.QueueSilent(_logger, _name, _options.Endpoint, _options.Heartbeat.ExpiryTimeout.TotalMilliseconds);
            link.End(SessionEnd.PeerSilent);
            return;
        }

        if (_liveness.Heartbeat.TryFire())
        {
            // Heartbeats go out on the loop's schedule whatever the handler is doing.
            TrySend(link, PirateProtocol.Heartbeat(), "HEARTBEAT");
        }
    }

    public void OnCommand(ISessionLink link, HandlerDone done)
    {
        if (done.ConnectionId != link.Id)
        {
            // The run of an earlier connection (cancelled with it): its client has been given up.
            return;
        }

        _busy = false;
        if (TrySend(link, Complete(done), "reply"))
        {
            _liveness?.MessageSent();
        }

        StartNext(link);
    }

    public SessionClosing OnClosed(SessionEnd end)
    {
        // The handler is cancelled with its connection (ISessionLink.Closing) and waited for before the next
        // connection, so at most one handler runs at a time.
        _pending.Clear();
        _busy = false;
        _liveness = null;
        var handler = _work;
        if (end == SessionEnd.Stopping)
        {
            ParanoidPirateLog.WorkerStopped(_logger, RepliesSent);
            return new SessionClosing(null, TimeSpan.Zero, handler);
        }

        if (end == SessionEnd.HandshakeFailed)
        {
            ParanoidPirateLog.HandshakeFailed(_logger, _name, _options.Endpoint);
        }

        var delay = _backoff.NextDelay();
        PirateMetrics.WorkerReconnects.Add(1);
        ParanoidPirateLog.Reconnecting(_logger, _options.Endpoint, delay.TotalMilliseconds, _backoff.Attempts);
        string? lost = end switch
        {
            SessionEnd.PeerSilent => "silent",
            SessionEnd.ConnectionLost => "connection_lost",
            _ => null,
        };
        if (lost is not null)
        {
            Callback.Invoke(_options.OnPeerLost, new PeerLostArguments(_options.Endpoint, lost, delay), _logger, nameof(_options.OnPeerLost));
        }

        return new SessionClosing(null, delay, handler);
    }

    private void Accept(Message message)
    {
        if (message.Count == 1)
        {
            if (!PirateProtocol.IsCommand(message[0], PirateProtocol.HeartbeatByte))
            {
                Invalid("unknown one-frame command " + PirateProtocol.DescribeFrame(message[0]));
            }

            return;
        }

        if (PirateProtocol.FindDelimiter(message, 0) < 0)
        {
            Invalid($"{message.Count}-frame message without 'address, empty frame, body'");
            return;
        }

        int waiting = _busy ? _pending.Count + 1 : _pending.Count;
        if (waiting > _options.MaxQueuedRequests)
        {
            ParanoidPirateLog.RequestDroppedBusy(_logger, _name, _pending.Count);
            PirateMetrics.WorkerRequests.Add(1, Outcome("dropped"));
            return;
        }

        _pending.Enqueue(message);
    }

    private void StartNext(ISessionLink link)
    {
        if (_busy || !_pending.TryDequeue(out var request))
        {
            return;
        }

        var (envelope, body) = PirateProtocol.Split(request, PirateProtocol.FindDelimiter(request, 0));
        var token = link.Closing;
        long connection = link.Id;
        _busy = true;

        _work = RunHandlerAsync(connection, envelope, body, token);
    }

    /// <summary>Runs the handler on the thread pool (so even one that blocks its thread cannot stall heartbeats) and posts its end back to the loop.</summary>
    private async Task RunHandlerAsync(long connection, Message envelope, Message body, CancellationToken token)
    {
        var work = Task.Run(() => _handler(body, token).AsTask(), token);
        try
        {
            await work.ConfigureAwait(false);
        }
        catch (Exception)
        {
            // Reported by Complete, on the loop, from the task's state.
        }

        _post(new HandlerDone(connection, envelope, work));
    }

    private Message Complete(HandlerDone done)
    {
        if (done.Work.IsCompletedSuccessfully)
        {
            Interlocked.Increment(ref _replies);
            PirateMetrics.WorkerRequests.Add(1, Outcome("ok"));
            return PirateProtocol.BuildReply(done.Envelope, done.Work.Result ?? new Message());
        }

        if (!done.Work.IsCanceled)
        {
            // READY tells the queue we are free again; it decides what happens to the request.
            ParanoidPirateLog.HandlerFailed(_logger, _name, done.Work.Exception!.GetBaseException());
        }

        PirateMetrics.WorkerRequests.Add(1, Outcome("failed"));
        return PirateProtocol.Ready();
    }

    private void Invalid(string problem)
    {
        ParanoidPirateLog.InvalidQueueMessage(_logger, _name, problem);
        PirateMetrics.InvalidMessages.Add(1, PirateMetrics.Queue(PirateMetrics.Paranoid, "source", "queue"));
    }

    private bool TrySend(ISessionLink link, Message message, string what)
    {
        // Never waits: a full queue (1000 messages) only happens while the connection is down, and then
        // liveness ends the session anyway.
        if (link.TrySend(message))
        {
            return true;
        }

        ParanoidPirateLog.WorkerSendFailed(_logger, _name, what);
        return false;
    }

    private static TagList Outcome(string outcome) => new() { { "outcome", outcome } };
}
