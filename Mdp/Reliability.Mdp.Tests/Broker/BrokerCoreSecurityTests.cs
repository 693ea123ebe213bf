using Reliability.Mdp.Broker;
using Reliability.Mdp.Protocol;
using Reliability.Transport;

namespace Reliability.Mdp.Tests.Broker;

/// <summary>The broker core's use of <see cref="Message.UserId"/> (docs/security.md §5), message by message.</summary>
public sealed class BrokerCoreSecurityTests
{
    private static BrokerOptions Secured(BrokerPeerAuth clients = BrokerPeerAuth.None) => new()
    {
        HeartbeatInterval = TimeSpan.FromSeconds(1),
        Liveness = 3,
        RequestExpiry = TimeSpan.FromSeconds(10),
        Security = new BrokerSecurityOptions { PlainUsers = new Dictionary<string, string> { ["good"] = "p", ["rogue"] = "p" }, WorkerAuth = BrokerPeerAuth.Plain, ClientAuth = clients, AuthorizedWorkers = ["good"] },
    };

    private static Message As(string? userId, Message message)
    {
        message.UserId = userId;
        return message;
    }

    [Fact]
    public void Ready_FromUnlistedOrUnauthenticatedUser_GetsDisconnect_ListedOneRegisters()
    {
        using var h = new CoreHarness(Secured());

        h.Deliver("rogue", As("rogue", MdpCodec.BuildFromWorker(new WorkerReady("echo"), MdpVersion.V01)));
        h.Deliver("anon", MdpCodec.BuildFromWorker(new WorkerReady("echo"), MdpVersion.V01));
        h.Deliver("w1", As("good", MdpCodec.BuildFromWorker(new WorkerReady("echo"), MdpVersion.V01)));

        h.TakeWorkerCommands("rogue").Should().ContainSingle().Which.Should().BeOfType<WorkerDisconnect>();
        h.TakeWorkerCommands("anon").Should().ContainSingle().Which.Should().BeOfType<WorkerDisconnect>();
        h.Metric("disconnects.sent", "worker_unauthorised").Should().Be(2);
        h.Metric("workers").Should().Be(1);
    }

    [Fact]
    public void RegisteredWorker_CommandFromAnotherUserId_IsAViolationAndTheWorkerIsRemoved()
    {
        using var h = new CoreHarness(Secured());
        h.Deliver("w1", As("good", MdpCodec.BuildFromWorker(new WorkerReady("echo"), MdpVersion.V01)));

        // Another connection took over the routing id "w1" (ROUTER handover) with its own credentials.
        h.Deliver("w1", As("rogue", MdpCodec.BuildFromWorker(WorkerHeartbeat.Instance, MdpVersion.V01)));

        h.Metric("workers").Should().Be(0);
        h.TakeWorkerCommands("w1").Should().ContainSingle().Which.Should().BeOfType<WorkerDisconnect>();
    }

    [Fact]
    public void ClientAuth_UnauthenticatedRequestDropped_AuthenticatedServed()
    {
        using var h = new CoreHarness(Secured(BrokerPeerAuth.Plain));
        h.Deliver("w1", As("good", MdpCodec.BuildFromWorker(new WorkerReady("echo"), MdpVersion.V01)));

        h.Request("anon", "echo", "dropped");
        h.Deliver("c1", As("good", MdpCodec.BuildFromClient(new ClientRequest("echo", "served"u8.ToArray()), MdpVersion.V01, MdpClientSocket.Dealer)));

        h.Metric("requests.dropped", "client_unauthenticated").Should().Be(1);
        h.TakeRequest("w1").Should().Be(("c1", "served"));
    }
}
