namespace Reliability.Transport.Internal;

/// <summary>
/// The one reconnect back-off rule of the toolkit, used by the transport's reconnects and by the patterns'
/// sessions alike (docs/architecture.md, "Back-off"): the delay starts at an initial value, doubles after each
/// attempt up to a cap, returns to the start on <see cref="Reset"/>, and with jitter J each delay is drawn from
/// (current × (1 − J), current], so jitter only ever shortens a delay and the cap stays a true cap.
/// </summary>
/// <remarks>Not thread-safe: owned by the loop that reconnects.</remarks>
internal sealed class Backoff
{
    private readonly TimeSpan _initial;
    private readonly TimeSpan _max;
    private readonly double _jitter;
    private readonly Random _random;

    /// <param name="initial">First delay; positive.</param>
    /// <param name="max">Cap of the doubling; at most <paramref name="initial"/> means a fixed delay.</param>
    /// <param name="jitter">Fraction 0..1 by which a delay may be randomly shortened.</param>
    /// <param name="random">Source of jitter; <see cref="Random.Shared"/> when null. Tests pass a fixed one.</param>
    /// <exception cref="ArgumentOutOfRangeException">A value is out of range.</exception>
    public Backoff(TimeSpan initial, TimeSpan max, double jitter, Random? random = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(initial, TimeSpan.Zero);
        if (!(jitter is >= 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(jitter), jitter, "Jitter must be between 0 and 1.");
        }

        _initial = initial;
        _max = max > initial ? max : initial;
        _jitter = jitter;
        _random = random ?? Random.Shared;
        Current = initial;
    }

    /// <summary>The un-jittered delay the next call to <see cref="NextDelay"/> is based on.</summary>
    public TimeSpan Current { get; private set; }

    /// <summary>Number of <see cref="NextDelay"/> calls since construction or the last <see cref="Reset"/>.</summary>
    public int Attempts { get; private set; }

    /// <summary>Returns how long to wait before this attempt and doubles the delay for the next one (capped).</summary>
    public TimeSpan NextDelay()
    {
        TimeSpan delay = Current;
        if (_jitter > 0)
        {
            delay = TimeSpan.FromTicks((long)(delay.Ticks * (1 - (_jitter * _random.NextDouble()))));
        }

        Current = Current > _max / 2 ? _max : Current * 2;
        Attempts = Attempts == int.MaxValue ? int.MaxValue : Attempts + 1;
        return delay;
    }

    /// <summary>Returns to the initial delay after a successful exchange with the peer.</summary>
    public void Reset()
    {
        Current = _initial;
        Attempts = 0;
    }
}
