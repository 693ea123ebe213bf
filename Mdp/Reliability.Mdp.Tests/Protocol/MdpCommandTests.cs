using System.Text;
using Reliability.Mdp.Protocol;

namespace Reliability.Mdp.Tests.Protocol;

public sealed class MdpCommandTests
{
    private static ReadOnlyMemory<byte> Utf8(string text) => Encoding.UTF8.GetBytes(text);

    [Fact]
    public void Equals_SameContentDifferentBuffers_AreEqual()
    {
        var a = new WorkerReply(Utf8("client"), Utf8("x"), Utf8("y"));
        var b = new WorkerReply(Utf8("client"), Utf8("x"), Utf8("y"));

        a.Should().Be(b);
        a.GetHashCode().Should().Be(b.GetHashCode());
    }

    [Fact]
    public void Equals_DifferentBodyOrAddressOrType_AreNotEqual()
    {
        var reply = new WorkerReply(Utf8("client"), Utf8("x"));

        reply.Should().NotBe(new WorkerReply(Utf8("client"), Utf8("z")));
        reply.Should().NotBe(new WorkerReply(Utf8("other"), Utf8("x")));
        reply.Should().NotBe(new WorkerReply(Utf8("client"), Utf8("x"), Utf8("")));
        ((MdpCommand)reply).Should().NotBe(new WorkerFinal(Utf8("client"), Utf8("x")));
        ((MdpCommand)new ClientReply("echo", Utf8("x"))).Should().NotBe(new ClientFinal("echo", Utf8("x")));
    }

    [Fact]
    public void Constructor_CallerMutatesOwnList_CommandUnchanged()
    {
        var frames = new List<ReadOnlyMemory<byte>> { Utf8("a") };
        var request = new ClientRequest("echo", frames);

        frames.Add(Utf8("b"));

        request.Body.Should().HaveCount(1);
    }

    [Fact]
    public void ToString_ShowsServiceAndBodySummary()
    {
        new ClientRequest("echo", Utf8("hello")).ToString().Should().Be("ClientRequest { Service = echo, Body = 1 frame(s), 5 bytes }");
        new WorkerRequest(new byte[] { 0x00, 0xAB }, Utf8("hi")).ToString().Should().Be("WorkerRequest { ClientAddress = 0x00AB, Body = 1 frame(s), 2 bytes }");
        new WorkerReady("echo").ToString().Should().Be("WorkerReady { Service = echo }");
    }

    [Fact]
    public void ParseResult_ToString_NamesVersionOrError()
    {
        var ok = MdpCodec.ParseAtWorker(FrameHelpers.Msg("MDPW02", (byte)0x05));
        var bad = MdpCodec.ParseAtWorker(FrameHelpers.Msg("MDPW02", (byte)0x09));

        ok.ToString().Should().Be("V02 WorkerHeartbeat { }");
        bad.ToString().Should().Be("invalid MDP message: frame 1: unknown worker command 0x09");
    }

    [Fact]
    public void Constants_MatchProtocolTables()
    {
        (Mdp01.ClientHeader, Mdp01.WorkerHeader, Mdp02.ClientHeader, Mdp02.WorkerHeader)
            .Should().Be(("MDPC01", "MDPW01", "MDPC02", "MDPW02"));
        new[] { Mdp01.Ready, Mdp01.Request, Mdp01.Reply, Mdp01.Heartbeat, Mdp01.Disconnect }
            .Should().Equal(0x01, 0x02, 0x03, 0x04, 0x05);
        new[] { Mdp02.ClientRequest, Mdp02.ClientPartial, Mdp02.ClientFinal }.Should().Equal(0x01, 0x02, 0x03);
        new[] { Mdp02.WorkerReady, Mdp02.WorkerRequest, Mdp02.WorkerPartial, Mdp02.WorkerFinal, Mdp02.WorkerHeartbeat, Mdp02.WorkerDisconnect }
            .Should().Equal(0x01, 0x02, 0x03, 0x04, 0x05, 0x06);
    }
}
