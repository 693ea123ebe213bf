using Reliability.Patterns.Heartbeating;
using Reliability.Testing;

namespace Reliability.Patterns.Tests.Heartbeating;

public sealed class LivenessTrackerTests
{
    private static readonly TimeSpan Expiry = TimeSpan.FromSeconds(3);
    private readonly ManualTimeProvider _clock = new();

    private static TimeSpan Ms(int value) => TimeSpan.FromMilliseconds(value);

    [Fact]
    public void CollectExpired_PeerSilentForExpiryTimeout_CollectsItExactlyAtDeadline()
    {
        var tracker = new LivenessTracker<string>(HeartbeatOptions.Default, _clock);
        tracker.Touch("w1");

        _clock.Advance(Expiry - TimeSpan.FromTicks(1));
        tracker.CollectExpired().Should().BeEmpty();
        tracker.Contains("w1").Should().BeTrue();

        _clock.Advance(TimeSpan.FromTicks(1));
        tracker.CollectExpired().Should().Equal("w1");
        tracker.Contains("w1").Should().BeFalse();
        tracker.Count.Should().Be(0);
    }

    [Fact]
    public void CollectExpired_PeerTouchedByAnyMessage_IsNotCollected()
    {
        var tracker = new LivenessTracker<string>(Expiry, _clock);
        tracker.Touch("w1");

        for (int i = 0; i < 10; i++)
        {
            _clock.Advance(Ms(2999));
            tracker.Touch("w1").Should().BeFalse();
            tracker.CollectExpired().Should().BeEmpty();
        }

        tracker.TryGetExpiresAt("w1", out long expiresAt).Should().BeTrue();
        expiresAt.Should().Be(_clock.GetTimestamp() + Expiry.Ticks);
    }

    [Fact]
    public void CollectExpired_ExpiredPeersBehindLiveOne_CollectsThemAll()
    {
        // zguide#91: the first-registered worker keeps talking while later ones die; a purge
        // that stops at the first live worker in registration order would keep the dead ones.
        var tracker = new LivenessTracker<string>(Expiry, _clock);
        tracker.Touch("first");
        _clock.Advance(Ms(100));
        tracker.Touch("second");
        _clock.Advance(Ms(100));
        tracker.Touch("third");

        for (int i = 0; i < 4; i++)
        {
            _clock.Advance(Ms(1000));
            tracker.Touch("first");
        }

        tracker.CollectExpired().Should().BeEquivalentTo(["second", "third"]);
        tracker.Contains("first").Should().BeTrue();
        tracker.Count.Should().Be(1);
    }

    [Fact]
    public void CollectExpired_BusyWorkerStopsHeartbeating_IsCollectedLikeAnIdleOne()
    {
        // majordomo#45: the tracker has no notion of ready/busy, so a worker that dies while
        // processing a request is found as soon as its deadline passes.
        var tracker = new LivenessTracker<string>(HeartbeatOptions.Majordomo, _clock);
        tracker.Touch("idle");
        tracker.Touch("busy");

        _clock.Advance(Ms(2500));
        tracker.Touch("idle");
        _clock.Advance(Ms(2500));
        tracker.Touch("idle");
        _clock.Advance(Ms(2500));

        tracker.CollectExpired().Should().Equal("busy");
        tracker.Contains("idle").Should().BeTrue();
    }

    [Fact]
    public void CollectExpired_NothingExpired_ReturnsEmpty()
    {
        var tracker = new LivenessTracker<string>(Expiry, _clock);
        tracker.Touch("w1");

        tracker.CollectExpired().Should().BeEmpty();
    }

    [Fact]
    public void CollectExpired_CollectedPeerTalksAgain_IsTrackedAfresh()
    {
        var tracker = new LivenessTracker<string>(Expiry, _clock);
        tracker.Touch("w1");
        _clock.Advance(Expiry);
        tracker.CollectExpired().Should().Equal("w1");

        tracker.Touch("w1").Should().BeTrue();

        tracker.Count.Should().Be(1);
        _clock.Advance(Expiry);
        tracker.CollectExpired().Should().Equal("w1");
    }

    [Fact]
    public void Touch_NewAndKnownPeers_ReturnsTrueOnlyForNewOnes()
    {
        var tracker = new LivenessTracker<string>(Expiry, _clock);

        tracker.Touch("w1").Should().BeTrue();
        tracker.Touch("w2").Should().BeTrue();
        tracker.Touch("w1").Should().BeFalse();
        tracker.Count.Should().Be(2);
    }

    [Fact]
    public void Remove_TrackedPeer_IsNeverCollected()
    {
        var tracker = new LivenessTracker<string>(Expiry, _clock);
        tracker.Touch("w1");
        tracker.Touch("w2");

        tracker.Remove("w1").Should().BeTrue();
        tracker.Remove("w1").Should().BeFalse();
        _clock.Advance(Expiry);

        tracker.CollectExpired().Should().Equal("w2");
        tracker.NextExpiry.Should().BeNull();
    }

