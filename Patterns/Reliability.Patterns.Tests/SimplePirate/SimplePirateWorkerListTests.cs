using Reliability.Patterns.Heartbeating;
using Reliability.Patterns.SimplePirate;
using Reliability.Patterns.Tests.ParanoidPirate;

namespace Reliability.Patterns.Tests.SimplePirate;

public sealed class SimplePirateWorkerListTests
{
    private static readonly RoutingKey A = new(PirateTestKit.Bytes("A"));
    private static readonly RoutingKey B = new(PirateTestKit.Bytes("B"));

    [Fact]
    public void TryTakeReady_SeveralReady_LeastRecentlyUsedFirst()
    {
        var list = new SimplePirateWorkerList();
        list.MarkReady(A).Should().BeTrue();
        list.MarkReady(B).Should().BeTrue();

        list.TryTakeReady(out var first).Should().BeTrue();
        list.MarkReady(first).Should().BeFalse("the worker is already known");
        list.TryTakeReady(out var second).Should().BeTrue();

        first.Should().Be(A);
        second.Should().Be(B, "A went back to the end of the list after its reply");
        list.Count.Should().Be(2);
        list.ReadyCount.Should().Be(1);
    }

    [Fact]
    public void MarkReady_RepeatedForFreeWorker_ListedOnce()
    {
        var list = new SimplePirateWorkerList();
        list.MarkReady(A);

        list.MarkReady(A);

        list.ReadyCount.Should().Be(1);
        list.IsReady(A).Should().BeTrue();
    }

    [Fact]
    public void Remove_FreeAndBusyWorkers_Forgotten()
    {
        var list = new SimplePirateWorkerList();
        list.MarkReady(A);
        list.MarkReady(B);
        list.TryTakeReady(out _);

        list.Remove(A).Should().BeTrue();
        list.Remove(B).Should().BeTrue();
        list.Remove(B).Should().BeFalse();

        list.Count.Should().Be(0);
        list.TryTakeReady(out _).Should().BeFalse();
    }
}
