namespace Reliability.Patterns.Heartbeating;

/// <summary>
/// Delay before the next reconnect attempt after a peer was declared dead: starts at
/// <see cref="HeartbeatOptions.ReconnectInitial"/>, doubles after each failure up to
/// <see cref="HeartbeatOptions.ReconnectMax"/>, and returns to the start on <see cref="Reset"/>
/// (call it when the peer shows any sign of life, as the zguide PPP worker does).
/// </summary>
/// <remarks>Not thread-safe: owned by the loop that reconnects.</remarks>
internal sealed class ReconnectBackoff
{
    private readonly TimeSpan _initial;
    private readonly TimeSpan _max;
    private readonly double _jitter;
    private readonly Random _random;

    /// <summary>Creates a back-off from the reconnect settings of <paramref name="options"/>.</summary>
    /// <param name="options">Validated on construction.</param>
    /// <param name="random">
    /// Source of jitter when <see cref="HeartbeatOptions.ReconnectJitter"/> is above zero;
    /// <see cref="Random.Shared"/> when null. Tests pass a seeded or stubbed instance.
    /// </param>
    /// <exception cref="ArgumentException"><paramref name="options"/> is invalid.</exception>
    public ReconnectBackoff(HeartbeatOptions options, Random? random = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _initial = options.ReconnectInitial;
        _max = options.ReconnectMax;
        _jitter = options.ReconnectJitter;
        _random = random ?? Random.Shared;
        Current = _initial;
    }

    /// <summary>The un-jittered delay the next call to <see cref="NextDelay"/> is based on.</summary>
    public TimeSpan Current { get; private set; }

    /// <summary>Number of <see cref="NextDelay"/> calls since construction or the last <see cref="Reset"/>.</summary>
    public int Attempts { get; private set; }

    /// <summary>
    /// Returns how long to wait before this reconnect attempt and doubles the delay for the next
    /// one (capped). With jitter J the result lies in (Current × (1 − J), Current], so it never
    /// exceeds <see cref="HeartbeatOptions.ReconnectMax"/>.
    /// </summary>
    public TimeSpan NextDelay()
    {
        TimeSpan delay = Current;
        if (_jitter > 0)
        {
            delay = TimeSpan.FromTicks((long)(delay.Ticks * (1 - (_jitter * _random.NextDouble()))));
        }

        // Both operands are capped at one hour, so doubling cannot overflow.
        Current = Current * 2 > _max ? _max : Current * 2;
        Attempts = Attempts == int.MaxValue ? int.MaxValue : Attempts + 1;
        return delay;
    }

    /// <summary>Returns to <see cref="HeartbeatOptions.ReconnectInitial"/> after a successful exchange with the peer.</summary>
    public void Reset()
    {
        Current = _initial;
        Attempts = 0;
    }
}
