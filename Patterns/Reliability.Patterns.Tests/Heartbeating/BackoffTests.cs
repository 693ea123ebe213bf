using Reliability.Patterns.Heartbeating;

namespace Reliability.Patterns.Tests.Heartbeating;

/// <summary>The one back-off rule (transport and sessions), built from heartbeat settings.</summary>
public sealed class BackoffTests
{
    private static TimeSpan Ms(int value) => TimeSpan.FromMilliseconds(value);

    [Fact]
    public void NextDelay_RepeatedFailures_DoublesUpToMax()
    {
        var backoff = HeartbeatOptions.Default.CreateBackoff();

        var delays = Enumerable.Range(0, 9).Select(_ => backoff.NextDelay()).ToList();

        delays.Should().Equal(Ms(1000), Ms(2000), Ms(4000), Ms(8000), Ms(16_000), Ms(32_000), Ms(32_000), Ms(32_000), Ms(32_000));
        backoff.Attempts.Should().Be(9);
    }

    [Fact]
    public void NextDelay_MaxNotAPowerOfTwoMultiple_CapsAtMaxExactly()
    {
        var backoff = (new HeartbeatOptions { ReconnectInitial = Ms(300), ReconnectMax = Ms(1000) }).CreateBackoff();

        var delays = Enumerable.Range(0, 5).Select(_ => backoff.NextDelay()).ToList();

        delays.Should().Equal(Ms(300), Ms(600), Ms(1000), Ms(1000), Ms(1000));
    }

    [Fact]
    public void NextDelay_MajordomoOptions_IsFixed()
    {
        var backoff = HeartbeatOptions.Majordomo.CreateBackoff();

        var delays = Enumerable.Range(0, 4).Select(_ => backoff.NextDelay()).ToList();

        delays.Should().AllBeEquivalentTo(Ms(2500));
    }

    [Fact]
    public void Reset_AfterFailures_StartsAgainFromInitial()
    {
        var backoff = HeartbeatOptions.Default.CreateBackoff();
        for (int i = 0; i < 4; i++)
        {
            backoff.NextDelay();
        }

        backoff.Current.Should().Be(Ms(16_000));

        backoff.Reset();

        backoff.Current.Should().Be(Ms(1000));
        backoff.Attempts.Should().Be(0);
        backoff.NextDelay().Should().Be(Ms(1000));
        backoff.NextDelay().Should().Be(Ms(2000));
    }

    [Fact]
    public void NextDelay_WithJitter_ShortensDelayByRandomFraction()
    {
        var random = new FixedRandom(0.5);
        var backoff = (HeartbeatOptions.Default with { ReconnectJitter = 0.2 }).CreateBackoff(random);

        backoff.NextDelay().Should().Be(Ms(900));
        backoff.NextDelay().Should().Be(Ms(1800));
        backoff.Current.Should().Be(Ms(4000), "jitter does not change the un-jittered progression");
        random.Calls.Should().Be(2);
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.999999)]
    public void NextDelay_WithFullJitterAtCap_NeverExceedsMax(double sample)
    {
        var backoff = (HeartbeatOptions.Default with { ReconnectJitter = 1 }).CreateBackoff(new FixedRandom(sample));

        var delays = Enumerable.Range(0, 8).Select(_ => backoff.NextDelay()).ToList();

        delays.Should().OnlyContain(d => d >= TimeSpan.Zero && d <= Ms(32_000));
    }

    [Fact]
    public void NextDelay_NoJitter_DoesNotUseRandom()
    {
        var random = new FixedRandom(0.5);
        var backoff = HeartbeatOptions.Default.CreateBackoff(random);

        backoff.NextDelay();

        random.Calls.Should().Be(0);
    }

    [Fact]
    public void CreateBackoff_InvalidOptions_Throws()
    {
        var act = () => (new HeartbeatOptions { ReconnectMax = Ms(10) }).CreateBackoff();

        act.Should().Throw<ArgumentException>().WithMessage("*ReconnectMax must not be less than ReconnectInitial*");
    }

    [Fact]
    public void MaxBelowInitial_GivesAFixedDelay_AsTheTransportUsesIt()
    {
        // SocketOptions: ReconnectIntervalMax zero (the default) means no doubling.
        var backoff = new Reliability.Transport.Internal.Backoff(Ms(100), TimeSpan.Zero, jitter: 0);

        Enumerable.Range(0, 4).Select(_ => backoff.NextDelay()).Should().Equal(Ms(100), Ms(100), Ms(100), Ms(100));
    }

    [Fact]
    public void Jitter_OnlyShortensTheDelay()
    {
        var backoff = new Reliability.Transport.Internal.Backoff(Ms(100), Ms(100), jitter: 0.5, new FixedRandom(0.999));

        backoff.NextDelay().Should().BeGreaterThan(Ms(50)).And.BeLessThanOrEqualTo(Ms(100));
    }
}
