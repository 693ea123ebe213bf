using Reliability.Mdp.Worker;
using Reliability.Patterns.Sessions;
using Reliability.Testing;

namespace Reliability.Mdp.Tests.Worker;

public sealed class WorkerLivenessTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(2500);

    private readonly ManualTimeProvider _clock = new();

    private WorkerLiveness Create(bool brokerHeartbeatsBusy = false, TimeSpan? reconnectMax = null) => new(
        new WorkerOptions
        {
            BrokerEndpoint = "tcp://127.0.0.1:5555",
            Service = "echo",
            BrokerHeartbeatsBusyWorkers = brokerHeartbeatsBusy,
            ReconnectDelayMax = reconnectMax ?? TimeSpan.FromSeconds(10),
        },
        _clock);

    [Fact]
    public void WaitTimeout_AfterConnect_IsOneHeartbeatInterval()
    {
        var liveness = Create();
        liveness.Connected();

        liveness.WaitTimeout.Should().Be(Interval);
        liveness.TryFireHeartbeat().Should().BeFalse();
    }

    [Fact]
    public void TryFireHeartbeat_IntervalElapsed_FiresOnceThenWaitsAnotherInterval()
    {
        var liveness = Create();
        liveness.Connected();

        _clock.Advance(Interval);

        liveness.TryFireHeartbeat().Should().BeTrue();
        liveness.TryFireHeartbeat().Should().BeFalse();
        liveness.WaitTimeout.Should().Be(Interval);
    }

    [Fact]
    public void MessageSent_BeforeHeartbeatDue_PostponesHeartbeat()
    {
        var liveness = Create();
        liveness.Connected();
        _clock.Advance(TimeSpan.FromMilliseconds(2000));

        liveness.MessageSent();
        _clock.Advance(TimeSpan.FromMilliseconds(1000));

        liveness.TryFireHeartbeat().Should().BeFalse("a reply went out 1 s ago; heartbeats only fill silence");
        liveness.WaitTimeout.Should().Be(TimeSpan.FromMilliseconds(1500));
    }

    [Fact]
    public void BrokerDead_SilentForIntervalTimesLiveness_True()
    {
        var liveness = Create();
        liveness.Connected();

        _clock.Advance(Interval * 3 - TimeSpan.FromMilliseconds(1));
        liveness.BrokerDead.Should().BeFalse();

        _clock.Advance(TimeSpan.FromMilliseconds(1));
        liveness.BrokerDead.Should().BeTrue();
    }

    [Fact]
    public void BrokerDead_AnyCommandReceived_RestartsTheSilencePeriod()
    {
        var liveness = Create();
        liveness.Connected();
        _clock.Advance(Interval * 2);

        liveness.Received(provesRegistration: false);
        _clock.Advance(Interval * 2);

        liveness.BrokerDead.Should().BeFalse();
        _clock.Advance(Interval);
        liveness.BrokerDead.Should().BeTrue();
    }

    [Fact]
    public void BrokerDead_BusyAndBrokerHeartbeatsOnlyIdleWorkers_SuspendedUntilReplyThenFullPeriod()
    {
        var liveness = Create();
        liveness.Connected();
        liveness.Received(provesRegistration: true);
        liveness.RequestStarted();

        _clock.Advance(Interval * 10);
        liveness.BrokerDead.Should().BeFalse("zguide brokers do not heartbeat busy workers");
        liveness.WaitTimeout.Should().BeLessThanOrEqualTo(Interval, "heartbeats still go out while busy");

        liveness.FinalReplySent();
        liveness.BrokerDead.Should().BeFalse();
        _clock.Advance(Interval * 3);
        liveness.BrokerDead.Should().BeTrue();
    }

    [Fact]
    public void BrokerDead_BusyAndBrokerHeartbeatsBusyWorkers_Expires()
    {
        var liveness = Create(brokerHeartbeatsBusy: true);
        liveness.Connected();
        liveness.RequestStarted();

        _clock.Advance(Interval * 3);

        liveness.BrokerDead.Should().BeTrue();
    }

    [Fact]
    public void ReconnectDelay_DisconnectFromBrokerThatKnewUs_Immediate()
    {
        var liveness = Create();
        liveness.Connected();
        liveness.Received(provesRegistration: true);

        liveness.ReconnectDelay(SessionEnd.PeerDisconnected).Should().Be(TimeSpan.Zero);
    }

    [Fact]
    public void ReconnectDelay_ConnectionLostFromBrokerThatKnewUs_ImmediateAndBacksOffOtherwise()
    {
        var liveness = Create();
        liveness.Connected();
        liveness.Received(provesRegistration: true);
        liveness.ReconnectDelay(SessionEnd.ConnectionLost).Should().Be(TimeSpan.Zero);

        liveness.Connected();
        liveness.ReconnectDelay(SessionEnd.ConnectionLost).Should().Be(Interval, "a broker that drops us before answering is not hammered");
    }

    [Fact]
    public void ReconnectDelay_DisconnectRightAfterReady_BacksOff()
    {
        var liveness = Create();
        liveness.Connected();

        liveness.ReconnectDelay(SessionEnd.PeerDisconnected).Should().Be(Interval);
        liveness.Connected();
        liveness.ReconnectDelay(SessionEnd.PeerDisconnected).Should().Be(Interval * 2);
    }

    [Fact]
    public void ReconnectDelay_RepeatedSilence_DoublesUpToMaxAndResetsWhenBrokerAnswers()
    {
        var liveness = Create(reconnectMax: TimeSpan.FromSeconds(6));
        var delays = new List<TimeSpan>();
        for (int i = 0; i < 4; i++)
        {
            liveness.Connected();
            delays.Add(liveness.ReconnectDelay(SessionEnd.PeerSilent));
        }

        delays.Should().Equal(Interval, Interval * 2, TimeSpan.FromSeconds(6), TimeSpan.FromSeconds(6));

        liveness.Connected();
        liveness.Received(provesRegistration: true);
        liveness.ReconnectDelay(SessionEnd.PeerSilent).Should().Be(Interval);
    }

    [Fact]
    public void ReconnectDelay_HandlerFailedWithLiveBroker_Immediate()
    {
        var liveness = Create();
        liveness.Connected();
        liveness.Received(provesRegistration: true);

        liveness.ReconnectDelay(SessionEnd.HandlerFailed).Should().Be(TimeSpan.Zero);
    }
}
