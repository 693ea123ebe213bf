using Reliability.Patterns.ParanoidPirate;
using Reliability.Testing;

namespace Reliability.Patterns.Tests.ParanoidPirate;

public sealed class PauseGuardTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);
    private readonly ManualTimeProvider _clock = new();

    [Fact]
    public void MayExpire_PassesWithinTwoIntervals_AlwaysTrue()
    {
        var guard = new PauseGuard(Interval, _clock);

        for (int i = 0; i < 5; i++)
        {
            _clock.Advance(Interval * 2);
            guard.MayExpire().Should().BeTrue();
            guard.Deferred.Should().BeFalse();
        }
    }

    [Fact]
    public void MayExpire_AfterALongPause_DefersOnceThenAllows()
    {
        var guard = new PauseGuard(Interval, _clock);
        _clock.Advance(Interval);
        guard.MayExpire();

        _clock.Advance(TimeSpan.FromSeconds(7));

        guard.MayExpire().Should().BeFalse("the loop itself was stopped for 7 s");
        guard.Deferred.Should().BeTrue();
        guard.LastPause.Should().Be(TimeSpan.FromSeconds(7));
        _clock.Advance(Interval);
        guard.MayExpire().Should().BeTrue();
        guard.Deferred.Should().BeFalse();
    }

    [Fact]
    public void MayExpire_LateOnEveryPass_DefersOnlyEveryOtherPass()
    {
        var guard = new PauseGuard(Interval, _clock);
        var answers = new List<bool>();

        for (int i = 0; i < 6; i++)
        {
            _clock.Advance(Interval * 3);
            answers.Add(guard.MayExpire());
        }

        answers.Should().Equal([false, true, false, true, false, true], "a loop that is always late must still purge dead peers");
    }

    [Fact]
    public void Constructor_NonPositiveInterval_Throws()
    {
        var act = () => new PauseGuard(TimeSpan.Zero, _clock);

        act.Should().Throw<ArgumentOutOfRangeException>();
    }
}
