using Microsoft.Extensions.Time.Testing;
using Reliability.Patterns.BinaryStar;

namespace Reliability.Patterns.Tests.BinaryStar;

/// <summary>Every row of the Binary Star transition table (docs/patterns/binary-star.md §3), on a fake clock.</summary>
public sealed class BinaryStarCoreTests
{
    private static readonly TimeSpan Heartbeat = TimeSpan.FromMilliseconds(1000);

    private readonly FakeTimeProvider _time = new();

    private long Now => _time.GetTimestamp();

    private BinaryStarCore Create(BinaryStarRole role) => new(role, Heartbeat, Now, _time.TimestampFrequency);

    /// <summary>A core in <paramref name="state"/>, reached through the table itself.</summary>
    private BinaryStarCore InState(BinaryStarState state)
    {
        var core = state == BinaryStarState.Backup ? Create(BinaryStarRole.Backup) : Create(BinaryStarRole.Primary);
        if (state == BinaryStarState.Active)
        {
            core.OnPeerState(BinaryStarState.Backup, Now);
        }
        else if (state == BinaryStarState.Passive)
        {
            core.OnPeerState(BinaryStarState.Active, Now);
        }

        core.State.Should().Be(state);
        return core;
    }

    [Theory]
    [InlineData(BinaryStarRole.Primary, BinaryStarState.Primary)]
    [InlineData(BinaryStarRole.Backup, BinaryStarState.Backup)]
    public void New_StartsInItsRolesState(BinaryStarRole role, BinaryStarState expected)
    {
        var core = Create(role);

        core.State.Should().Be(expected);
        core.Failed.Should().BeFalse();
        core.PeerExpiry.Should().Be(Now + (2 * Heartbeat.Ticks * _time.TimestampFrequency / TimeSpan.TicksPerSecond));
    }

    // All sixteen (state, peer state) pairs: the table's rows and the pairs it leaves unchanged.
    [Theory]
    [InlineData(BinaryStarState.Primary, BinaryStarState.Primary, BinaryStarState.Primary)]
    [InlineData(BinaryStarState.Primary, BinaryStarState.Backup, BinaryStarState.Active)]
    [InlineData(BinaryStarState.Primary, BinaryStarState.Active, BinaryStarState.Passive)]
    [InlineData(BinaryStarState.Primary, BinaryStarState.Passive, BinaryStarState.Primary)]
    [InlineData(BinaryStarState.Backup, BinaryStarState.Primary, BinaryStarState.Backup)]
    [InlineData(BinaryStarState.Backup, BinaryStarState.Backup, BinaryStarState.Backup)]
    [InlineData(BinaryStarState.Backup, BinaryStarState.Active, BinaryStarState.Passive)]
    [InlineData(BinaryStarState.Backup, BinaryStarState.Passive, BinaryStarState.Backup)]
    [InlineData(BinaryStarState.Active, BinaryStarState.Primary, BinaryStarState.Active)]
    [InlineData(BinaryStarState.Active, BinaryStarState.Backup, BinaryStarState.Active)]
    [InlineData(BinaryStarState.Active, BinaryStarState.Passive, BinaryStarState.Active)]
    [InlineData(BinaryStarState.Passive, BinaryStarState.Primary, BinaryStarState.Active)]
    [InlineData(BinaryStarState.Passive, BinaryStarState.Backup, BinaryStarState.Active)]
    [InlineData(BinaryStarState.Passive, BinaryStarState.Active, BinaryStarState.Passive)]
    public void OnPeerState_FollowsTheTable(BinaryStarState state, BinaryStarState peer, BinaryStarState expected)
    {
        var core = InState(state);

        var step = core.OnPeerState(peer, Now);

        step.Outcome.Should().Be(BinaryStarOutcome.Accepted);
        step.From.Should().Be(state);
        step.To.Should().Be(expected);
        step.Changed.Should().Be(state != expected);
        core.State.Should().Be(expected);
        core.Failed.Should().BeFalse();
    }

    [Theory]
    [InlineData(BinaryStarState.Active, BinaryStarState.Active)]
    [InlineData(BinaryStarState.Passive, BinaryStarState.Passive)]
    public void OnPeerState_PeerInTheSameActiveOrPassiveState_IsSplitBrain(BinaryStarState state, BinaryStarState peer)
    {
        var core = InState(state);

        var step = core.OnPeerState(peer, Now);

        step.Outcome.Should().Be(BinaryStarOutcome.SplitBrain);
        step.Changed.Should().BeFalse();
        core.State.Should().Be(state);
        core.Failed.Should().BeTrue();
    }

    [Fact]
    public void AfterSplitBrain_EveryInputIsSplitBrain_AndTheStateStays()
    {
        var core = InState(BinaryStarState.Active);
        core.OnPeerState(BinaryStarState.Active, Now);

        _time.Advance(Heartbeat * 10);

        core.OnClientRequest(Now).Outcome.Should().Be(BinaryStarOutcome.SplitBrain);
        core.OnPeerState(BinaryStarState.Primary, Now).Outcome.Should().Be(BinaryStarOutcome.SplitBrain);
        core.OnPeerState(BinaryStarState.Passive, Now).Outcome.Should().Be(BinaryStarOutcome.SplitBrain);
        core.State.Should().Be(BinaryStarState.Active);
    }