    [Fact]
    public void Touch_AfterRemoveBeforeOldDeadline_UsesOnlyTheNewDeadline()
    {
        var tracker = new LivenessTracker<string>(Expiry, _clock);
        tracker.Touch("w1");
        tracker.Remove("w1");
        _clock.Advance(Ms(2000));
        tracker.Touch("w1");

        _clock.Advance(Ms(1000));
        tracker.CollectExpired().Should().BeEmpty();

        _clock.Advance(Ms(2000));
        tracker.CollectExpired().Should().Equal("w1");
    }

    [Fact]
    public void NextExpiry_NoPeers_IsNull()
    {
        var tracker = new LivenessTracker<string>(Expiry, _clock);

        tracker.NextExpiry.Should().BeNull();
        tracker.NextExpiryIn.Should().BeNull();
    }

    [Fact]
    public void NextExpiry_EarliestPeerRefreshed_IsTheNextPeersCurrentDeadline()
    {
        var tracker = new LivenessTracker<string>(Expiry, _clock);
        long start = _clock.GetTimestamp();
        tracker.Touch("a");
        _clock.Advance(Ms(1000));
        tracker.Touch("b");
        _clock.Advance(Ms(1000));
        tracker.Touch("a");

        tracker.NextExpiry.Should().Be(start + Ms(4000).Ticks);
        tracker.NextExpiryIn.Should().Be(Ms(2000));
    }

    [Fact]
    public void NextExpiryIn_DeadlinePassed_IsZero()
    {
        var tracker = new LivenessTracker<string>(Expiry, _clock);
        tracker.Touch("a");

        _clock.Advance(Ms(5000));

        tracker.NextExpiryIn.Should().Be(TimeSpan.Zero);
    }

    [Fact]
    public void Remove_MostPeers_KeepsTrackingTheRestCorrectly()
    {
        var tracker = new LivenessTracker<int>(Expiry, _clock);
        for (int i = 0; i < 1000; i++)
        {
            tracker.Touch(i);
            _clock.Advance(Ms(1));
        }

        for (int i = 0; i < 990; i++)
        {
            tracker.Remove(i);
        }

        tracker.Count.Should().Be(10);
        tracker.NextExpiry.Should().Be(Ms(990).Ticks + Expiry.Ticks);
        _clock.Advance(Expiry);
        tracker.CollectExpired().Should().BeEquivalentTo(Enumerable.Range(990, 10));
    }

    [Fact]
    public void Constructor_CustomComparer_IsUsedForKeys()
    {
        var tracker = new LivenessTracker<string>(Expiry, _clock, StringComparer.OrdinalIgnoreCase);

        tracker.Touch("Worker").Should().BeTrue();
        tracker.Touch("WORKER").Should().BeFalse();

        tracker.Count.Should().Be(1);
    }

    [Fact]
    public void Touch_RoutingKeysFromDistinctFrames_RefreshTheSamePeer()
    {
        var tracker = new LivenessTracker<RoutingKey>(Expiry, _clock, RoutingKeyComparer.Instance);
        byte[] frame = [0, 0x80, 0, 0, 1];
        tracker.Touch(new RoutingKey(frame));
        _clock.Advance(Ms(2000));

        tracker.Touch(new RoutingKey(frame.ToArray())).Should().BeFalse();
        _clock.Advance(Ms(2000));

        tracker.CollectExpired().Should().BeEmpty();
        tracker.Count.Should().Be(1);
    }

    [Fact]
    public void Constructor_InvalidArguments_Throw()
    {
        var zero = () => new LivenessTracker<string>(TimeSpan.Zero, _clock);
        var invalid = () => new LivenessTracker<string>(new HeartbeatOptions { Interval = TimeSpan.Zero }, _clock);

        zero.Should().Throw<ArgumentOutOfRangeException>();
        invalid.Should().Throw<ArgumentException>().WithMessage("*Interval*");
    }

    [Fact]
    public void CollectExpired_ThousandsOfPeersWithRandomTraffic_MatchesBruteForceModel()
    {
        // The lazily re-ranked queue must agree with a full scan at every step.
        var random = new Random(12345);
        var tracker = new LivenessTracker<int>(Expiry, _clock);
        var model = new Dictionary<int, long>();

        for (int step = 0; step < 20_000; step++)
        {
            int peer = random.Next(5000);
            switch (random.Next(10))
            {
                case < 7:
                    Assert.Equal(!model.ContainsKey(peer), tracker.Touch(peer));
                    model[peer] = _clock.GetTimestamp() + Expiry.Ticks;
                    break;
                case 7:
                    Assert.Equal(model.Remove(peer), tracker.Remove(peer));
                    break;
                case 8:
                    _clock.Advance(Ms(random.Next(1, 50)));
                    break;
                default:
                    long now = _clock.GetTimestamp();
                    var expected = model.Where(p => p.Value <= now).Select(p => p.Key).ToHashSet();
                    var collected = tracker.CollectExpired();
                    Assert.Equal(expected.Count, collected.Count);
                    Assert.True(expected.SetEquals(collected), $"step {step}: collected set differs from the model");
                    model.Keys.Where(expected.Contains).ToList().ForEach(p => model.Remove(p));
                    break;
            }

            if (step % 500 == 0)
            {
                Assert.Equal(model.Count == 0 ? null : model.Values.Min(), tracker.NextExpiry);
                Assert.Equal(model.Count, tracker.Count);
            }
        }
    }
}
