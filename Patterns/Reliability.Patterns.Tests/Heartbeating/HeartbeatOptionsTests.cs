using Reliability.Patterns.Heartbeating;

namespace Reliability.Patterns.Tests.Heartbeating;

public sealed class HeartbeatOptionsTests
{
    [Fact]
    public void Default_Values_MatchZguideParanoidPirate()
    {
        var options = HeartbeatOptions.Default;

        options.Interval.Should().Be(TimeSpan.FromMilliseconds(1000));
        options.Liveness.Should().Be(3);
        options.ReconnectInitial.Should().Be(TimeSpan.FromMilliseconds(1000));
        options.ReconnectMax.Should().Be(TimeSpan.FromMilliseconds(32_000));
        options.ReconnectJitter.Should().Be(0);
        options.ExpiryTimeout.Should().Be(TimeSpan.FromSeconds(3));
    }

    [Fact]
    public void Majordomo_Values_MatchZguideMajordomo()
    {
        var options = HeartbeatOptions.Majordomo;

        options.Interval.Should().Be(TimeSpan.FromMilliseconds(2500));
        options.Liveness.Should().Be(3);
        options.ExpiryTimeout.Should().Be(TimeSpan.FromMilliseconds(7500));
        options.ReconnectInitial.Should().Be(TimeSpan.FromMilliseconds(2500));
        options.ReconnectMax.Should().Be(TimeSpan.FromMilliseconds(2500));
    }

    [Fact]
    public void ExpiryTimeout_CustomIntervalAndLiveness_IsTheirProduct()
    {
        var options = new HeartbeatOptions { Interval = TimeSpan.FromMilliseconds(250), Liveness = 5 };

        options.ExpiryTimeout.Should().Be(TimeSpan.FromMilliseconds(1250));
    }

    [Fact]
    public void Validate_Presets_DoNotThrow()
    {
        HeartbeatOptions.Default.Invoking(o => o.Validate()).Should().NotThrow();
        HeartbeatOptions.Majordomo.Invoking(o => o.Validate()).Should().NotThrow();
    }

    [Theory]
    [InlineData(1)]
    [InlineData(HeartbeatOptions.MaxLiveness)]
    public void Validate_LivenessAtBounds_DoesNotThrow(int liveness)
    {
        var options = new HeartbeatOptions { Liveness = liveness };

        options.Invoking(o => o.Validate()).Should().NotThrow();
    }

    [Fact]
    public void Validate_SeveralInvalidSettings_ReportsAllTogether()
    {
        var options = new HeartbeatOptions
        {
            Interval = TimeSpan.Zero,
            Liveness = 0,
            ReconnectInitial = TimeSpan.FromSeconds(10),
            ReconnectMax = TimeSpan.FromSeconds(5),
            ReconnectJitter = 1.5,
        };

        var thrown = options.Invoking(o => o.Validate()).Should().Throw<ArgumentException>().Which;

        thrown.Message.Should().StartWith("Invalid heartbeat options: ")
            .And.Contain("Interval must be between")
            .And.Contain("Liveness must be 1..100 (was 0)")
            .And.Contain("ReconnectMax must not be less than ReconnectInitial")
            .And.Contain("ReconnectJitter must be between 0 and 1 (was 1.5)");
    }

    [Fact]
    public void Validate_ValuesAboveHardCaps_Throws()
    {
        var options = new HeartbeatOptions
        {
            Interval = HeartbeatOptions.MaxInterval + TimeSpan.FromTicks(1),
            Liveness = HeartbeatOptions.MaxLiveness + 1,
            ReconnectMax = TimeSpan.FromHours(2),
        };

        var thrown = options.Invoking(o => o.Validate()).Should().Throw<ArgumentException>().Which;

        thrown.Message.Should().Contain("Interval must be between")
            .And.Contain("Liveness must be 1..100 (was 101)")
            .And.Contain("ReconnectMax must be positive and at most");
    }

    [Fact]
    public void Validate_NegativeReconnectInitial_Throws()
    {
        var options = new HeartbeatOptions { ReconnectInitial = TimeSpan.FromSeconds(-1) };

        options.Invoking(o => o.Validate()).Should().Throw<ArgumentException>()
            .WithMessage("*ReconnectInitial must be positive*");
    }

    [Fact]
    public void Validate_NaNJitter_Throws()
    {
        var options = new HeartbeatOptions { ReconnectJitter = double.NaN };

        options.Invoking(o => o.Validate()).Should().Throw<ArgumentException>()
            .WithMessage("*ReconnectJitter must be between 0 and 1*");
    }
}