    [Fact]
    public void Active_ClientRequest_IsServed()
    {
        var core = InState(BinaryStarState.Active);

        var step = core.OnClientRequest(Now);

        step.Outcome.Should().Be(BinaryStarOutcome.Accepted);
        step.Changed.Should().BeFalse();
    }

    [Fact]
    public void Backup_ClientRequest_IsRejected_EvenLongAfterThePeerWentSilent()
    {
        var core = InState(BinaryStarState.Backup);
        core.OnClientRequest(Now).Outcome.Should().Be(BinaryStarOutcome.Rejected);

        _time.Advance(Heartbeat * 100);

        var step = core.OnClientRequest(Now);
        step.Outcome.Should().Be(BinaryStarOutcome.Rejected);
        core.State.Should().Be(BinaryStarState.Backup);
    }

    [Theory]
    [InlineData(BinaryStarState.Primary)]
    [InlineData(BinaryStarState.Passive)]
    public void ClientRequest_BeforePeerExpiry_IsRejected_AndAtExpiryMakesTheNodeActive(BinaryStarState state)
    {
        var core = InState(state);
        long expiry = core.PeerExpiry;

        _time.Advance(Heartbeat * 2 - TimeSpan.FromTicks(1));
        core.OnClientRequest(Now).Outcome.Should().Be(BinaryStarOutcome.Rejected);
        core.State.Should().Be(state);

        _time.Advance(TimeSpan.FromTicks(1));
        Now.Should().Be(expiry);
        var step = core.OnClientRequest(Now);

        step.Outcome.Should().Be(BinaryStarOutcome.Accepted);
        step.From.Should().Be(state);
        step.To.Should().Be(BinaryStarState.Active);
        core.OnClientRequest(Now).Outcome.Should().Be(BinaryStarOutcome.Accepted);
    }

    [Fact]
    public void PeerExpiry_IsTheLastPeerStatePlusTwoHeartbeats()
    {
        var core = InState(BinaryStarState.Passive);

        // The active peer keeps publishing: each state pushes the expiry out.
        for (int i = 0; i < 5; i++)
        {
            _time.Advance(Heartbeat);
            core.OnPeerState(BinaryStarState.Active, Now);
            core.PeerExpiry.Should().Be(Now + (2 * Heartbeat.Ticks));
            core.OnClientRequest(Now).Outcome.Should().Be(BinaryStarOutcome.Rejected);
        }

        // Then it goes silent: 1.5 heartbeats later still rejected, 2 heartbeats later taken over.
        long lastHeard = Now;
        _time.Advance(Heartbeat * 1.5);
        core.OnClientRequest(Now).Outcome.Should().Be(BinaryStarOutcome.Rejected);
        _time.Advance(Heartbeat * 0.5);
        Now.Should().Be(lastHeard + (2 * Heartbeat.Ticks));
        core.OnClientRequest(Now).To.Should().Be(BinaryStarState.Active);
    }

    [Fact]
    public void Primary_PeerSilentButNoClient_StaysPrimary()
    {
        // Silence alone never makes a node active; only a client request after the expiry does.
        var core = InState(BinaryStarState.Primary);

        _time.Advance(Heartbeat * 50);

        core.State.Should().Be(BinaryStarState.Primary);
        core.OnClientRequest(Now).To.Should().Be(BinaryStarState.Active);
    }

    [Fact]
    public void Primary_HearingAWaitingPrimaryPeer_PushesTheExpiryOut()
    {
        var core = InState(BinaryStarState.Primary);
        _time.Advance(Heartbeat * 1.5);
        core.OnPeerState(BinaryStarState.Primary, Now);

        _time.Advance(Heartbeat);
        core.OnClientRequest(Now).Outcome.Should().Be(BinaryStarOutcome.Rejected);

        _time.Advance(Heartbeat);
        core.OnClientRequest(Now).Outcome.Should().Be(BinaryStarOutcome.Accepted);
    }

    [Fact]
    public void Failover_ThenTheOldActiveRestarts_ItComesBackPassive()
    {
        // Both nodes' cores side by side, fed what they would hear on the wire.
        var primary = Create(BinaryStarRole.Primary);
        var backup = Create(BinaryStarRole.Backup);
        backup.OnPeerState(primary.State, Now);
        primary.OnPeerState(backup.State, Now);
        backup.OnPeerState(primary.State, Now);
        (primary.State, backup.State).Should().Be((BinaryStarState.Active, BinaryStarState.Passive));

        // The primary dies; a client asks the backup once the primary's last state is two heartbeats old.
        _time.Advance(Heartbeat);
        backup.OnClientRequest(Now).Outcome.Should().Be(BinaryStarOutcome.Rejected);
        _time.Advance(Heartbeat);
        backup.OnClientRequest(Now).To.Should().Be(BinaryStarState.Active);

        // The primary restarts in its role, hears the active backup and becomes passive.
        var restarted = Create(BinaryStarRole.Primary);
        backup.OnPeerState(restarted.State, Now).To.Should().Be(BinaryStarState.Active);
        restarted.OnPeerState(backup.State, Now).To.Should().Be(BinaryStarState.Passive);
        restarted.OnClientRequest(Now).Outcome.Should().Be(BinaryStarOutcome.Rejected);
    }

    [Fact]
    public void New_NonPositiveHeartbeat_Throws()
    {
        var create = () => new BinaryStarCore(BinaryStarRole.Primary, TimeSpan.Zero, 0, TimeSpan.TicksPerSecond);

        create.Should().Throw<ArgumentOutOfRangeException>();
    }
}
