using Reliability.Patterns;
using Reliability.Mdp.Protocol;
using Reliability.Patterns.Heartbeating;
using Reliability.Transport;

namespace Reliability.Mdp.Worker;

/// <summary>
/// Settings of a <see cref="MajordomoWorker"/>. The defaults are the zguide's mdwrkapi values
/// (docs/wire/mdp.md §8): 2.5 s heartbeat, liveness 3 (broker dead after 7.5 s of silence),
/// 2.5 s before reconnecting. <see cref="Heartbeat"/> and <see cref="Liveness"/> should match the
/// broker's, or one side declares the other dead while it is fine (RFC 7 "known weaknesses").
/// </summary>
public sealed record WorkerOptions
{
    /// <summary>Largest accepted <see cref="Heartbeat"/> (10 minutes, as for every heartbeat in the toolkit).</summary>
    public static readonly TimeSpan MaxHeartbeat = HeartbeatOptions.MaxInterval;

    /// <summary>Largest accepted <see cref="ReconnectDelay"/> and <see cref="ReconnectDelayMax"/> (1 hour).</summary>
    public static readonly TimeSpan MaxReconnectDelay = HeartbeatOptions.MaxReconnectDelay;

    /// <summary>The broker to connect to, e.g. <c>tcp://127.0.0.1:5555</c> (required unless <see cref="BrokerEndpoints"/> names the brokers).</summary>
    public string BrokerEndpoint { get; init; } = string.Empty;

    /// <summary>
    /// Several brokers, e.g. both brokers of a Binary Star pair (default none: <see cref="BrokerEndpoint"/>
    /// is the one broker). The worker registers with every one of them, one connection and session each,
    /// so whichever broker is active has the worker at once; a request from any of them is answered to
    /// the broker it came from. At most 16, none repeated; leave <see cref="BrokerEndpoint"/> empty when set.
    /// </summary>
    public IReadOnlyList<string> BrokerEndpoints { get; init; } = [];

    /// <summary>
    /// The one service this worker offers (required; 1 to 255 UTF-8 bytes, no control characters,
    /// not an <c>mmi.</c> name, which the broker reserves and answers by disconnecting the worker).
    /// </summary>
    public string Service { get; init; } = string.Empty;

    /// <summary>Protocol version spoken to the broker (default MDP/0.1, the one every zguide broker speaks).</summary>
    public MdpVersion Version { get; init; } = MdpVersion.V01;

    /// <summary>
    /// MDP/0.2 only, off by default: READY announces that this worker accepts a trace frame, so its requests carry the caller's trace context and its handler's span joins the caller's trace (our extension, docs/wire/mdp.md §18). Turn it on only with
    /// Reliability's broker: another MDP/0.2 broker may refuse a READY with the extra frame.
    /// </summary>
    public bool TraceContext { get; init; }

    /// <summary>
    /// Interval of the HEARTBEAT the worker sends when it sent nothing else, and that it expects from the
    /// broker (default 2500 ms). Heartbeats go out from the worker's own loop, also while a handler is busy.
    /// </summary>
    public TimeSpan Heartbeat { get; init; } = TimeSpan.FromMilliseconds(2500);

    /// <summary>Number of heartbeat intervals of silence after which the broker counts as dead (default 3, range 1..100).</summary>
    public int Liveness { get; init; } = 3;

    /// <summary>Wait before the first reconnect after the broker was declared dead (default 2500 ms).</summary>
    public TimeSpan ReconnectDelay { get; init; } = TimeSpan.FromMilliseconds(2500);

