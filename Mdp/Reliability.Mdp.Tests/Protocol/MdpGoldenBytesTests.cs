using System.Text;
using Reliability.Mdp.Protocol;
using static Reliability.Mdp.Tests.Protocol.FrameHelpers;

namespace Reliability.Mdp.Tests.Protocol;

/// <summary>
/// Expected frames are written by hand from the tables in docs/wire/mdp.md §2-§3 (MDP/0.1) and §4
/// (MDP/0.2), never produced by our encoder.
/// </summary>
public sealed class MdpGoldenBytesTests
{
    private static readonly byte[] WorkerId = [0x00, 0x6B, 0x8B, 0x45, 0x67];
    private static readonly byte[] ClientId = [0x00, 0x6B, 0x8B, 0x45, 0x68];

    private static ReadOnlyMemory<byte> Utf8(string text) => Encoding.UTF8.GetBytes(text);

    // ---- MDP/0.1 client (§4.1 first table)

    [Fact]
    public void BuildFromClient_V01Req_OmitsDelimiterBecauseReqAddsIt()
    {
        var message = MdpCodec.BuildFromClient(new ClientRequest("echo", Utf8("hello")), MdpVersion.V01, MdpClientSocket.Req);

        message.ShouldBeFrames("MDPC01", "echo", "hello");
    }

    [Fact]
    public void BuildFromClient_V01Dealer_StartsWithEmptyFrame()
    {
        var message = MdpCodec.BuildFromClient(new ClientRequest("echo", Utf8("a"), Utf8("b")), MdpVersion.V01, MdpClientSocket.Dealer);

        message.ShouldBeFrames("", "MDPC01", "echo", "a", "b");
    }

    [Fact]
    public void BuildToClient_V01Reply_MatchesTable()
    {
        var message = MdpCodec.BuildToClient(ClientId, new ClientReply("echo", Utf8("hello")), MdpVersion.V01);

        message.ShouldBeFrames(ClientId, "", "MDPC01", "echo", "hello");
    }

    [Fact]
    public void ParseAtBroker_V01ClientRequest_YieldsRequestAndSender()
    {
        var result = MdpCodec.ParseAtBroker(Msg(ClientId, "", "MDPC01", "echo", "hello"));

        result.IsSuccess.Should().BeTrue(result.Error);
        result.Version.Should().Be(MdpVersion.V01);
        result.Sender.ToArray().Should().Equal(ClientId);
        var request = result.Command.Should().BeOfType<ClientRequest>().Subject;
        request.Service.Should().Be("echo");
        request.Body.ShouldBeBody("hello");
    }

    [Fact]
    public void ParseAtClient_V01Req_YieldsReply()
    {
        var result = MdpCodec.ParseAtClient(Msg("MDPC01", "echo", "hello"), MdpClientSocket.Req);

        result.IsSuccess.Should().BeTrue(result.Error);
        result.Version.Should().Be(MdpVersion.V01);
        result.Command.Should().Be(new ClientReply("echo", Utf8("hello")));
    }

    [Fact]
    public void ParseAtClient_V01Dealer_YieldsReply()
    {
        var result = MdpCodec.ParseAtClient(Msg("", "MDPC01", "echo", "hello", "world"), MdpClientSocket.Dealer);

        result.Command.Should().Be(new ClientReply("echo", Utf8("hello"), Utf8("world")));
    }

    // ---- MDP/0.1 worker (§4.1 second table), as the worker's DEALER sends and sees them

    [Fact]
    public void BuildFromWorker_V01Ready_MatchesTable()
    {
        MdpCodec.BuildFromWorker(new WorkerReady("echo"), MdpVersion.V01)
            .ShouldBeFrames("", "MDPW01", (byte)0x01, "echo");
    }

    [Fact]
    public void BuildFromWorker_V01Reply_MatchesTable()
    {
        MdpCodec.BuildFromWorker(new WorkerReply(ClientId, Utf8("hello")), MdpVersion.V01)
            .ShouldBeFrames("", "MDPW01", (byte)0x03, ClientId, "", "hello");
    }

    [Fact]
    public void BuildFromWorker_V01HeartbeatAndDisconnect_MatchTable()
    {
        MdpCodec.BuildFromWorker(WorkerHeartbeat.Instance, MdpVersion.V01).ShouldBeFrames("", "MDPW01", (byte)0x04);
        MdpCodec.BuildFromWorker(WorkerDisconnect.Instance, MdpVersion.V01).ShouldBeFrames("", "MDPW01", (byte)0x05);
    }

    [Fact]
    public void BuildToWorker_V01Request_MatchesBrokerExample()
    {
        // §4.1: "the broker sends [wid][""]["MDPW01"][02][cid][""][body]".
        MdpCodec.BuildToWorker(WorkerId, new WorkerRequest(ClientId, Utf8("hello")), MdpVersion.V01)
            .ShouldBeFrames(WorkerId, "", "MDPW01", (byte)0x02, ClientId, "", "hello");
    }

