using Reliability.Transport.Internal;

namespace Reliability.Patterns.Heartbeating;

/// <summary>
/// Heartbeat, liveness and reconnect settings shared by Paranoid Pirate and Majordomo.
/// Both ends of a connection should use the same <see cref="Interval"/> and <see cref="Liveness"/>:
/// mismatched values cause false disconnects (RFC 7 "known weaknesses").
/// </summary>
public sealed record HeartbeatOptions
{
    /// <summary>Smallest accepted <see cref="Interval"/> (1 ms).</summary>
    public static readonly TimeSpan MinInterval = TimeSpan.FromMilliseconds(1);

    /// <summary>Largest accepted <see cref="Interval"/> (10 minutes).</summary>
    public static readonly TimeSpan MaxInterval = TimeSpan.FromMinutes(10);

    /// <summary>Largest accepted <see cref="Liveness"/> (100 missed intervals).</summary>
    public const int MaxLiveness = 100;

    /// <summary>Largest accepted <see cref="ReconnectInitial"/> and <see cref="ReconnectMax"/> (1 hour).</summary>
    public static readonly TimeSpan MaxReconnectDelay = TimeSpan.FromHours(1);

    /// <summary>The zguide Paranoid Pirate defaults: 1 s interval, liveness 3, back-off 1 s doubling to 32 s.</summary>
    public static HeartbeatOptions Default { get; } = new();

    /// <summary>
    /// The zguide Majordomo values (mdbroker.c / mdwrkapi.c): 2.5 s interval, liveness 3 (expiry 7.5 s),
    /// reconnect after 2.5 s without back-off.
    /// </summary>
    public static HeartbeatOptions Majordomo { get; } = new()
    {
        Interval = TimeSpan.FromMilliseconds(2500),
        ReconnectInitial = TimeSpan.FromMilliseconds(2500),
        ReconnectMax = TimeSpan.FromMilliseconds(2500),
    };

    /// <summary>
    /// How often a heartbeat is sent when no other traffic went out (default 1 s, zguide
    /// <c>HEARTBEAT_INTERVAL</c> for PPP). Range <see cref="MinInterval"/>..<see cref="MaxInterval"/>.
    /// </summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How many intervals may pass without any inbound traffic before the peer is declared dead
    /// (default 3, zguide <c>HEARTBEAT_LIVENESS</c>; range 1..<see cref="MaxLiveness"/>; the RFCs advise 3–5).
    /// </summary>
    public int Liveness { get; init; } = 3;

    /// <summary>First wait before reconnecting after the peer was declared dead (default 1 s, zguide <c>INTERVAL_INIT</c>).</summary>
    public TimeSpan ReconnectInitial { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Cap of the doubling reconnect back-off (default 32 s, zguide <c>INTERVAL_MAX</c>); equal to
    /// <see cref="ReconnectInitial"/> for a fixed delay. Must not be less than <see cref="ReconnectInitial"/>.
    /// </summary>
    public TimeSpan ReconnectMax { get; init; } = TimeSpan.FromSeconds(32);

    /// <summary>
    /// Fraction (0..1) by which each reconnect delay is randomly shortened, so that many peers that
    /// lost the same server do not all come back in the same instant (default 0 = exact zguide delays).
    /// </summary>
    public double ReconnectJitter { get; init; }

    /// <summary>
    /// The reconnect back-off these settings describe: <see cref="ReconnectInitial"/> doubling to <see cref="ReconnectMax"/>,
    /// shortened by up to <see cref="ReconnectJitter"/>; reset it when the peer shows any sign of life (as the zguide's ppworker does).
    /// </summary>
    /// <param name="random">Source of jitter; <see cref="Random.Shared"/> when null.</param>
    /// <exception cref="ArgumentException">The settings are invalid.</exception>
    internal Backoff CreateBackoff(Random? random = null)
    {
        Validate();
        return new Backoff(ReconnectInitial, ReconnectMax, ReconnectJitter, random);
    }

    /// <summary>Silence after which a peer is dead: <see cref="Interval"/> × <see cref="Liveness"/>.</summary>
    public TimeSpan ExpiryTimeout => Interval * Liveness;

    /// <summary>Checks every setting and reports all problems together.</summary>
    /// <exception cref="ArgumentException">One or more settings are out of range.</exception>
    public void Validate()
    {
        var problems = new List<string>();
        if (Interval < MinInterval || Interval > MaxInterval)
        {
            problems.Add($"Interval must be between {MinInterval} and {MaxInterval} (was {Interval})");
        }

        if (Liveness is < 1 or > MaxLiveness)
        {
            problems.Add($"Liveness must be 1..{MaxLiveness} (was {Liveness})");
        }

        if (ReconnectInitial <= TimeSpan.Zero || ReconnectInitial > MaxReconnectDelay)
        {
            problems.Add($"ReconnectInitial must be positive and at most {MaxReconnectDelay} (was {ReconnectInitial})");
        }

        if (ReconnectMax <= TimeSpan.Zero || ReconnectMax > MaxReconnectDelay)
        {
            problems.Add($"ReconnectMax must be positive and at most {MaxReconnectDelay} (was {ReconnectMax})");
        }
        else if (ReconnectMax < ReconnectInitial)
        {
            problems.Add($"ReconnectMax must not be less than ReconnectInitial (was {ReconnectMax} < {ReconnectInitial})");
        }

        // The negated form also rejects NaN.
        if (!(ReconnectJitter is >= 0 and <= 1))
        {
            problems.Add($"ReconnectJitter must be between 0 and 1 (was {ReconnectJitter})");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid heartbeat options: " + string.Join("; ", problems) + ".");
        }
    }
}
