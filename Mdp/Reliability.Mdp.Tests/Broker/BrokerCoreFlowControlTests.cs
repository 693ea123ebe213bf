using Reliability.Mdp.Broker;
using Reliability.Mdp.Protocol;

namespace Reliability.Mdp.Tests.Broker;

/// <summary>Flow control instead of loss: limits pause the clients that reach them, and nothing accepted is dropped.</summary>
public sealed class BrokerCoreFlowControlTests
{
    [Fact]
    public void FullService_PausesTheClientsThatSendIt_AndResumesThemAtHalf()
    {
        using var h = new CoreHarness(new BrokerOptions { MaxQueuedRequestsPerService = 4 });

        for (int i = 0; i < 3; i++)
        {
            h.Request("c1", "echo", $"a{i}");
        }

        h.Sender.Paused.Should().BeEmpty();
        h.Request("c2", "echo", "b0");
        h.Request("c3", "echo", "c0");

        h.Core.QueuedRequestCount.Should().Be(5, "a request over the limit is still taken: its client is paused instead");
        h.Sender.Paused.Should().BeEquivalentTo("c2", "c3");
        h.Metric("requests.dropped").Should().Be(0);

        h.Ready("w1", "echo");
        for (int i = 0; i < 3; i++)
        {
            var (client, body) = h.TakeRequest("w1");
            h.Reply("w1", client, body);
        }

        h.Core.QueuedRequestCount.Should().Be(1);
        h.Sender.Paused.Should().BeEmpty("the service is back under half its limit");
        h.Core.PausedClients.Should().Be(0);
    }

    [Fact]
    public void ClientOverItsOwnLimit_IsPaused_OthersAreNot()
    {
        using var h = new CoreHarness(new BrokerOptions { MaxQueuedRequestsPerClient = 3 });

        for (int i = 0; i < 3; i++)
        {
            h.Request("flood", "echo", $"{i}");
        }

        h.Request("quiet", "echo", "q");

        h.Sender.Paused.Should().Equal("flood");
        h.Core.QueuedRequestCount.Should().Be(4);
    }

    [Fact]
    public void TotalBytes_PauseWhoeverReachesThem()
    {
        using var h = new CoreHarness(new BrokerOptions { MaxQueuedBytes = 64 << 10 });
        var big = new ReadOnlyMemory<byte>[] { new byte[40 << 10] };

        h.Request("c1", "a", big);
        h.Sender.Paused.Should().BeEmpty();
        h.Request("c2", "b", big);

        h.Sender.Paused.Should().Equal("c2");
        h.Core.QueuedRequestCount.Should().Be(2);
    }

    [Fact]
    public void ReplyForAClientThatIsNotReading_IsHeld_AndSentWhenItReadsAgain()
    {
        using var h = new CoreHarness();
        h.Ready("w1", "echo");
        h.Request("c1", "echo", "hello");
        var (client, body) = h.TakeRequest("w1");
        h.Sender.Full.Add("c1");

        h.Reply("w1", client, body);

        h.Core.BackloggedReplies.Should().Be(1);
        h.Metric("replies.dropped").Should().Be(0);
        h.TakeClientReplies("c1").Should().BeEmpty();

        h.Sender.Full.Clear();
        h.Advance(TimeSpan.FromMilliseconds(100));

        h.TakeReply<ClientReply>("c1").Should().Be("hello");
        h.Core.BackloggedReplies.Should().Be(0);
    }

    [Fact]
    public void HeldReplies_KeepTheirOrder_AndAClientThatLeavesTakesThemAlong()
    {
        using var h = new CoreHarness();
        h.Ready("w1", "echo");
        h.Sender.Full.Add("c1");
        for (int i = 0; i < 3; i++)
        {
            h.Request("c1", "echo", $"{i}");
            var (client, body) = h.TakeRequest("w1");
            h.Reply("w1", client, body);
        }

        h.Core.BackloggedReplies.Should().Be(3);
        h.Sender.Full.Clear();
        h.Request("c1", "echo", "3");
        var (c, b) = h.TakeRequest("w1");
        h.Reply("w1", c, b);

        h.TakeClientReplies("c1").Select(r => System.Text.Encoding.UTF8.GetString(r.Body[0].Span)).Should().Equal("0", "1", "2", "3");

        h.Sender.Full.Add("c1");
        h.Request("c1", "echo", "4");
        (c, b) = h.TakeRequest("w1");
        h.Reply("w1", c, b);
        h.Core.OnPeerDisconnected("c1"u8.ToArray());

        h.Core.BackloggedReplies.Should().Be(0);
        h.Metric("replies.dropped", "client_gone").Should().Be(1);
    }

    [Fact]
    public void PausedClientThatLeaves_IsForgotten()
    {
        using var h = new CoreHarness(new BrokerOptions { MaxQueuedRequestsPerClient = 1 });
        h.Request("c1", "echo", "x");
        h.Core.PausedClients.Should().Be(1);

        h.Core.OnPeerDisconnected("c1"u8.ToArray());

        h.Core.PausedClients.Should().Be(0);
        h.Core.QueuedRequestCount.Should().Be(0);
        h.Metric("requests.dropped", "client_gone").Should().Be(1);
    }
}
