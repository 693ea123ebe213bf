namespace Reliability.Patterns.Heartbeating;

/// <summary>
/// Conversions between <see cref="TimeSpan"/> and <see cref="TimeProvider"/> timestamp units.
/// Both directions round up: a deadline computed here is never earlier than the configured
/// duration, and a wait computed here never wakes a loop just before the deadline it waits for.
/// </summary>
internal static class Timestamps
{
    public static long ToUnits(TimeSpan duration, long frequency)
    {
        if (duration <= TimeSpan.Zero)
        {
            return 0;
        }

        // Int128: ticks × frequency overflows long for long durations on a 1 GHz clock. Capped, so a
        // timestamp plus a converted duration (e.g. TimeSpan.MaxValue as "never") cannot overflow.
        Int128 product = (Int128)duration.Ticks * frequency;
        return (long)Int128.Min((product + TimeSpan.TicksPerSecond - 1) / TimeSpan.TicksPerSecond, long.MaxValue / 4);
    }

    public static TimeSpan Until(long now, long deadline, long frequency)
    {
        if (deadline <= now)
        {
            return TimeSpan.Zero;
        }

        Int128 product = (Int128)(deadline - now) * TimeSpan.TicksPerSecond;
        return TimeSpan.FromTicks((long)Int128.Min((product + frequency - 1) / frequency, TimeSpan.MaxValue.Ticks));
    }
}
