using Reliability.Patterns.Heartbeating;

namespace Reliability.Patterns.ParanoidPirate;

/// <summary>Settings of a <see cref="ParanoidPirateQueue"/>; validated when the queue is created.</summary>
public sealed record ParanoidPirateQueueOptions
{
    /// <summary>Largest accepted <see cref="MaxRequeues"/>.</summary>
    public const int MaxRequeuesLimit = 10;

    /// <summary>Largest accepted <see cref="MaxHeldRepliesPerClient"/>.</summary>
    public const int MaxHeldRepliesLimit = 10_000_000;

    /// <summary>Largest accepted <see cref="RequeueMaxAge"/> (1 hour).</summary>
    public static readonly TimeSpan RequeueMaxAgeLimit = TimeSpan.FromHours(1);

    /// <summary>Endpoint the clients' side binds (default <c>tcp://127.0.0.1:5555</c>, as the zguide's ppqueue).</summary>
    public string FrontendEndpoint { get; init; } = "tcp://127.0.0.1:5555";

    /// <summary>Endpoint the workers' side binds (default <c>tcp://127.0.0.1:5556</c>).</summary>
    public string BackendEndpoint { get; init; } = "tcp://127.0.0.1:5556";

    /// <summary>
    /// Heartbeat interval and liveness; workers must use the same values (default
    /// <see cref="HeartbeatOptions.Default"/>: 1 s × 3). Only <see cref="HeartbeatOptions.Interval"/>
    /// and <see cref="HeartbeatOptions.Liveness"/> matter to the queue.
    /// </summary>
    public HeartbeatOptions Heartbeat { get; init; } = HeartbeatOptions.Default;

    /// <summary>
    /// How many times a request whose worker died (expired, disconnected, or restarted and said
    /// READY again) is handed to another worker, ahead of new requests (default 1; 0 = drop it at
    /// once and let the client's retry recover it). Dropped requests are logged and counted in
    /// <c>reliability.pirate.requests.abandoned</c>. Range 0..<see cref="MaxRequeuesLimit"/>.
    /// </summary>
    public int MaxRequeues { get; init; } = 1;

    /// <summary>
    /// A lost request older than this (since the queue received it) is dropped rather than
    /// requeued: its client has retried or given up by then (default 5 s, two Lazy Pirate timeouts).
    /// Range: positive, at most <see cref="RequeueMaxAgeLimit"/>.
    /// </summary>
    public TimeSpan RequeueMaxAge { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Replies the queue holds for a client that is not reading them (its queue on the frontend is full)
    /// before it stops reading that client's requests until half of them are gone (default 100 000, so a
    /// client that sends that many requests before it reads a reply is served; 1..<see cref="MaxHeldRepliesLimit"/>).
    /// Replies are never dropped while their client is connected.
    /// </summary>
    public int MaxHeldRepliesPerClient { get; init; } = 100_000;

    /// <summary>
    /// Called when the queue removes a worker (heartbeats stopped, or a send found it gone), on the
    /// queue's loop: keep it short and non-blocking; an exception it throws is logged and ignored. Default none.
    /// </summary>
    public Action<WorkerExpiredArguments>? OnWorkerExpired { get; init; }

    /// <summary>Checks every setting and reports all problems together.</summary>
    /// <exception cref="ArgumentException">One or more settings are out of range.</exception>
    public void Validate()
    {
        var problems = new List<string>();
        PirateOptionChecks.Required(problems, FrontendEndpoint, nameof(FrontendEndpoint));
        PirateOptionChecks.Required(problems, BackendEndpoint, nameof(BackendEndpoint));

        PirateOptionChecks.Heartbeat(problems, Heartbeat);

        if (MaxHeldRepliesPerClient is < 1 or > MaxHeldRepliesLimit)
        {
            problems.Add($"MaxHeldRepliesPerClient must be 1..{MaxHeldRepliesLimit} (was {MaxHeldRepliesPerClient})");
        }

        if (MaxRequeues is < 0 or > MaxRequeuesLimit)
        {
            problems.Add($"MaxRequeues must be 0..{MaxRequeuesLimit} (was {MaxRequeues})");
        }

        if (RequeueMaxAge <= TimeSpan.Zero || RequeueMaxAge > RequeueMaxAgeLimit)
        {
            problems.Add($"RequeueMaxAge must be positive and at most {RequeueMaxAgeLimit} (was {RequeueMaxAge})");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid Paranoid Pirate queue options: " + string.Join("; ", problems) + ".");
        }
    }
}
