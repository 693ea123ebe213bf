using Reliability.Mdp.Broker;
using Reliability.Mdp.Protocol;

namespace Reliability.Mdp.Tests.Broker;

/// <summary>Flow control instead of loss: limits pause the clients that reach them, and nothing accepted is dropped.</summary>
public sealed class BrokerCoreFlowControlTests
{
    [Fact]
    public void FullService_PausesTheClientsHoldingTheirShare_NotOneAskingOnce_AndResumesAtHalf()
    {
        using var h = new CoreHarness(new BrokerOptions { MaxQueuedRequestsPerService = 4 });
        for (int i = 0; i < 3; i++)
        {
            h.Request("c1", "echo", $"a{i}");
        }

        // The service is full now, but c2 holds one request of four (under its share of two holders): not paused.
        h.Request("c2", "echo", "b0");
        h.Sender.Paused.Should().BeEmpty();

        // c1's next request finds it holding four of five: c1 is the one held back.
        h.Request("c1", "echo", "a3");
        h.Request("c3", "echo", "c0");
        h.Core.QueuedRequestCount.Should().Be(6, "a request over the limit is still taken: its client is paused instead");
        h.Sender.Paused.Should().BeEquivalentTo("c1");
        h.Metric("requests.dropped").Should().Be(0);

        h.Ready("w1", "echo");
        for (int i = 0; i < 4; i++)
        {
            var (client, body) = h.TakeRequest("w1");
            h.Reply("w1", client, body);
        }

        h.Core.QueuedRequestCount.Should().Be(1, "the worker took one request at READY and one after each reply");
        h.Sender.Paused.Should().BeEmpty("the service is back under half its limit");
        h.Core.PausedClients.Should().Be(0);
    }

    [Fact]
    public void FullService_OfEqualClients_PausesEachNewSender()
    {
        // Equal shares: every sender holds the mean, so the service stays bounded whatever the number of clients.
        using var h = new CoreHarness(new BrokerOptions { MaxQueuedRequestsPerService = 4 });
        for (int i = 0; i < 6; i++)
        {
            h.Request($"c{i}", "echo", "x");
        }

        h.Sender.Paused.Should().BeEquivalentTo("c3", "c4", "c5");
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
