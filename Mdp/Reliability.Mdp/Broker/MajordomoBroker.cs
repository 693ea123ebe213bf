using Reliability.Patterns.Queueing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Reliability.Patterns.BinaryStar;
using Reliability.Patterns.Heartbeating;
using Reliability.Patterns.Sessions;
using Reliability.Transport;

namespace Reliability.Mdp.Broker;

/// <summary>
/// A Majordomo broker (MDP/0.1 and MDP/0.2 side by side, RFC 7 and RFC 18, with MMI, RFC 8) on one
/// ROUTER socket shared by clients and workers.
/// </summary>
/// <remarks>
/// <para>Services are created on demand and forgotten when they have neither workers nor queued requests.
/// Each service dispatches to its least recently used idle worker and serves its clients round-robin.
/// Workers are expired after <see cref="BrokerOptions.WorkerExpiry"/> of silence whether idle or busy, and
/// removed at once when their connection ends (a peer event in the socket's receive stream), as are the queued requests of a
/// client whose connection ends; a request whose worker is lost is requeued up to <see cref="BrokerOptions.MaxRequeues"/> times. Invalid
/// messages are logged, counted and dropped; the broker keeps serving.</para>
/// <para>Besides <c>mmi.service</c> (200/404), the broker answers <see cref="WorkersService"/> and
/// <see cref="ServicesService"/>; any other <c>mmi.*</c> service gets 501.</para>
/// <para>Metrics are published on a <c>Reliability.Mdp</c> meter (created through <see cref="BrokerOptions.MeterFactory"/> when set).</para>
/// </remarks>
public sealed partial class MajordomoBroker : IAsyncDisposable
{
    /// <summary>
    /// MMI extension: body = a service name (optional); reply = "200" and the number of live workers of
    /// that service (of all services when the body is empty), as decimal text.
    /// </summary>
    public const string WorkersService = "mmi.workers";

    /// <summary>MMI extension: reply = "200" followed by one frame per service that has live workers, in ordinal order.</summary>
    public const string ServicesService = "mmi.services";

    // Messages handled per wake-up before the timers are looked at again, so a flood cannot delay expiry.
    private const int MaxBatch = 256;

    private readonly RouterSocket _socket;
    private readonly BrokerCore _core;
    private readonly BrokerMetrics _metrics;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly List<string> _bound = [];
    private readonly CancellationTokenSource _stop = new();
    private readonly object _gate = new();
    private readonly BinaryStarNode? _node;
    private Task? _run;
    private bool _disposed;

    /// <summary>Creates a broker; nothing is bound until <see cref="Bind"/> or <see cref="RunAsync"/>.</summary>
    /// <param name="options">Settings; <see cref="BrokerOptions.Default"/> when null. Validated here.</param>
    /// <param name="loggerFactory">Logging; none when null.</param>
    /// <param name="timeProvider">Clock for heartbeats and expiry; <see cref="TimeProvider.System"/> when null.</param>
    /// <exception cref="ArgumentException">The options are invalid (all problems are listed).</exception>
    public MajordomoBroker(BrokerOptions? options = null, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        options ??= BrokerOptions.Default;
        options.Validate();
        Options = options;
        loggerFactory ??= NullLoggerFactory.Instance;
        _logger = loggerFactory.CreateLogger("Reliability.Mdp.Broker");
        _time = timeProvider ?? TimeProvider.System;
        _metrics = new BrokerMetrics(options.MeterFactory);

        // ROUTER_MANDATORY: a send to a vanished peer fails at once instead of vanishing silently
        // (docs/wire/mdp.md §13). Handover: a worker restarted with a fixed identity is not locked out (same section).
        var socketOptions = new SocketOptions
        {
            RouterMandatory = true,
            RouterHandover = true,
            Linger = options.ShutdownTimeout,

            // The broker loop never blocks: it runs on the I/O thread that delivered the message.
            InlineReceiveContinuations = true,

            // A peer's end arrives after everything it sent: a worker's last REPLY is handled before
            // the worker is removed, with no second channel to merge.
            ReceivePeerEvents = true,

            // What a peer on the broker's port can make it hold (docs/security-limits.md).
            MaxMessageSize = options.MaxMessageSize,
            HandshakeTimeout = options.HandshakeTimeout,
            MaxConnections = options.MaxConnections,
            MaxPendingHandshakes = options.MaxPendingHandshakes,
            SendHighWaterMarkBytes = options.PeerSendBytes,
        };
        socketOptions = options.Security?.Apply(socketOptions) ?? socketOptions;
        _socket = new RouterSocket(socketOptions, loggerFactory, _time);
        _node = options.BinaryStar is { } pair ? new BinaryStarNode(pair, loggerFactory, _time) : null;
        _core = new BrokerCore(options, new SocketSender(_socket), _time, _logger, _metrics) { ClientRequestVote = _node is null ? null : _node.AllowClientRequest };
    }

