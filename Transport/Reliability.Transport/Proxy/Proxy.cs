namespace Reliability.Transport;

/// <summary>
/// Connects a frontend and a backend socket and moves messages between them, like libzmq's
/// <c>zmq_proxy_steerable</c>. Usual shapes:
/// <list type="bullet">
/// <item><description><b>Queue</b>: ROUTER frontend (clients connect) ↔ DEALER backend (workers connect);
/// requests go forward, replies come back with their routing envelope intact.</description></item>
/// <item><description><b>Forwarder</b>: XSUB frontend (publishers) ↔ XPUB backend (subscribers); data goes
/// forward, subscriptions come back.</description></item>
/// <item><description><b>Streamer</b>: PULL frontend → PUSH backend, one way only.</description></item>
/// </list>
/// Each direction exists when the source socket type can receive and the destination can send
/// (PUSH and PUB never receive, PULL and SUB never send). Messages are forwarded whole (every frame);
/// a capture socket, if given, gets a copy of every message the proxy receives, from either side.
/// </summary>
public static class Proxy
{
    /// <summary>
    /// Runs the proxy on the thread pool until <paramref name="control"/> terminates it (the task
    /// completes normally), <paramref name="cancellationToken"/> is cancelled (the task is cancelled),
    /// or a socket fails, e.g. is disposed (the task faults with that exception).
    /// </summary>
    /// <remarks>
    /// The proxy drains every message that is ready on a side before it waits again, and a direction
    /// whose destination is full (a high-water mark, or no peer yet for DEALER/PUSH) stops receiving
    /// from its source until the destination takes the message, while the other direction keeps
    /// flowing. Sends to the capture socket never wait: a copy it cannot take at once is dropped and
    /// counted in <see cref="ProxyStatistics.CaptureDrops"/>. The proxy owns none of the sockets:
    /// dispose them after the task ends. Do not receive from the frontend or backend elsewhere while
    /// the proxy runs.
    /// </remarks>
    /// <param name="frontend">The side clients (or publishers, or producers) talk to.</param>
    /// <param name="backend">The side workers (or subscribers, or consumers) talk to.</param>
    /// <param name="capture">Receives a copy of every message; PUB, XPUB, DEALER, PUSH or PAIR. Optional.</param>
    /// <param name="control">Pause/resume/terminate and statistics. Optional; one run per control at a time.</param>
    /// <param name="cancellationToken">Ends the proxy with an <see cref="OperationCanceledException"/>.</param>
    /// <returns>A task that ends with the proxy.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="frontend"/> or <paramref name="backend"/> is null.</exception>
    /// <exception cref="ArgumentException">The same socket is used twice, a socket type cannot take part
    /// (REQ and REP alternate strictly, so a proxy could not keep their state), no message could ever
    /// flow between the two types, or the capture socket cannot send copies.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="control"/> already drives another proxy.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="control"/> was disposed.</exception>
    public static Task RunAsync(
        ZmqSocket frontend,
        ZmqSocket backend,
        ZmqSocket? capture = null,
        ProxyControl? control = null,
        CancellationToken cancellationToken = default)
    {
        // Validation runs before any task starts, so mistakes surface at the call site.
        var directions = Validate(frontend, backend, capture);
        bool ownsControl = control is null;
        control ??= new ProxyControl();
        if (!control.TryAttach())
        {
            throw new InvalidOperationException("This ProxyControl already drives a running proxy; use one control per proxy.");
        }

        var loop = new ProxyLoop(directions, capture, control, ownsControl, cancellationToken);
        return Task.Run(loop.RunAsync, CancellationToken.None);
    }

    /// <summary>Checks the arguments and works out which directions exist.</summary>
    private static ProxyDirection[] Validate(ZmqSocket frontend, ZmqSocket backend, ZmqSocket? capture)
    {
        ArgumentNullException.ThrowIfNull(frontend);
        ArgumentNullException.ThrowIfNull(backend);
        if (ReferenceEquals(frontend, backend))
        {
            throw new ArgumentException("The frontend and the backend must be two different sockets.", nameof(backend));
        }

        RejectStrictAlternation(frontend, nameof(frontend));
        RejectStrictAlternation(backend, nameof(backend));

        var directions = new List<ProxyDirection>(2);
        if (CanReceive(frontend.Type) && CanSend(backend.Type))
        {
            directions.Add(new ProxyDirection(frontend, backend, frontendToBackend: true));
        }

        if (CanReceive(backend.Type) && CanSend(frontend.Type))
        {
            directions.Add(new ProxyDirection(backend, frontend, frontendToBackend: false));
        }

        if (directions.Count == 0)
        {
            throw new ArgumentException(
                $"No message can flow between a {frontend.Type} frontend and a {backend.Type} backend: one side has to receive what the other sends.",
                nameof(backend));
        }

        if (capture is not null)
        {
            if (ReferenceEquals(capture, frontend) || ReferenceEquals(capture, backend))
            {
                throw new ArgumentException("The capture socket must differ from the frontend and the backend.", nameof(capture));
            }

            // ROUTER would treat the first frame of each copy as a peer name, REQ/REP would refuse the
            // second copy, PULL/SUB cannot send: libzmq likewise asks for PUB, DEALER, PUSH or PAIR.
            if (capture.Type is not (SocketType.Pub or SocketType.XPub or SocketType.Dealer or SocketType.Push or SocketType.Pair))
            {
                throw new ArgumentException(
                    $"A {capture.Type} socket cannot capture: use PUB, XPUB, DEALER, PUSH or PAIR.",
                    nameof(capture));
            }
        }

        return [.. directions];
    }

    private static void RejectStrictAlternation(ZmqSocket socket, string parameter)
    {
        if (socket.Type is SocketType.Req or SocketType.Rep)
        {
            throw new ArgumentException(
                $"A {socket.Type} socket cannot be proxied: it alternates send and receive strictly, so the proxy could carry only one request at a time. Use ROUTER for the frontend and DEALER for the backend.",
                parameter);
        }
    }

    private static bool CanReceive(SocketType type) => type is not (SocketType.Push or SocketType.Pub);

    private static bool CanSend(SocketType type) => type is not (SocketType.Pull or SocketType.Sub);
}
