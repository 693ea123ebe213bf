using System.Text;
using Reliability.Mdp.Protocol;

namespace Reliability.Mdp.Tests.Protocol;

public sealed class MdpRoundTripTests
{
    private static readonly ReadOnlyMemory<byte> RoutingId = new byte[] { 0x00, 0x80, 0x00, 0x00, 0x29 };
    private static readonly ReadOnlyMemory<byte> ClientId = new byte[] { 0x00, 0x80, 0x00, 0x00, 0x2A };

    private static ReadOnlyMemory<byte>[] Bodies(int frames) =>
        Enumerable.Range(0, frames).Select(i => (ReadOnlyMemory<byte>)(i % 2 == 0 ? Encoding.UTF8.GetBytes($"frame{i}") : Array.Empty<byte>())).ToArray();

    public static TheoryData<object, MdpVersion> FromWorkerCases() => new()
    {
        { new WorkerReady("echo"), MdpVersion.V01 },
        { new WorkerReady("ünïcode.service"), MdpVersion.V02 },
        { new WorkerReply(ClientId, Bodies(0)), MdpVersion.V01 },
        { new WorkerReply(ClientId, Bodies(3)), MdpVersion.V01 },
        { new WorkerPartial(ClientId, Bodies(1)), MdpVersion.V02 },
        { new WorkerFinal(ClientId, Bodies(4)), MdpVersion.V02 },
        { WorkerHeartbeat.Instance, MdpVersion.V01 },
        { WorkerHeartbeat.Instance, MdpVersion.V02 },
        { WorkerDisconnect.Instance, MdpVersion.V01 },
        { WorkerDisconnect.Instance, MdpVersion.V02 },
    };

    public static TheoryData<object, MdpVersion> ToWorkerCases() => new()
    {
        { new WorkerRequest(ClientId, Bodies(1)), MdpVersion.V01 },
        { new WorkerRequest(ClientId, Bodies(0)), MdpVersion.V02 },
        { new WorkerRequest(new byte[255], Bodies(5)), MdpVersion.V02 },
        { WorkerHeartbeat.Instance, MdpVersion.V01 },
        { WorkerDisconnect.Instance, MdpVersion.V02 },
    };

    [Theory]
    [MemberData(nameof(FromWorkerCases))]
    public void BuildFromWorker_ThenParseAtBroker_YieldsSameCommand(object commandCase, MdpVersion version)
    {
        // Boxed: theory data of public test methods cannot name the internal command types.
        var command = (MdpWorkerCommand)commandCase;
        // The broker's ROUTER prepends the worker's routing id.
        var message = MdpCodec.BuildFromWorker(command, version).Prepend(RoutingId);

        var result = MdpCodec.ParseAtBroker(message);

        result.IsSuccess.Should().BeTrue(result.Error);
        result.Command.Should().Be(command);
        result.Version.Should().Be(version);
        result.Sender.ToArray().Should().Equal(RoutingId.ToArray());
    }

    [Theory]
    [MemberData(nameof(ToWorkerCases))]
    public void BuildToWorker_ThenParseAtWorker_YieldsSameCommand(object commandCase, MdpVersion version)
    {
        // Boxed: theory data of public test methods cannot name the internal command types.
        var command = (MdpWorkerCommand)commandCase;
        var message = MdpCodec.BuildToWorker(RoutingId, command, version);
        message.Pop().ToArray().Should().Equal(RoutingId.ToArray(), "the ROUTER consumes the routing id frame");

        var result = MdpCodec.ParseAtWorker(message);

        result.IsSuccess.Should().BeTrue(result.Error);
        result.Command.Should().Be(command);
        result.Version.Should().Be(version);
    }

    [Theory]
    [InlineData(MdpVersion.V01, MdpClientSocket.Req, 1)]
    [InlineData(MdpVersion.V01, MdpClientSocket.Dealer, 0)]
    [InlineData(MdpVersion.V01, MdpClientSocket.Dealer, 3)]
    [InlineData(MdpVersion.V02, MdpClientSocket.Dealer, 2)]
    public void BuildFromClient_ThenParseAtBroker_YieldsSameRequest(MdpVersion version, MdpClientSocket socket, int bodyFrames)
    {
        var request = new ClientRequest("echo", Bodies(bodyFrames));
        var message = MdpCodec.BuildFromClient(request, version, socket);
        if (socket == MdpClientSocket.Req)
        {
            message.Prepend(ReadOnlyMemory<byte>.Empty); // what the REQ socket adds
        }

        var result = MdpCodec.ParseAtBroker(message.Prepend(ClientId));

        result.IsSuccess.Should().BeTrue(result.Error);
        result.Command.Should().Be(request);
        result.Version.Should().Be(version);
    }

    [Theory]
    [InlineData(MdpClientSocket.Req)]
    [InlineData(MdpClientSocket.Dealer)]
    public void BuildToClient_V01ThenParseAtClient_YieldsSameReply(MdpClientSocket socket)
    {
        var reply = new ClientReply("echo", Bodies(2));
        var message = MdpCodec.BuildToClient(ClientId, reply, MdpVersion.V01);
        message.Pop();
        if (socket == MdpClientSocket.Req)
        {
            message.Pop().IsEmpty.Should().BeTrue("the REQ socket strips the delimiter");
        }

        var result = MdpCodec.ParseAtClient(message, socket);

        result.IsSuccess.Should().BeTrue(result.Error);
        result.Command.Should().Be(reply);
        result.Version.Should().Be(MdpVersion.V01);
    }

    [Fact]
    public void BuildToClient_V02ThenParseAtClient_YieldsSamePartialAndFinal()
    {
        MdpClientCommand[] replies = [new ClientPartial("echo", Bodies(1)), new ClientFinal("echo", Bodies(2))];
        foreach (var reply in replies)
        {
            var message = MdpCodec.BuildToClient(ClientId, reply, MdpVersion.V02);
            message.Pop();

            var result = MdpCodec.ParseAtClient(message, MdpClientSocket.Dealer);

            result.Command.Should().Be(reply);
            result.Version.Should().Be(MdpVersion.V02);
        }
    }

    [Fact]
    public void ParseAtBroker_BodyFrames_AreSharedNotCopied()
    {
        byte[] payload = [1, 2, 3];
        var message = MdpCodec.BuildFromWorker(new WorkerReply(ClientId, payload), MdpVersion.V01).Prepend(RoutingId);

        var reply = (WorkerReply)MdpCodec.ParseAtBroker(message).Command!;

        System.Runtime.InteropServices.MemoryMarshal.TryGetArray(reply.Body[0], out var segment).Should().BeTrue();
        segment.Array.Should().BeSameAs(payload);
    }
}
