namespace Reliability.Patterns.Tests.Heartbeating;

/// <summary>A clock with a chosen timestamp frequency, to check unit conversions off the 100 ns grid.</summary>
internal sealed class FrequencyTimeProvider(long frequency) : TimeProvider
{
    public long Timestamp { get; set; }

    public override long TimestampFrequency => frequency;

    public override long GetTimestamp() => Timestamp;
}

/// <summary>A <see cref="Random"/> whose NextDouble always returns the same value.</summary>
internal sealed class FixedRandom(double value) : Random
{
    public int Calls { get; private set; }

    public override double NextDouble()
    {
        Calls++;
        return value;
    }
}
