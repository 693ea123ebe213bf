using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Reliability.Patterns.Heartbeating;
using Reliability.Patterns.Queueing;
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
/// worker instead of vanishing. Use <see cref="ParanoidPirateQueue"/> for failure detection.</para>
/// </remarks>
public sealed class SimplePirateQueue : IAsyncDisposable
{
    private const int Batch = 1024;

    private readonly ILogger _logger;
    private readonly PirateQueueSockets _sockets;
    private readonly RouterSocket _frontend;
    private readonly RouterSocket _backend;
    private readonly SimplePirateWorkerList _workers = new();
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
        _sockets = new PirateQueueSockets(this, options.FrontendEndpoint, options.BackendEndpoint, loggerFactory, timeProvider ?? TimeProvider.System);
        _frontend = _sockets.Frontend;
        _backend = _sockets.Backend;
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
            // Bounded by cancellation; each pass waits until a socket has input.
            while (!token.IsCancellationRequested)
            {
                await Poller.WaitAnyAsync(_workers.ReadyCount > 0 ? _sockets.Both : _sockets.BackendOnly, Timeout.InfiniteTimeSpan, token).ConfigureAwait(false);
                await DrainBackendAsync().ConfigureAwait(false);
                await DrainFrontendAsync().ConfigureAwait(false);
                Volatile.Write(ref _workerCount, _workers.Count);
                Volatile.Write(ref _readyCount, _workers.ReadyCount);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Normal shutdown.
        }
        catch (ObjectDisposedException) when (token.IsCancellationRequested)
        {
            // A socket closed under the loop during shutdown.
        }
        finally
        {
            int known = _workers.Clear();
            PirateMetrics.WorkersAlive.Add(-known, PirateMetrics.Queue(PirateMetrics.Simple));
            Volatile.Write(ref _workerCount, 0);
            Volatile.Write(ref _readyCount, 0);
            await _sockets.CloseAsync().ConfigureAwait(false);
            SimplePirateLog.QueueStopped(_logger, known);
        }
    }

    private async ValueTask DrainBackendAsync()
    {
        for (int i = 0; i < Batch; i++)
        {
            var message = await _backend.TryReceiveAsync(TimeSpan.Zero).ConfigureAwait(false);
            if (message is null)
            {
                return;
            }

            HandleWorkerMessage(message);
        }
    }

    private void HandleWorkerMessage(Message message)
    {
        var worker = new RoutingKey(message[0]);
        string? problem = "missing the empty frame a REQ worker puts first";
        var command = message.Count >= 3 && message[1].IsEmpty ? PirateProtocol.Classify(message, 2, out problem) : WorkerCommand.Invalid;
        switch (command)
        {
            case WorkerCommand.Ready:
                MarkReady(worker);
                break;

            case WorkerCommand.Reply:
                // Any reply frees its worker, even one this queue did not know (it restarted under a busy worker).
                MarkReady(worker);
                message.RemoveFront(2);
                RouteReply(message);
                break;

            default:
                SimplePirateLog.InvalidWorkerMessage(_logger, worker, problem ?? "not a READY or a reply");
                PirateMetrics.InvalidMessages.Add(1, PirateMetrics.Queue(PirateMetrics.Simple, "source", "worker"));
                break;
        }
    }

    private void MarkReady(RoutingKey worker)
    {
        if (_workers.MarkReady(worker))
        {
            PirateMetrics.WorkersAlive.Add(1, PirateMetrics.Queue(PirateMetrics.Simple));
            SimplePirateLog.WorkerRegistered(_logger, worker, _workers.Count);
            WorkerRegistered?.Invoke(worker);
        }
    }

    private void RouteReply(Message reply)
    {
        var client = reply[0];
        var result = _sockets.TrySend(reply);
        if (result == PeerSendResult.Sent)
        {
            PirateMetrics.RepliesRouted.Add(1, PirateMetrics.Queue(PirateMetrics.Simple));
            return;
        }

        // The Simple Pirate queue stays the zguide's minimal one: a client that does not read loses replies.
        string reason = result == PeerSendResult.Unreachable ? "client_gone" : "client_queue_full";
        SimplePirateLog.ReplyDropped(_logger, new RoutingKey(client), reason);
        PirateMetrics.RepliesDropped.Add(1, PirateMetrics.Queue(PirateMetrics.Simple, "reason", reason));
    }

    private async ValueTask DrainFrontendAsync()
    {
        for (int i = 0; i < Batch && _workers.ReadyCount > 0; i++)
        {
            var message = await _frontend.TryReceiveAsync(TimeSpan.Zero).ConfigureAwait(false);
            if (message is null)
            {
                return;
            }

            if (PirateProtocol.FindDelimiter(message, 0) < 0)
            {
                SimplePirateLog.InvalidClientRequest(_logger, new RoutingKey(message[0]), message.Count - 1);
                PirateMetrics.InvalidMessages.Add(1, PirateMetrics.Queue(PirateMetrics.Simple, "source", "client"));
                continue;
            }

            Dispatch(message);
        }
    }

    private void Dispatch(Message request)
    {
        // Bounded: each failed attempt removes a worker from the free list.
        while (_workers.TryTakeReady(out var worker))
        {
            var outgoing = new Message(request.Count + 2).Append(worker.Memory).AppendEmpty();
            foreach (var frame in request)
            {
                outgoing.Append(frame);
            }

            bool sent;
            try
            {
                var pending = _backend.TrySendAsync(outgoing, TimeSpan.Zero);
                sent = pending.IsCompletedSuccessfully && pending.Result;
            }
            catch (HostUnreachableException)
            {
                sent = false;
            }

            if (sent)
            {
                PirateMetrics.RequestsRouted.Add(1, PirateMetrics.Queue(PirateMetrics.Simple));
                if (_logger.IsEnabled(LogLevel.Debug))
                {
                    SimplePirateLog.RequestDispatched(_logger, new RoutingKey(request[0]), worker);
                }

                return;
            }

            _workers.Remove(worker);
            PirateMetrics.WorkersAlive.Add(-1, PirateMetrics.Queue(PirateMetrics.Simple));
            PirateMetrics.WorkersExpired.Add(1, PirateMetrics.Queue(PirateMetrics.Simple, "reason", "unreachable"));
            SimplePirateLog.WorkerUnreachable(_logger, worker);
        }

        // Every free worker turned out to be gone: the request is dropped and the client's retry recovers it.
        PirateMetrics.RequestsAbandoned.Add(1, PirateMetrics.Queue(PirateMetrics.Simple, "reason", "no_worker"));
        SimplePirateLog.ReplyDropped(_logger, new RoutingKey(request[0]), "every free worker was unreachable; request dropped");
    }
}
