using Microsoft.Extensions.Logging;
using Reliability.Patterns.Heartbeating;
using Reliability.Patterns.Queueing;
using Reliability.Transport;

namespace Reliability.Patterns.ParanoidPirate;

/// <summary>
/// The lifecycle both Pirate queues share: a frontend ROUTER for clients and a backend ROUTER for
/// workers, bound once, served by one loop that runs at most once, and closed on shutdown or
/// disposal. The queue owns the loop's logic; this type owns the sockets and the stop signal.
/// </summary>
internal sealed class PirateQueueSockets : IAsyncDisposable, IPirateQueueSender
{
    private readonly object _owner;
    private readonly string _frontendAddress;
    private readonly string _backendAddress;
    private readonly CancellationTokenSource _stop = new();
    private int _started;
    private Task? _run;

    /// <param name="owner">The queue, named in <see cref="ObjectDisposedException"/> after disposal.</param>
    /// <param name="frontendAddress">Where clients connect.</param>
    /// <param name="backendAddress">Where workers connect.</param>
    /// <param name="loggerFactory">Logging for the sockets.</param>
    /// <param name="time">Clock for the sockets.</param>
    /// <param name="peerEvents">Whether both sockets deliver peer events in their receive streams (<see cref="SocketOptions.ReceivePeerEvents"/>).</param>
    public PirateQueueSockets(object owner, string frontendAddress, string backendAddress, ILoggerFactory loggerFactory, TimeProvider time, bool peerEvents = false)
    {
        _owner = owner;
        _frontendAddress = frontendAddress;
        _backendAddress = backendAddress;

        // Frontend: mandatory so a reply to a vanished client is counted, not silently lost; a short
        // linger lets the last replies out on shutdown.
        Frontend = new RouterSocket(new SocketOptions { RouterMandatory = true, Linger = TimeSpan.FromMilliseconds(100), ReceivePeerEvents = peerEvents }, loggerFactory, time);

        // Backend: mandatory turns "worker connection gone" into an immediate removal (docs/wire/ppp.md §10);
        // handover lets a worker with a fixed identity reconnect while its old connection lingers
        // (docs/wire/ppp.md §10); no linger, so heartbeats are not flushed to workers after we stopped.
        Backend = new RouterSocket(new SocketOptions { RouterMandatory = true, RouterHandover = true, Linger = TimeSpan.Zero, ReceivePeerEvents = peerEvents }, loggerFactory, time);
        Both = [Backend, Frontend];
    }

    /// <summary>The clients' side.</summary>
    public RouterSocket Frontend { get; }

    /// <summary>The workers' side.</summary>
    public RouterSocket Backend { get; }

    /// <summary>Both sockets in the order the queue loop drains them (workers first; see <c>QueueServerCore</c>).</summary>
    public ZmqSocket[] Both { get; }

    /// <summary>The frontend's actual endpoint once bound; otherwise <see langword="null"/>.</summary>
    public string? FrontendEndpoint { get; private set; }

    /// <summary>The backend's actual endpoint once bound; otherwise <see langword="null"/>.</summary>
    public string? BackendEndpoint { get; private set; }

    /// <summary>Binds both endpoints that are not bound yet.</summary>
    /// <exception cref="ObjectDisposedException">The owner was disposed.</exception>
    /// <exception cref="EndpointException">An endpoint is malformed or in use.</exception>
    public void Bind()
    {
        ObjectDisposedException.ThrowIf(_stop.IsCancellationRequested, _owner);
        FrontendEndpoint ??= Frontend.Bind(_frontendAddress);
        BackendEndpoint ??= Backend.Bind(_backendAddress);
    }

    /// <summary>
    /// Binds, then starts <paramref name="loop"/> with a token that the caller's token and
    /// <see cref="DisposeAsync"/> both cancel. Allowed once.
    /// </summary>
    /// <exception cref="InvalidOperationException">Already started.</exception>
    public Task RunOnceAsync(Func<CancellationToken, Task> loop, CancellationToken cancellationToken)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("The queue is already running or has run.");
        }

        Bind();
        _run = RunLinkedAsync(loop, cancellationToken);
        return _run;
    }

    /// <inheritdoc />
    public bool TrySendToWorker(Message message)
    {
        try
        {
            var sent = Backend.TrySendAsync(message, TimeSpan.Zero);

            // A full queue towards a worker means it has not read for a very long time: treat it as gone.
            return sent.IsCompletedSuccessfully && sent.Result;
        }
        catch (HostUnreachableException)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public PeerSendResult TrySend(Message message)
    {
        try
        {
            // Zero timeout: the loop never blocks on one slow client.
            var sent = Frontend.TrySendAsync(message, TimeSpan.Zero);
            return sent.IsCompletedSuccessfully && sent.Result ? PeerSendResult.Sent : PeerSendResult.QueueFull;
        }
        catch (HostUnreachableException)
        {
            // The client disconnected (e.g. a Lazy Pirate client that timed out and reopened its socket).
            return PeerSendResult.Unreachable;
        }
    }

    /// <summary>Stops reading a client that does not read its replies (flow control on the frontend).</summary>
    public void Pause(RoutingKey client) => Frontend.PauseReceiving(client.Span);

    /// <summary>Reads the client again.</summary>
    public void Resume(RoutingKey client) => Frontend.ResumeReceiving(client.Span);

    /// <summary>Closes both sockets; the loop calls it on its way out, disposal again (idempotent).</summary>
    public async ValueTask CloseAsync()
    {
        await Frontend.DisposeAsync().ConfigureAwait(false);
        await Backend.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Stops the loop (if running), waits for it, and closes the sockets.</summary>
    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
        }

        if (_run is { } run)
        {
            await run.ConfigureAwait(false);
        }

        await CloseAsync().ConfigureAwait(false);
    }

    private async Task RunLinkedAsync(Func<CancellationToken, Task> loop, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        await loop(linked.Token).ConfigureAwait(false);
    }
}
