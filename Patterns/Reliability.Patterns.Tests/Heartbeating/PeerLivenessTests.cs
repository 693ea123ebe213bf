using Reliability.Patterns.Heartbeating;
using Reliability.Testing;

namespace Reliability.Patterns.Tests.Heartbeating;

public sealed class PeerLivenessTests
{
    private static readonly TimeSpan OneTick = TimeSpan.FromTicks(1);
    private readonly ManualTimeProvider _clock = new();

    [Fact]
    public void IsExpired_SilentForExactlyIntervalTimesLiveness_BecomesTrue()
    {
        var peer = new PeerLiveness(HeartbeatOptions.Default, _clock);

        _clock.Advance(TimeSpan.FromSeconds(3) - OneTick);
        peer.IsExpired.Should().BeFalse();
        peer.ExpiresIn.Should().Be(OneTick);

        _clock.Advance(OneTick);
        peer.IsExpired.Should().BeTrue();
        peer.ExpiresIn.Should().Be(TimeSpan.Zero);
    }

    [Fact]
    public void IsExpired_MajordomoOptions_ExpiresAfter7500Milliseconds()
    {
        var peer = new PeerLiveness(HeartbeatOptions.Majordomo, _clock);

        _clock.Advance(TimeSpan.FromMilliseconds(7499));
        peer.IsExpired.Should().BeFalse();

        _clock.Advance(TimeSpan.FromMilliseconds(1));
        peer.IsExpired.Should().BeTrue();
    }

    [Fact]
    public void ExpiresAt_AfterConstruction_IsLastReceivedPlusExpiryTimeout()
    {
        var peer = new PeerLiveness(new HeartbeatOptions { Interval = TimeSpan.FromMilliseconds(200), Liveness = 5 }, _clock);

        (peer.ExpiresAt - peer.LastReceivedAt).Should().Be(TimeSpan.FromSeconds(1).Ticks);
    }

    [Fact]
    public void MessageReceived_BeforeExpiry_MovesDeadlineToLastMessagePlusTimeout()
    {
        var peer = new PeerLiveness(HeartbeatOptions.Default, _clock);
        _clock.Advance(TimeSpan.FromMilliseconds(2900));

        peer.MessageReceived();
        _clock.Advance(TimeSpan.FromMilliseconds(2999));

        peer.IsExpired.Should().BeFalse();
        peer.ExpiresIn.Should().Be(TimeSpan.FromMilliseconds(1));
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        peer.IsExpired.Should().BeTrue();
    }

    [Fact]
    public void MessageReceived_AnyTrafficJustInsideTheTimeout_KeepsPeerAliveIndefinitely()
    {
        var peer = new PeerLiveness(HeartbeatOptions.Default, _clock);

        for (int i = 0; i < 100; i++)
        {
            _clock.Advance(TimeSpan.FromMilliseconds(2999));
            peer.IsExpired.Should().BeFalse();
            peer.MessageReceived();
        }
    }

    [Fact]
    public void HeartbeatDue_AfterOneInterval_BecomesTrue()
    {
        var peer = new PeerLiveness(HeartbeatOptions.Default, _clock);

        _clock.Advance(TimeSpan.FromMilliseconds(999));
        peer.HeartbeatDue.Should().BeFalse();

        _clock.Advance(TimeSpan.FromMilliseconds(1));
        peer.HeartbeatDue.Should().BeTrue();
    }

    [Fact]
    public void MessageSent_BeforeHeartbeatDue_PostponesHeartbeatByOneInterval()
    {
        var peer = new PeerLiveness(HeartbeatOptions.Default, _clock);
        _clock.Advance(TimeSpan.FromMilliseconds(600));

        peer.MessageSent();
        _clock.Advance(TimeSpan.FromMilliseconds(999));

        peer.HeartbeatDue.Should().BeFalse();
        _clock.Advance(TimeSpan.FromMilliseconds(1));
        peer.HeartbeatDue.Should().BeTrue();
    }

    [Fact]
    public void MessageReceived_Inbound_DoesNotPostponeOurHeartbeat()
    {
        var peer = new PeerLiveness(HeartbeatOptions.Default, _clock);
        _clock.Advance(TimeSpan.FromMilliseconds(600));

        peer.MessageReceived();
        _clock.Advance(TimeSpan.FromMilliseconds(400));

        peer.HeartbeatDue.Should().BeTrue();
    }

