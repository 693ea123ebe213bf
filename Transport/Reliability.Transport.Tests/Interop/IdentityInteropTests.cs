using Reliability.Testing.PyZmq;
using static Reliability.Transport.Tests.Interop.InteropHelpers;

namespace Reliability.Transport.Tests.Interop;

/// <summary>The READY <c>Identity</c> property becomes the routing id, in both directions.</summary>
public sealed class IdentityInteropTests
{
    [PyZmqTheory]
    [InlineData("DEALER", true)]
    [InlineData("DEALER", false)]
    [InlineData("REQ", true)]
    [InlineData("REQ", false)]
    public async Task OurRouter_LibZmqPeerWithRoutingId_UsesItAsRoutingId(string theirType, bool oursBinds)
    {
        var identity = Utf8($"py-{theirType.ToLowerInvariant()}-7");
        await using var peer = await PyZmqPeer.StartAsync();
        await using var ours = new OurSide("ROUTER", new SocketOptions { Linger = TimeSpan.Zero, RouterMandatory = true });
        var theirs = new TheirSide(await peer.CreateSocketAsync(theirType, new PeerSocketOptions { RoutingId = identity }));
        await Connect(ours, theirs, oursBinds);

        var seen = await RoundTripAsync(theirs, ours, "identity");

        seen.Should().Equal(identity);
    }

    [PyZmqTheory]
    [InlineData("DEALER", true)]
    [InlineData("DEALER", false)]
    [InlineData("REQ", true)]
    [InlineData("REQ", false)]
    public async Task LibZmqRouter_OurPeerWithRoutingId_UsesItAsRoutingId(string ourType, bool oursBinds)
    {
        var identity = Utf8($"our-{ourType.ToLowerInvariant()}-7");
        await using var peer = await PyZmqPeer.StartAsync();
        await using var ours = new OurSide(ourType, new SocketOptions { Linger = TimeSpan.Zero, RoutingId = identity });
        var theirs = new TheirSide(await peer.CreateSocketAsync("ROUTER", new PeerSocketOptions { RouterMandatory = true }));
        await Connect(ours, theirs, oursBinds);

        var seen = await RoundTripAsync(ours, theirs, "identity");

        seen.Should().Equal(identity);
    }

    [PyZmqFact]
    public async Task OurRouter_LibZmqDealerWithoutRoutingId_GeneratesFiveOctetIdStartingWithZero()
    {
        await using var peer = await PyZmqPeer.StartAsync();
        await using var ours = new OurSide("ROUTER", new SocketOptions { Linger = TimeSpan.Zero, RouterMandatory = true });
        var theirs = new TheirSide(await peer.CreateSocketAsync("DEALER"));
        await Connect(ours, theirs, oursBinds: true);

        var seen = await RoundTripAsync(theirs, ours, "generated");

        seen.Should().HaveCount(5).And.StartWith(new byte[] { 0x00 });
    }

    private static async Task Connect(OurSide ours, TheirSide theirs, bool oursBinds)
    {
        if (oursBinds)
        {
            await theirs.Socket.ConnectAsync(ours.Socket.Bind("tcp://127.0.0.1:0"));
        }
        else
        {
            ours.Socket.Connect(await theirs.Socket.BindAsync());
        }
    }
}
