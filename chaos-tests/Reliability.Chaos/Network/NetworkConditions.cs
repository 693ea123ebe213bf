using System.Globalization;

namespace Reliability.Chaos.Network;

/// <summary>
/// What a <see cref="FaultProxy"/> does to the bytes it forwards. Immutable; switch conditions at
/// run time by assigning <see cref="FaultProxy.Conditions"/>.
/// </summary>
public sealed record NetworkConditions
{
    /// <summary>Largest accepted <see cref="Latency"/> and <see cref="Jitter"/> (1 minute).</summary>
    public static readonly TimeSpan MaxDelay = TimeSpan.FromMinutes(1);

    /// <summary>Forward everything at once (the default).</summary>
    public static NetworkConditions Healthy { get; } = new();

    /// <summary>A partition: see <see cref="BlackHole"/>.</summary>
    public static NetworkConditions Partitioned { get; } = new() { BlackHole = true };

    /// <summary>Added to every chunk of bytes in both directions (default zero).</summary>
    public TimeSpan Latency { get; init; }

    /// <summary>
    /// Each chunk's delay is <see cref="Latency"/> plus a uniform random amount in
    /// ±<see cref="Jitter"/> (never below zero). Byte order is kept, as TCP keeps it, so a chunk
    /// never overtakes an earlier one.
    /// </summary>
    public TimeSpan Jitter { get; init; }

    /// <summary>Bandwidth limit per direction and connection in bytes per second; zero = unlimited.</summary>
    public long BytesPerSecond { get; init; }

    /// <summary>
    /// A partition where the sockets stay open but nothing crosses: the proxy stops reading and
    /// forwarding in both directions and does not connect new connections upstream. Like a real
    /// partition under TCP, bytes (and closes) sent meanwhile are not lost for good: they are
    /// delivered when the partition heals, unless the connection was reset by then. Peers notice
    /// the partition only through their own heartbeats and timeouts.
    /// </summary>
    public bool BlackHole { get; init; }

    /// <summary>Checks the settings.</summary>
    /// <exception cref="ArgumentException">A setting is out of range.</exception>
    public void Validate()
    {
        var problems = new List<string>();
        if (Latency < TimeSpan.Zero || Latency > MaxDelay)
        {
            problems.Add($"Latency must be between zero and {MaxDelay} (was {Latency})");
        }

        if (Jitter < TimeSpan.Zero || Jitter > MaxDelay)
        {
            problems.Add($"Jitter must be between zero and {MaxDelay} (was {Jitter})");
        }

        if (BytesPerSecond < 0)
        {
            problems.Add($"BytesPerSecond must be zero (unlimited) or positive (was {BytesPerSecond})");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid network conditions: " + string.Join("; ", problems) + ".");
        }
    }

    /// <summary>A short description such as <c>latency 50 ms ±20 ms, 64000 B/s</c>.</summary>
    /// <returns>The description.</returns>
    public override string ToString()
    {
        var parts = new List<string>();
        if (BlackHole)
        {
            parts.Add("black-hole");
        }

        if (Latency > TimeSpan.Zero || Jitter > TimeSpan.Zero)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"latency {Latency.TotalMilliseconds:F0} ms ±{Jitter.TotalMilliseconds:F0} ms"));
        }

        if (BytesPerSecond > 0)
        {
            parts.Add(string.Create(CultureInfo.InvariantCulture, $"{BytesPerSecond} B/s"));
        }

        return parts.Count == 0 ? "healthy" : string.Join(", ", parts);
    }
}