    /// <summary>The settings in use.</summary>
    public BrokerOptions Options { get; }

    /// <summary>This broker's instruments (tests listen to exactly their own broker's meter).</summary>
    internal BrokerMetrics Metrics => _metrics;

    /// <summary>The endpoints bound so far, with actual addresses and ports (e.g. <c>tcp://0.0.0.0:5555</c>).</summary>
    public IReadOnlyList<string> BoundEndpoints
    {
        get
        {
            lock (_gate)
            {
                return [.. _bound];
            }
        }
    }

    /// <summary>
    /// Binds every endpoint of <see cref="BrokerOptions.Endpoints"/> that is not bound yet and returns the
    /// bound endpoints. Call it before <see cref="RunAsync"/> to learn about a busy port before running.
    /// </summary>
    /// <exception cref="EndpointException">An endpoint is malformed or cannot be bound (e.g. address in use).</exception>
    public IReadOnlyList<string> Bind()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            for (int i = _bound.Count; i < Options.Endpoints.Count; i++)
            {
                string bound = _socket.Bind(Options.Endpoints[i]);
                _bound.Add(bound);
                BrokerLog.Listening(_logger, bound);
            }

            _node?.Bind();
            return [.. _bound];
        }
    }

    /// <summary>
    /// Runs the broker until <paramref name="cancellationToken"/> is cancelled (or the broker is
    /// disposed), binding first if <see cref="Bind"/> was not called. On the way out it sends
    /// DISCONNECT to every worker and closes the socket within <see cref="BrokerOptions.ShutdownTimeout"/>.
    /// Completes normally after a graceful stop. Can run once.
    /// </summary>
    /// <exception cref="EndpointException">An endpoint (or the Binary Star state endpoint) cannot be bound.</exception>
    /// <exception cref="InvalidOperationException">The broker already ran.</exception>
    /// <exception cref="SplitBrainException">(From the task) one of a Binary Star pair found its peer in its own state, and stopped.</exception>
    public Task RunAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_run is not null)
            {
                throw new InvalidOperationException("The broker can run only once.");
            }

            Bind();

            _run = _node is null ? RunLoopOnPoolAsync(cancellationToken) : RunPairedAsync(_node, cancellationToken);
            return _run;
        }
    }

    /// <summary>Stops the broker (as cancelling <see cref="RunAsync"/> does) and releases the socket.</summary>
    public async ValueTask DisposeAsync()
    {
        Task? run;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            run = _run;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        if (run is not null)
        {
            try
            {
                await run.ConfigureAwait(false);
            }
            catch (SplitBrainException)
            {
                // Reported to whoever awaited RunAsync.
            }
        }
        else
        {
            await _socket.DisposeAsync().ConfigureAwait(false);
        }

        if (_node is not null)
        {
            await _node.DisposeAsync().ConfigureAwait(false);
        }

        _stop.Dispose();
        _metrics.Dispose();
    }

    // On the thread pool: the loop owns the core and must not queue behind the caller's context.
    private Task RunLoopOnPoolAsync(CancellationToken cancellationToken) => Task.Run(() => RunLoopAsync(cancellationToken), CancellationToken.None);

    private async Task RunLoopAsync(CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        var token = linked.Token;
        BrokerLog.Started(_logger, Options.HeartbeatInterval.TotalMilliseconds, Options.Liveness, Options.RequestExpiry.TotalMilliseconds, Options.MaxRequeues);
        try
        {
            await new ServerLoop([_socket], _core, MaxBatch, ex => BrokerLog.LoopFailed(_logger, ex)).RunAsync(token).ConfigureAwait(false);
        }
        finally
        {
            try
            {
                _core.Shutdown();
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                BrokerLog.LoopFailed(_logger, ex);
            }

            // Disposal waits up to the linger (ShutdownTimeout) for the DISCONNECTs to be written.
            await _socket.DisposeAsync().ConfigureAwait(false);
            BrokerLog.Stopped(_logger);
        }
    }

    /// <summary>Non-blocking sends on the ROUTER: the DONTWAIT of libzmq, with EHOSTUNREACH as a result instead of an exception.</summary>
    private sealed class SocketSender(RouterSocket socket) : IBrokerSender
    {
        // A peer that is gone needs no pause: its requests are dropped with its connection.
        public void Pause(RoutingKey client) => socket.PauseReceiving(client.Span);

        public void Resume(RoutingKey client) => socket.ResumeReceiving(client.Span);

        public PeerSendResult TrySend(Message message)
        {
            try
            {
                // A zero timeout never waits, so the result is already there.
                var pending = socket.TrySendAsync(message, TimeSpan.Zero);
                bool sent = pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
                return sent ? PeerSendResult.Sent : PeerSendResult.QueueFull;
            }
            catch (HostUnreachableException)
            {
                return PeerSendResult.Unreachable;
            }
            catch (ObjectDisposedException)
            {
                return PeerSendResult.Unreachable;
            }
        }
    }
}