    /// <summary>
    /// Cap of the reconnect back-off: the wait doubles after each connection that never heard from the
    /// broker, up to this value (default 10 s; equal to <see cref="ReconnectDelay"/> for the zguide's fixed
    /// delay). The back-off returns to <see cref="ReconnectDelay"/> as soon as the broker answers again.
    /// </summary>
    public TimeSpan ReconnectDelayMax { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Whether the broker keeps sending HEARTBEAT to a worker while it works on a request (default false).
    /// The zguide brokers heartbeat only idle workers, so by default the worker does not judge the broker's
    /// silence while a request is in progress (it keeps sending its own heartbeats, so the broker can tell a
    /// busy worker from a dead one) and gives the broker a fresh expiry period after the reply. Set it to
    /// true for a broker that heartbeats busy workers too, so a broker that dies during a long request is
    /// detected during it.
    /// </summary>
    public bool BrokerHeartbeatsBusyWorkers { get; init; }

    /// <summary>
    /// When true, <see cref="MajordomoWorker.RunAsync"/> calls its handler (and code awaiting
    /// <see cref="MajordomoWorker.ReceiveAsync"/> resumes) on the I/O thread that received the request instead
    /// of on the thread pool (default false): one thread wake-up less per request. Only for handlers that finish quickly and never block: while the handler runs, this
    /// connection reads nothing (broker heartbeats included, so a handler running longer than
    /// <see cref="Heartbeat"/> × <see cref="Liveness"/> makes the worker think the broker died), and a
    /// blocking handler stalls every connection that thread serves. As ASP.NET Core's
    /// <c>UnsafePreferInlineScheduling</c>, hence the name.
    /// </summary>
    public bool UnsafeInlineHandler { get; init; }

    /// <summary>
    /// What happens to a request whose handler throws (default <see cref="HandlerFailureAction.FailureReply"/>:
    /// the client is told at once and the request is not run again). Either way the failure is logged and
    /// counted (<see cref="WorkerStatistics.HandlerFailures"/>).
    /// </summary>
    public HandlerFailureAction OnHandlerFailure { get; init; } = HandlerFailureAction.FailureReply;

    /// <summary>
    /// Settings of the DEALER socket. Its <see cref="SocketOptions.Linger"/> bounds how long closing waits for
    /// the final DISCONNECT to be written (default 200 ms); a socket replaced after a broker failure is closed
    /// without lingering whatever this says, so nothing queued for the dead connection is sent later
    /// (docs/wire/mdp.md §12). Set <see cref="SocketOptions.RoutingId"/> only if the broker's ROUTER
    /// uses handover, since a reconnect reuses it (docs/wire/mdp.md §13). <see cref="SocketOptions.InlineReceiveContinuations"/>
    /// is always on: the worker's own connection loop never blocks (the handler runs behind it, see
    /// <see cref="UnsafeInlineHandler"/>).
    /// </summary>
    public SocketOptions Socket { get; init; } = new() { Linger = TimeSpan.FromMilliseconds(200) };

    /// <summary>
    /// Called when the worker gives its broker up (silent, DISCONNECT, connection ended) and is about to
    /// register again on a fresh socket; on the worker's connection loop, so keep it short. An exception
    /// it throws is logged and ignored. Default none.
    /// </summary>
    public Action<PeerLostArguments>? OnPeerLost { get; init; }

    /// <summary>The heartbeat settings in the shared component's terms.</summary>
    internal HeartbeatOptions HeartbeatOptions => new()
    {
        Interval = Heartbeat,
        Liveness = Liveness,
        ReconnectInitial = ReconnectDelay,
        ReconnectMax = ReconnectDelayMax,
    };

    /// <summary>Checks every setting and reports all problems together.</summary>
    /// <exception cref="ArgumentException">One or more settings are out of range.</exception>
    public void Validate()
    {
        var problems = new List<string>();
        BrokerEndpointList.Check(BrokerEndpoint, BrokerEndpoints, problems);
        if (string.IsNullOrEmpty(Service))
        {
            problems.Add("Service must name the service this worker offers");
        }
        else
        {
            try
            {
                _ = new WorkerReady(Service);
                if (Mmi.IsMmiService(Service))
                {
                    problems.Add($"Service '{Service}' is reserved: '{Mmi.Prefix}' services are answered by the broker (RFC 8)");
                }
            }
            catch (ArgumentException ex)
            {
                problems.Add("Service: " + ex.Message);
            }
        }

        if (Version is not (MdpVersion.V01 or MdpVersion.V02))
        {
            problems.Add($"Version must be V01 or V02 (was {Version})");
        }

        if (Heartbeat < HeartbeatOptions.MinInterval || Heartbeat > MaxHeartbeat)
        {
            problems.Add($"Heartbeat must be between {HeartbeatOptions.MinInterval} and {MaxHeartbeat} (was {Heartbeat})");
        }

        if (Liveness is < 1 or > HeartbeatOptions.MaxLiveness)
        {
            problems.Add($"Liveness must be 1..{HeartbeatOptions.MaxLiveness} (was {Liveness})");
        }

        if (ReconnectDelay <= TimeSpan.Zero || ReconnectDelay > MaxReconnectDelay)
        {
            problems.Add($"ReconnectDelay must be positive and at most {MaxReconnectDelay} (was {ReconnectDelay})");
        }

        if (ReconnectDelayMax <= TimeSpan.Zero || ReconnectDelayMax > MaxReconnectDelay)
        {
            problems.Add($"ReconnectDelayMax must be positive and at most {MaxReconnectDelay} (was {ReconnectDelayMax})");
        }
        else if (ReconnectDelayMax < ReconnectDelay)
        {
            problems.Add($"ReconnectDelayMax must not be less than ReconnectDelay (was {ReconnectDelayMax} < {ReconnectDelay})");
        }

        OptionChecks.Socket(Socket, problems);
        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid worker options: " + string.Join("; ", problems) + ".");
        }
    }
}
