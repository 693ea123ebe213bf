using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Reliability.Mdp.Protocol;
using Reliability.Patterns.Sessions;
using Reliability.Transport;

namespace Reliability.Mdp.Worker;

/// <summary>
/// A Majordomo worker (RFC 7 / RFC 18 worker side, docs/wire/mdp.md §7): registers one service with a
/// broker and answers the requests the broker sends it, one at a time. Given several brokers
/// (<see cref="WorkerOptions.BrokerEndpoints"/>, e.g. a Binary Star pair) it registers with each of them
/// on a connection of its own and answers each request to the broker it came from.
/// </summary>
/// <remarks>
/// <para>
/// A session loop of its own owns the DEALER socket (its decisions are in a core with no I/O,
/// docs/architecture.md): it sends READY and receives requests, and on the loop's timer sends HEARTBEAT when nothing else went out for <see cref="WorkerOptions.Heartbeat"/>
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
public sealed class MajordomoWorker : IAsyncDisposable
{
    private readonly ILogger _logger;
    private readonly Channel<MdpRequest> _requests;
    private readonly BrokerLink[] _links;
    private readonly CancellationTokenSource _stop = new();
    private readonly CancellationTokenSource _draining = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly object _gate = new();
    private Task? _loop;
    private TaskCompletionSource? _running;
    private Task? _disposal;

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

        // The session loop only parses commands and queues requests (the handler runs behind the request
        // channel, on the thread pool), so it may run on the I/O thread that delivered them. Peer events tell
        // the loop at once that the broker's connection (and with it our registration) is gone.
        var socketOptions = options.Socket with { InlineReceiveContinuations = true, ReceivePeerEvents = true };

        // Synchronous continuations run the receiver of a request (the handler loop) inside the session
        // loop's write; only when the handler is declared quick and non-blocking.
        var brokers = BrokerEndpointList.Resolve(options.BrokerEndpoint, options.BrokerEndpoints);
        _requests = Channel.CreateUnbounded<MdpRequest>(
            new UnboundedChannelOptions { SingleWriter = brokers.Count == 1, AllowSynchronousContinuations = options.UnsafeInlineHandler });
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<MajordomoWorker>();
        var time = timeProvider ?? TimeProvider.System;