    [Fact]
    public void BuildToWorker_V01HeartbeatAndDisconnect_MatchTable()
    {
        MdpCodec.BuildToWorker(WorkerId, WorkerHeartbeat.Instance, MdpVersion.V01).ShouldBeFrames(WorkerId, "", "MDPW01", (byte)0x04);
        MdpCodec.BuildToWorker(WorkerId, WorkerDisconnect.Instance, MdpVersion.V01).ShouldBeFrames(WorkerId, "", "MDPW01", (byte)0x05);
    }

    [Fact]
    public void ParseAtBroker_V01Ready_MatchesBrokerExample()
    {
        // §4.1: "worker READY arrives as [wid]["" ]["MDPW01"][01]["echo"]".
        var result = MdpCodec.ParseAtBroker(Msg(WorkerId, "", "MDPW01", (byte)0x01, "echo"));

        result.IsSuccess.Should().BeTrue(result.Error);
        result.Version.Should().Be(MdpVersion.V01);
        result.Sender.ToArray().Should().Equal(WorkerId);
        result.Command.Should().Be(new WorkerReady("echo"));
    }

    [Fact]
    public void ParseAtBroker_V01Reply_YieldsClientAddressAndBody()
    {
        var result = MdpCodec.ParseAtBroker(Msg(WorkerId, "", "MDPW01", (byte)0x03, ClientId, "", "part1", "part2"));

        var reply = result.Command.Should().BeOfType<WorkerReply>().Subject;
        reply.ClientAddress.ToArray().Should().Equal(ClientId);
        reply.Body.ShouldBeBody("part1", "part2");
    }

    [Theory]
    [InlineData((byte)0x04, typeof(WorkerHeartbeat))]
    [InlineData((byte)0x05, typeof(WorkerDisconnect))]
    public void ParseAtBroker_V01HeartbeatOrDisconnect_YieldsCommand(byte command, Type expected)
    {
        var result = MdpCodec.ParseAtBroker(Msg(WorkerId, "", "MDPW01", command));

        result.Command.Should().BeOfType(expected);
        result.Version.Should().Be(MdpVersion.V01);
    }

    [Fact]
    public void ParseAtWorker_V01Request_YieldsClientAddressAndBody()
    {
        var result = MdpCodec.ParseAtWorker(Msg("", "MDPW01", (byte)0x02, ClientId, "", "hello"));

        result.IsSuccess.Should().BeTrue(result.Error);
        result.Version.Should().Be(MdpVersion.V01);
        result.Command.Should().Be(new WorkerRequest(ClientId, Utf8("hello")));
    }

    [Theory]
    [InlineData((byte)0x04, typeof(WorkerHeartbeat))]
    [InlineData((byte)0x05, typeof(WorkerDisconnect))]
    public void ParseAtWorker_V01HeartbeatOrDisconnect_YieldsCommand(byte command, Type expected)
    {
        MdpCodec.ParseAtWorker(Msg("", "MDPW01", command)).Command.Should().BeOfType(expected);
    }

    // ---- MDP/0.2 (§4.2 table): no empty frame, renumbered commands

    [Fact]
    public void BuildFromClient_V02Request_MatchesTable()
    {
        MdpCodec.BuildFromClient(new ClientRequest("echo", Utf8("hello")), MdpVersion.V02, MdpClientSocket.Dealer)
            .ShouldBeFrames("MDPC02", (byte)0x01, "echo", "hello");
    }

    [Fact]
    public void BuildToClient_V02PartialAndFinal_MatchTable()
    {
        MdpCodec.BuildToClient(ClientId, new ClientPartial("echo", Utf8("p")), MdpVersion.V02)
            .ShouldBeFrames(ClientId, "MDPC02", (byte)0x02, "echo", "p");
        MdpCodec.BuildToClient(ClientId, new ClientFinal("echo", Utf8("f")), MdpVersion.V02)
            .ShouldBeFrames(ClientId, "MDPC02", (byte)0x03, "echo", "f");
    }

    [Fact]
    public void BuildFromWorker_V02Commands_MatchTable()
    {
        MdpCodec.BuildFromWorker(new WorkerReady("echo"), MdpVersion.V02).ShouldBeFrames("MDPW02", (byte)0x01, "echo");
        MdpCodec.BuildFromWorker(new WorkerPartial(ClientId, Utf8("p")), MdpVersion.V02).ShouldBeFrames("MDPW02", (byte)0x03, ClientId, "", "p");
        MdpCodec.BuildFromWorker(new WorkerFinal(ClientId, Utf8("f")), MdpVersion.V02).ShouldBeFrames("MDPW02", (byte)0x04, ClientId, "", "f");
        MdpCodec.BuildFromWorker(WorkerHeartbeat.Instance, MdpVersion.V02).ShouldBeFrames("MDPW02", (byte)0x05);
        MdpCodec.BuildFromWorker(WorkerDisconnect.Instance, MdpVersion.V02).ShouldBeFrames("MDPW02", (byte)0x06);
    }

