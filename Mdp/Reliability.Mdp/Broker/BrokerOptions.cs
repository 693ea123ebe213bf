using System.Diagnostics.Metrics;
using System.Globalization;
using Reliability.Patterns;
using Reliability.Patterns.BinaryStar;
using Reliability.Patterns.Queueing;
using Reliability.Mdp.Protocol;
using Reliability.Patterns.Heartbeating;

namespace Reliability.Mdp.Broker;

/// <summary>
/// Settings of a <see cref="MajordomoBroker"/>. Every value has a documented default and a hard cap;
/// <see cref="Validate"/> reports all problems together. Workers must use the same
/// <see cref="HeartbeatInterval"/> and <see cref="Liveness"/> as the broker (RFC 7 "known weaknesses").
/// </summary>
public sealed partial record BrokerOptions
{
    /// <summary>The endpoint used when none is configured: every interface, port 5555 (zguide <c>mdbroker</c>).</summary>
    public const string DefaultEndpoint = "tcp://*:5555";

    /// <summary>Most endpoints one broker binds.</summary>
    public const int MaxEndpoints = 16;

    /// <summary>Largest accepted <see cref="MaxRequeues"/>.</summary>
    public const int MaxRequeuesCap = 100;

    /// <summary>Largest accepted <see cref="MaxQueuedRequestsPerService"/>, <see cref="MaxQueuedRequestsPerClient"/> and <see cref="MaxQueuedRequests"/>.</summary>
    public const int MaxQueuedRequestsCap = 10_000_000;

    /// <summary>Largest accepted byte limit (<see cref="MaxQueuedBytes"/> and the per-client and per-service ones): 64 GiB.</summary>
    public const long MaxQueuedBytesCap = 64L << 30;

    /// <summary>Largest accepted <see cref="MaxServices"/>.</summary>
    public const int MaxServicesCap = 100_000;

    /// <summary>Largest accepted <see cref="MaxWorkers"/>.</summary>
    public const int MaxWorkersCap = 1_000_000;

    /// <summary>Smallest accepted <see cref="HeartbeatInterval"/> (1 ms, as <see cref="HeartbeatOptions.MinInterval"/>).</summary>
    public static readonly TimeSpan MinHeartbeatInterval = HeartbeatOptions.MinInterval;

    /// <summary>Largest accepted <see cref="HeartbeatInterval"/> (10 minutes, as <see cref="HeartbeatOptions.MaxInterval"/>).</summary>
    public static readonly TimeSpan MaxHeartbeatInterval = HeartbeatOptions.MaxInterval;

    /// <summary>Largest accepted <see cref="RequestExpiry"/> (24 hours).</summary>
    public static readonly TimeSpan MaxRequestExpiry = TimeSpan.FromHours(24);

    /// <summary>Largest accepted <see cref="ShutdownTimeout"/> (30 seconds).</summary>
    public static readonly TimeSpan MaxShutdownTimeout = TimeSpan.FromSeconds(30);

    /// <summary>The defaults, as documented on each property.</summary>
    public static BrokerOptions Default { get; } = new();

    /// <summary>
    /// Endpoints the broker's one ROUTER socket binds (default <c>tcp://*:5555</c>; 1 to
    /// <see cref="MaxEndpoints"/>). Clients and workers of both MDP versions share them.
    /// </summary>
    public IReadOnlyList<string> Endpoints { get; init; } = [DefaultEndpoint];

    /// <summary>
    /// How often the broker sends HEARTBEAT to each worker it has sent nothing else to lately
    /// (default 2500 ms, zguide <c>HEARTBEAT_INTERVAL</c>; range <see cref="MinHeartbeatInterval"/>..<see cref="MaxHeartbeatInterval"/>).
    /// </summary>
    public TimeSpan HeartbeatInterval { get; init; } = HeartbeatOptions.Majordomo.Interval;

    /// <summary>
    /// Heartbeat intervals a worker may stay silent before it is expired, busy or idle
    /// (default 3, zguide <c>HEARTBEAT_LIVENESS</c>: expiry 7.5 s; range 1..<see cref="HeartbeatOptions.MaxLiveness"/>).
    /// </summary>
    public int Liveness { get; init; } = HeartbeatOptions.Majordomo.Liveness;

