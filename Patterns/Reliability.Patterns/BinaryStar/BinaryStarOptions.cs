namespace Reliability.Patterns.BinaryStar;

/// <summary>
/// Settings of a <see cref="BinaryStarNode"/>: its role and the two endpoints of the link between the
/// nodes (zguide <c>bstar</c>: heartbeat 1000 ms). Validated once when the node is created; every
/// problem is reported together.
/// </summary>
public sealed record BinaryStarOptions
{
    /// <summary>Shortest accepted <see cref="Heartbeat"/> (10 ms).</summary>
    public static readonly TimeSpan MinHeartbeat = TimeSpan.FromMilliseconds(10);

    /// <summary>Longest accepted <see cref="Heartbeat"/> (1 minute).</summary>
    public static readonly TimeSpan MaxHeartbeat = TimeSpan.FromMinutes(1);

    /// <summary>Primary or backup (required: the pair needs one of each).</summary>
    public BinaryStarRole Role { get; init; } = BinaryStarRole.Primary;

    /// <summary>Where this node's PUB socket binds to publish its state, e.g. <c>tcp://*:5003</c> (required).</summary>
    public string LocalEndpoint { get; init; } = string.Empty;

    /// <summary>The peer's state endpoint, which this node's SUB socket connects to, e.g. <c>tcp://10.0.0.2:5004</c> (required).</summary>
    public string RemoteEndpoint { get; init; } = string.Empty;

    /// <summary>
    /// How often the node publishes its state (default 1000 ms; <see cref="MinHeartbeat"/>..<see cref="MaxHeartbeat"/>).
    /// Use the same value on both nodes: a node counts its peer as gone two heartbeats after it last heard it.
    /// </summary>
    public TimeSpan Heartbeat { get; init; } = TimeSpan.FromMilliseconds(1000);

    /// <summary>
    /// Called after every state change, on the thread that caused it (keep it short; an exception it
    /// throws is logged and ignored). Default none.
    /// </summary>
    public Action<BinaryStarStateChange>? OnStateChanged { get; init; }

    /// <summary>Checks every setting and reports all problems together.</summary>
    /// <exception cref="ArgumentException">One or more settings are out of range.</exception>
    public void Validate()
    {
        var problems = GetProblems();
        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid Binary Star options: " + string.Join("; ", problems) + ".");
        }
    }

    /// <summary>Every problem with these settings, empty when they are valid (for hosts that report them with their own).</summary>
    internal List<string> GetProblems()
    {
        var problems = new List<string>();
        if (Role is not (BinaryStarRole.Primary or BinaryStarRole.Backup))
        {
            problems.Add($"Role must be Primary or Backup (was {Role})");
        }

        OptionChecks.Endpoint(LocalEndpoint, nameof(LocalEndpoint), problems);
        OptionChecks.Endpoint(RemoteEndpoint, nameof(RemoteEndpoint), problems);
        if (Heartbeat < MinHeartbeat || Heartbeat > MaxHeartbeat)
        {
            problems.Add($"Heartbeat must be {MinHeartbeat}..{MaxHeartbeat} (was {Heartbeat})");
        }

        return problems;
    }
}
