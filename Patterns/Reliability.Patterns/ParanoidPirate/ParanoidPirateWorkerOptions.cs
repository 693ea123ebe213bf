using Reliability.Patterns.Heartbeating;

namespace Reliability.Patterns.ParanoidPirate;

/// <summary>Settings of a <see cref="ParanoidPirateWorker"/>; validated when the worker is created.</summary>
public sealed record ParanoidPirateWorkerOptions
{
    /// <summary>Largest accepted <see cref="MaxQueuedRequests"/>.</summary>
    public const int MaxQueuedRequestsLimit = 100_000;

    /// <summary>The queue's backend endpoint (default <c>tcp://127.0.0.1:5556</c>).</summary>
    public string Endpoint { get; init; } = "tcp://127.0.0.1:5556";

    /// <summary>
    /// Heartbeat interval, liveness and reconnect back-off (default <see cref="HeartbeatOptions.Default"/>:
    /// 1 s × 3, back-off 1 s doubling to 32 s, like the zguide's ppworker). Use the queue's interval and liveness.
    /// </summary>
    public HeartbeatOptions Heartbeat { get; init; } = HeartbeatOptions.Default;

    /// <summary>
    /// Identity announced to the queue (1..255 octets, not starting with 0). Default empty: a new
    /// random printable id <c>%04X-%04X</c> for every connection, so the queue sees a restarted
    /// worker as a new one.
    /// </summary>
    public ReadOnlyMemory<byte> RoutingId { get; init; }

    /// <summary>
    /// Requests kept while the handler is busy (default 16). Our queue never sends a second request
    /// to a busy worker, but the zguide's ppqueue can (it treats a heartbeat as "ready"); such
    /// requests wait here and are handled in order. Beyond this many, requests are dropped (logged).
    /// </summary>
    public int MaxQueuedRequests { get; init; } = 16;

    /// <summary>
    /// Called when the worker gives its queue up (silent, connection ended) and is about to
    /// register again on a fresh socket; on the worker's connection loop, so keep it short. An exception
    /// it throws is logged and ignored. Default none.
    /// </summary>
    public Action<PeerLostArguments>? OnPeerLost { get; init; }

    /// <summary>Checks every setting and reports all problems together.</summary>
    /// <exception cref="ArgumentException">One or more settings are out of range.</exception>
    public void Validate()
    {
        var problems = new List<string>();
        PirateOptionChecks.Required(problems, Endpoint, nameof(Endpoint));

        PirateOptionChecks.Heartbeat(problems, Heartbeat);

        PirateOptionChecks.RoutingId(problems, RoutingId);

        if (MaxQueuedRequests is < 0 or > MaxQueuedRequestsLimit)
        {
            problems.Add($"MaxQueuedRequests must be 0..{MaxQueuedRequestsLimit} (was {MaxQueuedRequests})");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid Paranoid Pirate worker options: " + string.Join("; ", problems) + ".");
        }
    }
}
