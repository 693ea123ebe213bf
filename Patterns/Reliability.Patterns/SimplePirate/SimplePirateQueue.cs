using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Reliability.Patterns.Heartbeating;
using Reliability.Patterns.Queueing;
using Reliability.Patterns.Sessions;
using Reliability.Patterns.ParanoidPirate;
using Reliability.Transport;

namespace Reliability.Patterns.SimplePirate;

/// <summary>
/// A Simple Pirate queue (zguide spqueue): a frontend ROUTER for clients, a backend ROUTER for
/// REQ workers, and a least-recently-used list of free workers. The frontend is read only while a
/// worker is free, so requests wait in the clients' own queues rather than in the broker.
/// </summary>
/// <remarks>
/// <para>Wire (docs/wire/ppp.md §3): a worker's READY arrives as <c>[worker-id][""][01]</c> (its REQ
/// adds the delimiter), a reply as <c>[worker-id][""][client-id][""][body…]</c>; a request goes out
/// as <c>[worker-id][""][client-id][""][body…]</c>.</para>
/// <para>There are no heartbeats: a worker that dies while busy is never noticed (the client's
/// retry recovers its request) and a queue restart is invisible to workers. The backend ROUTER is
/// mandatory, so a request addressed to a worker whose connection is gone goes to the next free
/// worker instead of vanishing, and a worker whose connection ends (a peer event) is forgotten. Use
/// <see cref="ParanoidPirateQueue"/> for failure detection.</para>
/// <para>The decisions are a <see cref="SimplePirateCore"/> with no I/O; this type is its driver:
/// the two sockets and one loop.</para>
/// </remarks>
public sealed class SimplePirateQueue : IAsyncDisposable
{
    private const int Batch = 1024;

    private readonly ILogger _logger;
    private readonly PirateQueueSockets _sockets;
    private readonly SimplePirateCore _core;
    private int _workerCount;
    private int _readyCount;

    /// <summary>Creates the queue; nothing is bound until <see cref="Bind"/> or <see cref="RunAsync"/>.</summary>
    /// <param name="options">Settings; <see langword="null"/> for the defaults.</param>
    /// <param name="loggerFactory">Logging; none when <see langword="null"/>.</param>
    /// <param name="timeProvider">Clock for the sockets; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="options"/> is invalid.</exception>
    public SimplePirateQueue(SimplePirateQueueOptions? options = null, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        options ??= new SimplePirateQueueOptions();
        options.Validate();
        Options = options;
        loggerFactory ??= NullLoggerFactory.Instance;
        _logger = loggerFactory.CreateLogger<SimplePirateQueue>();
        _sockets = new PirateQueueSockets(this, options.FrontendEndpoint, options.BackendEndpoint, loggerFactory, timeProvider ?? TimeProvider.System, peerEvents: true);
        _core = new SimplePirateCore(_sockets, _logger, worker => WorkerRegistered?.Invoke(worker));
    }

    /// <summary>The settings in use.</summary>
    public SimplePirateQueueOptions Options { get; }

    /// <summary>The frontend's actual endpoint once bound; otherwise <see langword="null"/>.</summary>
    public string? FrontendEndpoint => _sockets.FrontendEndpoint;

    /// <summary>The backend's actual endpoint once bound; otherwise <see langword="null"/>.</summary>
    public string? BackendEndpoint => _sockets.BackendEndpoint;

    /// <summary>Workers the queue knows, free or busy (a snapshot updated by the queue loop).</summary>
    public int WorkerCount => Volatile.Read(ref _workerCount);

    /// <summary>Free workers (a snapshot updated by the queue loop).</summary>
    public int ReadyWorkerCount => Volatile.Read(ref _readyCount);

    /// <summary>Raised on the queue loop when a new worker registers (for tests).</summary>
    internal event Action<RoutingKey>? WorkerRegistered;

    /// <summary>Binds both endpoints (port 0 picks a free port). Called by <see cref="RunAsync"/> when not done before.</summary>
    /// <exception cref="EndpointException">An endpoint is malformed or in use.</exception>
    public void Bind() => _sockets.Bind();

    /// <summary>Serves until cancelled or disposed, then closes both sockets and returns. Can be called once.</summary>
    /// <exception cref="InvalidOperationException">Already started.</exception>
    /// <exception cref="EndpointException">An endpoint could not be bound.</exception>
    public Task RunAsync(CancellationToken cancellationToken = default) => _sockets.RunOnceAsync(RunCoreAsync, cancellationToken);

    /// <summary>Stops the queue (if running) and closes its sockets.</summary>
    public ValueTask DisposeAsync() => _sockets.DisposeAsync();

    /// <param name="token">Cancelled by the caller's token or by <see cref="DisposeAsync"/>.</param>
    private async Task RunCoreAsync(CancellationToken token)
    {
        SimplePirateLog.QueueStarted(_logger, FrontendEndpoint!, BackendEndpoint!);
        try
        {
            var loop = new ServerLoop(_sockets.Both, new QueueServerCore(_core), Batch, ex => SimplePirateLog.QueueInputFailed(_logger, ex), PublishCounts);
            await loop.RunAsync(token).ConfigureAwait(false);
        }
        finally
        {
            int known = _core.Shutdown();
            Volatile.Write(ref _workerCount, 0);
            Volatile.Write(ref _readyCount, 0);
            await _sockets.CloseAsync().ConfigureAwait(false);
            SimplePirateLog.QueueStopped(_logger, known);
        }
    }

    private void PublishCounts()
    {
        Volatile.Write(ref _workerCount, _core.WorkerCount);
        Volatile.Write(ref _readyCount, _core.ReadyWorkerCount);
    }
}
