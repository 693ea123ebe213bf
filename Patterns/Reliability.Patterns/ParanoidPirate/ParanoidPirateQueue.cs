using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Reliability.Patterns.Heartbeating;
using Reliability.Patterns.Queueing;
using Reliability.Patterns.Sessions;
using Reliability.Transport;

namespace Reliability.Patterns.ParanoidPirate;

/// <summary>Something the queue did, for tests that wait on it instead of sleeping.</summary>
internal enum QueueEventKind
{
    WorkerRegistered,
    WorkerExpired,
    WorkerUnreachable,
    RequestDispatched,
    RequestRequeued,
    RequestAbandoned,
    ReplyRouted,
    ReplyDropped,
    InvalidMessage,
}

/// <summary>
/// A Paranoid Pirate queue (PPP, RFC 6; zguide ppqueue): clients connect REQ (or DEALER with an
/// empty delimiter) sockets to the frontend ROUTER, workers connect DEALER sockets to the backend
/// ROUTER, announce themselves with READY (<c>01</c>) and exchange HEARTBEAT (<c>02</c>) with the queue.
/// </summary>
/// <remarks>
/// <para>Unlike the zguide's ppqueue, the queue keeps an explicit per-worker state (ready or busy),
/// so a heartbeat never makes a busy worker look free and no worker ever gets a second request
/// while it holds one; it heartbeats busy workers too and purges every worker whose deadline
/// passed, wherever it sits.</para>
/// <para>A request whose worker dies (expires, disconnects, or restarts and says READY again) is
/// requeued ahead of new requests, at most <see cref="ParanoidPirateQueueOptions.MaxRequeues"/>
/// times and only while younger than <see cref="ParanoidPirateQueueOptions.RequeueMaxAge"/>;
/// otherwise it is dropped with a log entry and a metric, and the client's own retry recovers it.
/// A late reply from a worker that was given up is dropped, so a client never gets two answers.</para>
/// <para>Messages that are not PPP (unknown one-frame commands, garbage) are logged, counted and
/// ignored; the queue keeps serving. Heartbeats from unknown workers are ignored: PPP requires
/// READY first, and a worker that hears nothing reconnects and sends it.</para>
/// <para>The decisions are a <see cref="PirateQueueCore"/> with no I/O; this type is its driver:
/// the two sockets (peer events on, so a worker's lost connection arrives in order with its
/// messages), one loop and the timer.</para>
/// </remarks>
public sealed class ParanoidPirateQueue : IAsyncDisposable
{
    private const int Batch = 1024;

    private readonly ILogger _logger;
    private readonly PirateQueueSockets _sockets;
    private readonly PirateQueueCore _core;
    private int _workerCount;
    private int _readyCount;

    /// <summary>Creates the queue; nothing is bound until <see cref="Bind"/> or <see cref="RunAsync"/>.</summary>
    /// <param name="options">Settings; <see langword="null"/> for the defaults.</param>
    /// <param name="loggerFactory">Logging; none when <see langword="null"/>.</param>
    /// <param name="timeProvider">Clock for heartbeats and deadlines; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="options"/> is invalid.</exception>
    public ParanoidPirateQueue(ParanoidPirateQueueOptions? options = null, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        options ??= new ParanoidPirateQueueOptions();
        options.Validate();
        Options = options;
        loggerFactory ??= NullLoggerFactory.Instance;
        _logger = loggerFactory.CreateLogger<ParanoidPirateQueue>();
        var time = timeProvider ?? TimeProvider.System;
        _sockets = new PirateQueueSockets(this, options.FrontendEndpoint, options.BackendEndpoint, loggerFactory, time, peerEvents: true);
        _core = new PirateQueueCore(options, _sockets, time, _logger, (kind, key) => Observed?.Invoke(kind, key));
    }

    /// <summary>The settings in use.</summary>
    public ParanoidPirateQueueOptions Options { get; }

    /// <summary>The frontend's actual endpoint (with the real port) once bound; otherwise <see langword="null"/>.</summary>
    public string? FrontendEndpoint => _sockets.FrontendEndpoint;

    /// <summary>The backend's actual endpoint (with the real port) once bound; otherwise <see langword="null"/>.</summary>
    public string? BackendEndpoint => _sockets.BackendEndpoint;

    /// <summary>Workers the queue knows, ready or busy (a snapshot updated by the queue loop).</summary>
    public int WorkerCount => Volatile.Read(ref _workerCount);

    /// <summary>Workers free to take a request (a snapshot updated by the queue loop).</summary>
    public int ReadyWorkerCount => Volatile.Read(ref _readyCount);

    /// <summary>Raised on the queue loop after each decision; tests wait on it rather than sleeping.</summary>
    internal event Action<QueueEventKind, RoutingKey>? Observed;

    /// <summary>
    /// Binds the frontend and backend endpoints (port 0 picks a free port; see
    /// <see cref="FrontendEndpoint"/>). Called by <see cref="RunAsync"/> when not done before.
    /// </summary>
    /// <exception cref="EndpointException">An endpoint is malformed or in use.</exception>
    public void Bind() => _sockets.Bind();

    /// <summary>
    /// Serves until <paramref name="cancellationToken"/> is cancelled or the queue is disposed, then
    /// closes both sockets and returns. Can be called once.
    /// </summary>
    /// <exception cref="InvalidOperationException">Already started.</exception>
    /// <exception cref="EndpointException">An endpoint could not be bound.</exception>
    public Task RunAsync(CancellationToken cancellationToken = default) => _sockets.RunOnceAsync(RunCoreAsync, cancellationToken);

    /// <summary>Stops the queue (if running) and closes its sockets.</summary>
    public ValueTask DisposeAsync() => _sockets.DisposeAsync();

    /// <param name="token">Cancelled by the caller's token or by <see cref="DisposeAsync"/>.</param>
    private async Task RunCoreAsync(CancellationToken token)
    {
        ParanoidPirateLog.QueueStarted(_logger, FrontendEndpoint!, BackendEndpoint!, Options.Heartbeat.Interval.TotalMilliseconds, Options.Heartbeat.Liveness);
        try
        {
            var loop = new ServerLoop(_sockets.Both, new QueueServerCore(_core), Batch, ex => ParanoidPirateLog.QueueInputFailed(_logger, ex), PublishCounts);
            await loop.RunAsync(token).ConfigureAwait(false);
        }
        finally
        {
            int known = _core.Shutdown();
            PublishCounts();
            await _sockets.CloseAsync().ConfigureAwait(false);
            ParanoidPirateLog.QueueStopped(_logger, known);
        }
    }

    private void PublishCounts()
    {
        Volatile.Write(ref _workerCount, _core.WorkerCount);
        Volatile.Write(ref _readyCount, _core.ReadyWorkerCount);
    }
}