        // One session per broker, each with a core that knows only its own broker (logs, OnPeerLost).
        _links = new BrokerLink[brokers.Count];
        for (int i = 0; i < brokers.Count; i++)
        {
            int index = i;
            var core = new WorkerCore(
                options with { BrokerEndpoint = brokers[i], BrokerEndpoints = [] },
                time,
                _logger,
                (connection, request, version) => _requests.Writer.TryWrite(new MdpRequest(this, index, connection, request, version)));
            var session = new SessionDriver<WorkerCommand>(core, () => new DealerSocket(socketOptions, loggerFactory, time), brokers[i], time, core.Abandon);
            _links[i] = new BrokerLink(core, session);
        }
    }

    /// <summary>The settings the worker was created with.</summary>
    public WorkerOptions Options { get; }

    /// <summary>Counts since the worker was created (each counter read atomically; not one snapshot across them).</summary>
    public WorkerStatistics Statistics => _links.Length == 1 ? _links[0].Core.Statistics : Sum(_links.Select(l => l.Core.Statistics));

    /// <summary>Starts the connection loop (connect, READY, heartbeats) if it is not running yet. Idempotent.</summary>
    /// <exception cref="ObjectDisposedException">The worker was disposed.</exception>
    public void Start()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposal is not null, this);
            _loop ??= Task.Run(SessionLoopAsync);
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

            long current = _links[request.BrokerIndex].Session.CurrentId;
            if (current == request.ConnectionId)
            {
                return request;
            }

            // Queued before a reconnect: the broker no longer waits for its reply.
            WorkerLog.StaleRequest(_logger, Options.Service, request.ConnectionId, current);
        }
    }

    /// <summary>
    /// Serves requests with <paramref name="handler"/> until <paramref name="cancellationToken"/> is
    /// cancelled (or <see cref="StopAsync"/> stops it gracefully), then sends DISCONNECT and closes (the worker cannot be used afterwards). The handler's
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
        var running = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            _running ??= running;
        }

        // The handler is cancelled by the caller or by a graceful stop that ran out of time; waiting for the
        // next request also ends when a graceful stop begins (StopAsync).
        using var handling = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _abort.Token);
        using var receiving = CancellationTokenSource.CreateLinkedTokenSource(handling.Token, _draining.Token);
        try
        {
            // Bounded by cancellation, by a graceful stop and by disposal (ReceiveAsync then throws).
            while (!receiving.IsCancellationRequested)
            {
                MdpRequest request;
                try
                {
                    request = await ReceiveAsync(receiving.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (receiving.IsCancellationRequested)
                {
                    break;
                }
                catch (ObjectDisposedException) when (_stop.IsCancellationRequested)
                {
                    break;
                }

                Message? reply;
                using var activity = request.StartActivity();
                try
                {
                    reply = await handler(request, handling.Token).ConfigureAwait(false);
                    if (reply is null && !request.IsAnswered)
                    {
                        throw new InvalidOperationException("The handler returned no reply and did not answer the request itself.");
                    }
                }
                catch (OperationCanceledException) when (handling.IsCancellationRequested)
                {
                    // Stopping mid-request: the DISCONNECT sent on shutdown lets the broker requeue it.
                    break;
                }
                catch (Exception ex)
                {
                    var link = _links[request.BrokerIndex];
                    link.Core.CountHandlerFailure();
                    WorkerLog.HandlerFailed(_logger, Options.Service, Options.OnHandlerFailure, ex);
                    activity?.SetStatus(ActivityStatusCode.Error, ex.GetType().Name);
                    if (Options.OnHandlerFailure == HandlerFailureAction.Requeue || request.IsAnswered)
                    {
                        // A handler that answered and then threw has nothing left to tell the client.
                        link.Session.Post(new ReconnectCommand(request.ConnectionId));
                        continue;
                    }

                    reply = new Message(HandlerFailureReply.Build(ex));
                }

                if (!request.IsAnswered)
                {
                    try
                    {
                        await request.ReplyAsync(reply!, handling.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (handling.IsCancellationRequested)
                    {
                        break;
                    }
                }
            }
        }
        finally
        {
            await DisposeAsync().ConfigureAwait(false);
            running.TrySetResult();
        }
    }

    /// <summary>
    /// Stops gracefully: <see cref="RunAsync"/> takes no further request, the request its handler is working
    /// on is finished and its reply sent, and then the worker sends DISCONNECT and closes (so the broker
    /// requeues whatever it sent meanwhile). When <paramref name="cancellationToken"/> fires first (e.g. a
    /// host's shutdown timeout), the handler's token is cancelled and the worker closes at once without
    /// waiting for it. Without a <see cref="RunAsync"/> in progress this is <see cref="DisposeAsync"/>.
    /// </summary>
    /// <param name="cancellationToken">Ends the wait for the request in progress.</param>
    /// <returns>A task that completes when the worker has stopped.</returns>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        Task? running;
        lock (_gate)
        {
            running = _running?.Task;
        }

        await _draining.CancelAsync().ConfigureAwait(false);
        if (running is not null)
        {
            try
            {
                await running.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Out of time: tell the handler, and close without it (its late reply is dropped).
                await _abort.CancelAsync().ConfigureAwait(false);
            }
        }

        await DisposeAsync().ConfigureAwait(false);
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

    /// <summary>Sends a request's (partial or final) reply on the connection it came from, through the session loop.</summary>
    internal ValueTask<bool> SendReplyAsync(MdpRequest request, Message body, bool final, CancellationToken cancellationToken)
    {
        // Asynchronous continuations: a handler waiting for room must not go on running inside the session loop.
        var done = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var reply = new ReplyCommand(request, body, final, done, cancellationToken);
        var link = _links[request.BrokerIndex];
        if (!link.Session.Post(reply))
        {
            link.Core.Abandon(reply);
        }

        return new ValueTask<bool>(done.Task);
    }

    private static WorkerStatistics Sum(IEnumerable<WorkerStatistics> all) => all.Aggregate(static (a, b) => new(
        a.Connections + b.Connections,
        a.Reconnects + b.Reconnects,
        a.RequestsReceived + b.RequestsReceived,
        a.RepliesSent + b.RepliesSent,
        a.PartialsSent + b.PartialsSent,
        a.HeartbeatsSent + b.HeartbeatsSent,
        a.HeartbeatsReceived + b.HeartbeatsReceived,
        a.BrokerDisconnects + b.BrokerDisconnects,
        a.BrokerSilences + b.BrokerSilences,
        a.HandlerFailures + b.HandlerFailures,
        a.StaleReplies + b.StaleReplies,
        a.InvalidMessages + b.InvalidMessages));

    private async Task SessionLoopAsync()
    {
        // Every broker's session runs until the worker stops; the first failure ends the requests.
        await Task.WhenAll(_links.Select(link => RunSessionAsync(link.Session))).ConfigureAwait(false);
        _requests.Writer.TryComplete();
    }

    private async Task RunSessionAsync(SessionDriver<WorkerCommand> session)
    {
        try
        {
            await session.RunAsync(_stop.Token).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            WorkerLog.LoopFailed(_logger, Options.Service, ex);
            _requests.Writer.TryComplete(ex);
        }
    }

    /// <summary>The connection to one broker: its session loop and the core that decides for it.</summary>
    private sealed record BrokerLink(WorkerCore Core, SessionDriver<WorkerCommand> Session);
}
