using Reliability.Patterns.Heartbeating;
using Reliability.Testing;

namespace Reliability.Patterns.Tests.Heartbeating;

public sealed class HeartbeatTimerTests
{
    private readonly ManualTimeProvider _clock = new();

    [Fact]
    public void TryFire_BeforeDue_ReturnsFalse()
    {
        var timer = new HeartbeatTimer(TimeSpan.FromSeconds(1), _clock);
        _clock.Advance(TimeSpan.FromMilliseconds(999));

        timer.TryFire().Should().BeFalse();
        timer.DueIn.Should().Be(TimeSpan.FromMilliseconds(1));
    }

    [Fact]
    public void TryFire_WhenDue_ReturnsTrueOnceAndSchedulesNextInterval()
    {
        var timer = new HeartbeatTimer(TimeSpan.FromSeconds(1), _clock);
        _clock.Advance(TimeSpan.FromSeconds(1));

        timer.TryFire().Should().BeTrue();
        timer.TryFire().Should().BeFalse();
        timer.DueIn.Should().Be(TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void TryFire_LoopLateBySeveralIntervals_FiresOnceWithoutCatchUpBurst()
    {
        var timer = new HeartbeatTimer(TimeSpan.FromSeconds(1), _clock);
        _clock.Advance(TimeSpan.FromMilliseconds(5500));

        timer.TryFire().Should().BeTrue();
        timer.TryFire().Should().BeFalse();
        timer.DueAt.Should().Be(_clock.GetTimestamp() + TimeSpan.FromSeconds(1).Ticks);
    }

    [Fact]
    public void MakeDue_Called_MakesHeartbeatDueImmediately()
    {
        var timer = new HeartbeatTimer(TimeSpan.FromSeconds(1), _clock);

        timer.MakeDue();

        timer.IsDue.Should().BeTrue();
        timer.DueIn.Should().Be(TimeSpan.Zero);
    }

    [Fact]
    public void Constructor_NonPositiveInterval_Throws()
    {
        var act = () => new HeartbeatTimer(TimeSpan.Zero, _clock);

        act.Should().Throw<ArgumentOutOfRangeException>();
    }
}