    [Fact]
    public void NextDeadline_HeartbeatBeforeExpiry_IsTheHeartbeat()
    {
        var peer = new PeerLiveness(HeartbeatOptions.Default, _clock);

        peer.NextDeadline.Should().Be(peer.NextHeartbeatAt);
        peer.NextDeadlineIn.Should().Be(TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void NextDeadline_ExpiryBeforeHeartbeat_IsTheExpiry()
    {
        var peer = new PeerLiveness(HeartbeatOptions.Default, _clock);
        _clock.Advance(TimeSpan.FromMilliseconds(2500));

        peer.MessageSent();

        peer.NextDeadline.Should().Be(peer.ExpiresAt);
        peer.NextDeadlineIn.Should().Be(TimeSpan.FromMilliseconds(500));
    }

    [Fact]
    public void NextDeadlineIn_DeadlinePassed_IsZero()
    {
        var peer = new PeerLiveness(HeartbeatOptions.Default, _clock);

        _clock.Advance(TimeSpan.FromSeconds(10));

        peer.NextDeadlineIn.Should().Be(TimeSpan.Zero);
    }

    [Fact]
    public void Loop_WaitingForNextDeadline_SendsHeartbeatEveryIntervalAndExpiresOnTime()
    {
        // Simulates a worker loop whose peer went silent: wait, act, repeat.
        var peer = new PeerLiveness(HeartbeatOptions.Default, _clock);
        long start = _clock.GetTimestamp();
        var heartbeatsAt = new List<TimeSpan>();

        for (int i = 0; i < 20 && !peer.IsExpired; i++)
        {
            _clock.Advance(peer.NextDeadlineIn);
            if (peer.Heartbeat.TryFire())
            {
                heartbeatsAt.Add(_clock.GetElapsedTime(start));
            }
        }

        peer.IsExpired.Should().BeTrue();
        _clock.GetElapsedTime(start).Should().Be(TimeSpan.FromSeconds(3));
        heartbeatsAt.Should().Equal(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3));
    }

    [Fact]
    public void Restart_AfterExpiry_StartsFreshLivenessPeriod()
    {
        var peer = new PeerLiveness(HeartbeatOptions.Default, _clock);
        _clock.Advance(TimeSpan.FromSeconds(5));
        peer.IsExpired.Should().BeTrue();

        peer.Restart();

        peer.IsExpired.Should().BeFalse();
        peer.HeartbeatDue.Should().BeFalse();
        peer.ExpiresIn.Should().Be(TimeSpan.FromSeconds(3));
        peer.Heartbeat.DueIn.Should().Be(TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void Constructor_InvalidOptions_Throws()
    {
        var act = () => new PeerLiveness(new HeartbeatOptions { Liveness = 0 }, _clock);

        act.Should().Throw<ArgumentException>().WithMessage("*Liveness*");
    }

    [Fact]
    public void IsExpired_NanosecondClock_ExpiresAfterExactTimeout()
    {
        var clock = new FrequencyTimeProvider(1_000_000_000);
        var peer = new PeerLiveness(HeartbeatOptions.Majordomo, clock);

        clock.Timestamp = 7_499_999_999;
        peer.IsExpired.Should().BeFalse();
        peer.ExpiresIn.Should().Be(OneTick, "a wait is rounded up so it never wakes before the deadline");

        clock.Timestamp = 7_500_000_000;
        peer.IsExpired.Should().BeTrue();
    }

    [Fact]
    public void IsExpired_MillisecondClock_NeverExpiresEarly()
    {
        var clock = new FrequencyTimeProvider(1000);
        var peer = new PeerLiveness(new HeartbeatOptions { Interval = TimeSpan.FromTicks(10_001), Liveness = 1 }, clock);

        clock.Timestamp = 1;
        peer.IsExpired.Should().BeFalse("1.0001 ms is rounded up to 2 clock units");

        clock.Timestamp = 2;
        peer.IsExpired.Should().BeTrue();
    }
}
