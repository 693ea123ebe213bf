using Reliability.Patterns.Queueing;
using System.Text;
using Reliability.Mdp.Broker;
using Reliability.Mdp.Protocol;
using Reliability.Patterns.Heartbeating;

namespace Reliability.Mdp.Tests.Broker;

public sealed class FairRequestQueueTests
{
    [Fact]
    public void TryDequeue_SeveralClients_RoundRobinFifoPerClient()
    {
        var queue = new FairRequestQueue();
        foreach (var (client, body) in new[] { ("a", "a1"), ("a", "a2"), ("b", "b1"), ("c", "c1"), ("b", "b2"), ("a", "a3") })
        {
            queue.Enqueue(Request(client, body));
        }

        Drain(queue).Should().Equal("a1", "b1", "c1", "a2", "b2", "a3");
        queue.Count.Should().Be(0);
        queue.ClientCount.Should().Be(0);
    }

    [Fact]
    public void EnqueueFront_ExistingClient_ServedFirst()
    {
        var queue = new FairRequestQueue();
        queue.Enqueue(Request("a", "a2"));
        queue.Enqueue(Request("b", "b1"));

        queue.EnqueueFront(Request("b", "b0"));

        Drain(queue).Should().Equal("b0", "a2", "b1");
    }

    [Fact]
    public void RemoveQueuedBefore_MixedAges_RemovesOnlyOldOnes()
    {
        var queue = new FairRequestQueue();
        queue.Enqueue(Request("a", "old-a", queuedAt: 1));
        queue.Enqueue(Request("b", "old-b", queuedAt: 2));
        queue.Enqueue(Request("a", "new-a", queuedAt: 10));
        queue.EnqueueFront(Request("b", "requeued-b", queuedAt: 11));

        queue.RemoveQueuedBefore(5).Should().Be(2);

        queue.Count.Should().Be(2);
        Drain(queue).Should().Equal("requeued-b", "new-a");
    }

    [Fact]
    public void RemoveClient_OneOfThree_RemovesOnlyItsRequestsAndKeepsTheRotation()
    {
        var queue = new FairRequestQueue();
        foreach (var (client, body) in new[] { ("a", "a1"), ("b", "b1"), ("a", "a2"), ("c", "c1"), ("b", "b2") })
        {
            queue.Enqueue(Request(client, body));
        }

        queue.RemoveClient(new RoutingKey("b"u8)).Should().Be(2);
        queue.RemoveClient(new RoutingKey("x"u8)).Should().Be(0);

        queue.Count.Should().Be(3);
        queue.ClientCount.Should().Be(2);
        Drain(queue).Should().Equal("a1", "c1", "a2");
    }

    [Fact]
    public void Clear_ReturnsCountAndEmpties()
    {
        var queue = new FairRequestQueue();
        queue.Enqueue(Request("a", "1"));
        queue.Enqueue(Request("b", "2"));

        queue.Clear().Should().Be(2);

        queue.TryDequeue(out _).Should().BeFalse();
    }

    private static PendingRequest<MdpRequest> Request(string client, string body, long queuedAt = 0) =>
        new(new RoutingKey(Encoding.UTF8.GetBytes(client)), new MdpRequest(MdpVersion.V01, [Encoding.UTF8.GetBytes(body)]), queuedAt);

    private static List<string> Drain(FairRequestQueue queue)
    {
        var bodies = new List<string>();
        while (queue.TryDequeue(out var request))
        {
            bodies.Add(Encoding.UTF8.GetString(request.Payload.Body[0].Span));
        }

        return bodies;
    }
}