    /// <summary>
    /// How long a request may wait in a service's queue for a worker before it is dropped (default 30 s;
    /// range 1 ms..<see cref="MaxRequestExpiry"/>). Checked at every heartbeat tick, so a request is
    /// dropped between this and this plus one <see cref="HeartbeatInterval"/> after it was queued.
    /// A requeued request starts a new wait.
    /// </summary>
    public TimeSpan RequestExpiry { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How many times a request whose worker died, expired or disconnected is given to another worker
    /// (default 2; 0..<see cref="MaxRequeuesCap"/>). After that it is dropped and the client's own
    /// retry has to recover it. Requests are assumed idempotent (RFC 7).
    /// </summary>
    public int MaxRequeues { get; init; } = 2;

    /// <summary>
    /// Requests waiting for a worker in one service at which the broker stops reading from the clients that
    /// send it more, until the queue is down to half (default 10 000; 1..<see cref="MaxQueuedRequestsCap"/>).
    /// Nothing is dropped for being over a limit: the clients' sends wait (docs/wire/mdp.md, "Flow control").
    /// </summary>
    public int MaxQueuedRequestsPerService { get; init; } = 10_000;

    /// <summary>
    /// Requests one client may have queued, together with replies it has not read yet, before the broker
    /// stops reading from it until it is down to half (default 100 000, so a client that sends that many
    /// before it reads a reply is served; 1..<see cref="MaxQueuedRequestsCap"/>).
    /// </summary>
    public int MaxQueuedRequestsPerClient { get; init; } = 100_000;

    /// <summary>Requests and unread replies held for all clients together at which the broker stops reading from those who send more (default 1 000 000; 1..<see cref="MaxQueuedRequestsCap"/>).</summary>
    public int MaxQueuedRequests { get; init; } = 1_000_000;

    /// <summary>The per-client limit in bytes (frames plus 128 bytes per message; default 64 MiB; 64 KiB..<see cref="MaxQueuedBytesCap"/>).</summary>
    public long MaxQueuedBytesPerClient { get; init; } = 64L << 20;

    /// <summary>The per-service limit in bytes (default 128 MiB; 64 KiB..<see cref="MaxQueuedBytesCap"/>).</summary>
    public long MaxQueuedBytesPerService { get; init; } = 128L << 20;

    /// <summary>The limit for everything held, in bytes (default 512 MiB; 64 KiB..<see cref="MaxQueuedBytesCap"/>).</summary>
    public long MaxQueuedBytes { get; init; } = 512L << 20;

    /// <summary>
    /// Most services known at once (with workers or queued requests; empty services are forgotten at
    /// once). Requests and READYs that would create another are refused (default 1000; 1..<see cref="MaxServicesCap"/>).
    /// </summary>
    public int MaxServices { get; init; } = 1000;

    /// <summary>
    /// Longest service name accepted, in UTF-8 bytes (default and cap 255, <see cref="MdpCodec.MaxServiceNameLength"/>).
    /// </summary>
    public int MaxServiceNameLength { get; init; } = MdpCodec.MaxServiceNameLength;

    /// <summary>Most workers registered at once; further READYs get DISCONNECT (default 10 000; 1..<see cref="MaxWorkersCap"/>).</summary>
    public int MaxWorkers { get; init; } = 10_000;

    /// <summary>
    /// On shutdown, how long the broker waits for its DISCONNECTs to be written before closing
    /// (default 500 ms; 0..<see cref="MaxShutdownTimeout"/>), so a service exits within a second.
    /// </summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Called when the broker removes a worker that did not send DISCONNECT (expired, unreachable,
    /// connection lost, protocol violation), on the broker's loop: keep it short and non-blocking; an
    /// exception it throws is logged and ignored. Default none.
    /// </summary>
    public Action<WorkerExpiredArguments>? OnWorkerExpired { get; init; }

    /// <summary>
    /// Makes the broker one node of a Binary Star pair (docs/patterns/binary-star.md §8) when set;
    /// default none (a lone broker). While the node is not active the broker still registers workers
    /// and exchanges heartbeats with them, but leaves every client request unanswered (MMI included)
    /// and so dispatches nothing; a client request is the vote that may make it active. A split brain
    /// stops the broker: <see cref="MajordomoBroker.RunAsync"/> ends with <see cref="SplitBrainException"/>.
    /// </summary>
    public BinaryStarOptions? BinaryStar { get; init; }

    /// <summary>CURVE or PLAIN on the broker's socket and who may be a client or a worker (docs/security.md); default none (NULL, everyone).</summary>
    public BrokerSecurityOptions? Security { get; init; }

    /// <summary>
    /// Creates the broker's <c>Reliability.Mdp</c> meter, so the application's metrics pipeline (e.g. the
    /// one a .NET host registers) owns it; without one (default) the broker creates and disposes its own.
    /// </summary>
    public IMeterFactory? MeterFactory { get; init; }

    /// <summary>Silence after which a worker is expired: <see cref="HeartbeatInterval"/> × <see cref="Liveness"/>.</summary>
    public TimeSpan WorkerExpiry => HeartbeatInterval * Liveness;

    /// <summary>Every problem with these settings, empty when they are valid.</summary>
    public IReadOnlyList<string> GetProblems()
    {
        var problems = new List<string>();
        if (Endpoints is null || Endpoints.Count == 0)
        {
            problems.Add("Endpoints must name at least one endpoint");
        }
        else if (Endpoints.Count > MaxEndpoints)
        {
            problems.Add($"Endpoints may hold at most {MaxEndpoints} endpoints (was {Endpoints.Count})");
        }
        else
        {
            foreach (var endpoint in Endpoints)
            {
                if (string.IsNullOrWhiteSpace(endpoint) || endpoint.Any(char.IsWhiteSpace) || !endpoint.Contains("://", StringComparison.Ordinal))
                {
                    problems.Add($"Endpoint '{endpoint}' is not of the form transport://address, e.g. {DefaultEndpoint}");
                }
            }
        }

        if (HeartbeatInterval < MinHeartbeatInterval || HeartbeatInterval > MaxHeartbeatInterval)
        {
            problems.Add($"HeartbeatInterval must be between {Ms(MinHeartbeatInterval)} and {Ms(MaxHeartbeatInterval)} (was {Ms(HeartbeatInterval)})");
        }

        if (Liveness is < 1 or > HeartbeatOptions.MaxLiveness)
        {
            problems.Add($"Liveness must be 1..{HeartbeatOptions.MaxLiveness} (was {Liveness})");
        }

        if (RequestExpiry < TimeSpan.FromMilliseconds(1) || RequestExpiry > MaxRequestExpiry)
        {
            problems.Add($"RequestExpiry must be between 1 ms and {Ms(MaxRequestExpiry)} (was {Ms(RequestExpiry)})");
        }

        if (ShutdownTimeout < TimeSpan.Zero || ShutdownTimeout > MaxShutdownTimeout)
        {
            problems.Add($"ShutdownTimeout must be between 0 and {Ms(MaxShutdownTimeout)} (was {Ms(ShutdownTimeout)})");
        }

        CheckRange(problems, nameof(MaxRequeues), MaxRequeues, 0, MaxRequeuesCap);
        CheckRange(problems, nameof(MaxQueuedRequestsPerService), MaxQueuedRequestsPerService, 1, MaxQueuedRequestsCap);
        CheckRange(problems, nameof(MaxQueuedRequestsPerClient), MaxQueuedRequestsPerClient, 1, MaxQueuedRequestsCap);
        CheckRange(problems, nameof(MaxQueuedRequests), MaxQueuedRequests, 1, MaxQueuedRequestsCap);
        CheckRange(problems, nameof(MaxQueuedBytesPerClient), MaxQueuedBytesPerClient, MinQueuedBytes, MaxQueuedBytesCap);
        CheckRange(problems, nameof(MaxQueuedBytesPerService), MaxQueuedBytesPerService, MinQueuedBytes, MaxQueuedBytesCap);
        CheckRange(problems, nameof(MaxQueuedBytes), MaxQueuedBytes, MinQueuedBytes, MaxQueuedBytesCap);
        CheckRange(problems, nameof(MaxServices), MaxServices, 1, MaxServicesCap);
        CheckRange(problems, nameof(MaxServiceNameLength), MaxServiceNameLength, 1, MdpCodec.MaxServiceNameLength);
        CheckRange(problems, nameof(MaxWorkers), MaxWorkers, 1, MaxWorkersCap);
        AddLimitProblems(problems);
        if (BinaryStar is not null)
        {
            problems.AddRange(BinaryStar.GetProblems().Select(p => "BinaryStar." + p));
        }

        problems.AddRange(Security?.GetProblems().Select(p => "Security." + p) ?? []);

        return problems;
    }

    /// <summary>Checks every setting and reports all problems together.</summary>
    /// <exception cref="ArgumentException">One or more settings are out of range.</exception>
    public void Validate()
    {
        var problems = GetProblems();
        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid broker options: " + string.Join("; ", problems) + ".");
        }
    }

    /// <summary>The flow-control limits these options describe.</summary>
    internal FlowLimits FlowLimits => new(MaxQueuedRequestsPerClient, MaxQueuedBytesPerClient, MaxQueuedRequestsPerService, MaxQueuedBytesPerService, MaxQueuedRequests, MaxQueuedBytes);

    // One read buffer of a connection: a smaller limit could not hold what a paused client already sent.
    private const long MinQueuedBytes = 64 << 10;

    private static void CheckRange(List<string> problems, string name, long value, long min, long max)
    {
        if (value < min || value > max)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"{name} must be {min}..{max} (was {value})"));
        }
    }

    private static string Ms(TimeSpan value) => string.Create(CultureInfo.InvariantCulture, $"{value.TotalMilliseconds:0.###} ms");
}