    [Fact]
    public void BuildToWorker_V02Commands_MatchTable()
    {
        MdpCodec.BuildToWorker(WorkerId, new WorkerRequest(ClientId, Utf8("hello")), MdpVersion.V02)
            .ShouldBeFrames(WorkerId, "MDPW02", (byte)0x02, ClientId, "", "hello");
        MdpCodec.BuildToWorker(WorkerId, WorkerHeartbeat.Instance, MdpVersion.V02).ShouldBeFrames(WorkerId, "MDPW02", (byte)0x05);
        MdpCodec.BuildToWorker(WorkerId, WorkerDisconnect.Instance, MdpVersion.V02).ShouldBeFrames(WorkerId, "MDPW02", (byte)0x06);
    }

    [Fact]
    public void ParseAtBroker_V02ClientRequest_YieldsRequest()
    {
        var result = MdpCodec.ParseAtBroker(Msg(ClientId, "MDPC02", (byte)0x01, "echo", "hello"));

        result.Version.Should().Be(MdpVersion.V02);
        result.Command.Should().Be(new ClientRequest("echo", Utf8("hello")));
    }

    [Fact]
    public void ParseAtBroker_V02WorkerCommands_UseRfc18Numbering()
    {
        MdpCodec.ParseAtBroker(Msg(WorkerId, "MDPW02", (byte)0x01, "echo")).Command.Should().Be(new WorkerReady("echo"));
        MdpCodec.ParseAtBroker(Msg(WorkerId, "MDPW02", (byte)0x03, ClientId, "", "p")).Command.Should().Be(new WorkerPartial(ClientId, Utf8("p")));
        MdpCodec.ParseAtBroker(Msg(WorkerId, "MDPW02", (byte)0x04, ClientId, "", "f")).Command.Should().Be(new WorkerFinal(ClientId, Utf8("f")));
        MdpCodec.ParseAtBroker(Msg(WorkerId, "MDPW02", (byte)0x05)).Command.Should().Be(WorkerHeartbeat.Instance);
        MdpCodec.ParseAtBroker(Msg(WorkerId, "MDPW02", (byte)0x06)).Command.Should().Be(WorkerDisconnect.Instance);
    }

    [Fact]
    public void ParseAtBroker_V02WithLeadingEmptyFrame_AcceptsMajortomoStyle()
    {
        var result = MdpCodec.ParseAtBroker(Msg(WorkerId, "", "MDPW02", (byte)0x04, ClientId, "", "done"));

        result.IsSuccess.Should().BeTrue(result.Error);
        result.Version.Should().Be(MdpVersion.V02);
        result.Command.Should().Be(new WorkerFinal(ClientId, Utf8("done")));
    }

    [Fact]
    public void ParseAtWorker_V02Request_YieldsRequest()
    {
        var result = MdpCodec.ParseAtWorker(Msg("MDPW02", (byte)0x02, ClientId, "", "hello"));

        result.Version.Should().Be(MdpVersion.V02);
        result.Command.Should().Be(new WorkerRequest(ClientId, Utf8("hello")));
    }

    [Fact]
    public void ParseAtWorker_V02WithLeadingEmptyFrame_Accepted()
    {
        MdpCodec.ParseAtWorker(Msg("", "MDPW02", (byte)0x05)).Command.Should().Be(WorkerHeartbeat.Instance);
    }

    [Fact]
    public void ParseAtClient_V02PartialThenFinal_YieldsBoth()
    {
        MdpCodec.ParseAtClient(Msg("MDPC02", (byte)0x02, "echo", "p"), MdpClientSocket.Dealer).Command
            .Should().Be(new ClientPartial("echo", Utf8("p")));
        MdpCodec.ParseAtClient(Msg("MDPC02", (byte)0x03, "echo", "f"), MdpClientSocket.Dealer).Command
            .Should().Be(new ClientFinal("echo", Utf8("f")));
    }

    [Fact]
    public void ParseAtWorker_V01CommandByteFourAfterV02Header_IsHeartbeatNotFinal()
    {
        // The 0.1 and 0.2 worker numberings overlap: 0x04 is HEARTBEAT in 0.1 and FINAL in 0.2.
        MdpCodec.ParseAtBroker(Msg(WorkerId, "", "MDPW01", (byte)0x04)).Command.Should().Be(WorkerHeartbeat.Instance);
        MdpCodec.ParseAtBroker(Msg(WorkerId, "MDPW02", (byte)0x04, ClientId, "")).Command.Should().BeOfType<WorkerFinal>();
    }

    // ---- MMI (§4.4)

    [Fact]
    public void BuildToClient_MmiReply_MatchesWireExample()
    {
        // §4.4: "On the wire (0.1) the reply is "" MDPC01 mmi.service <code>".
        var request = new ClientRequest("mmi.service", Utf8("echo"));
        var reply = Mmi.CreateReply(request, Mmi.Evaluate(request, _ => true));

        MdpCodec.BuildToClient(ClientId, reply, MdpVersion.V01).ShouldBeFrames(ClientId, "", "MDPC01", "mmi.service", "200");
    }
}
