using Reliability.Mdp.Protocol;
using Reliability.Transport;
using static Reliability.Mdp.Tests.Protocol.FrameHelpers;

namespace Reliability.Mdp.Tests.Protocol;

/// <summary>Malformed input from the network: parsing must fail with a reason that names the frame, never throw.</summary>
public sealed class MdpBadInputTests
{
    private const string W = "W1"; // a worker routing id on the broker's ROUTER
    private const string C = "C1"; // a client routing id

    public static TheoryData<Message, string> BrokerCases() => new()
    {
        { Msg(), "empty message" },
        { Msg(W), "frame 1: message ends before the protocol header" },
        { Msg(W, ""), "frame 2: message ends after the empty delimiter" },
        { Msg(""), "frame 0: empty routing id" },
        { Msg(W, "", "MDPW03", (byte)0x01, "echo"), "frame 2: unknown protocol header 'MDPW03'" },
        { Msg(W, "", "mdpw01", (byte)0x01, "echo"), "frame 2: unknown protocol header 'mdpw01'" },
        { Msg(W, "", new byte[] { 0xFF, 0x00 }, (byte)0x01), "frame 2: unknown protocol header 0xFF00" },
        { Msg(W, "MDPW01", (byte)0x01, "echo"), "frame 1: MDP/0.1 header MDPW01 without the empty delimiter frame" },
        { Msg(C, "MDPC01", "echo", "body"), "frame 1: MDP/0.1 header MDPC01 without the empty delimiter frame" },
        { Msg(W, "", "MDPW01"), "frame 3: message ends after MDPW01, before the command" },
        { Msg(W, "", "MDPW01", (byte)0x09), "frame 3: unknown worker command 0x09" },
        { Msg(W, "", "MDPW01", (byte)0x00), "frame 3: unknown worker command 0x00" },
        { Msg(W, "", "MDPW01", (byte)0x06), "frame 3: unknown worker command 0x06" },
        { Msg(W, "MDPW02", (byte)0x07), "frame 2: unknown worker command 0x07" },
        { Msg(W, "", "MDPW01", new byte[] { 0x01, 0x00 }, "echo"), "frame 3: command frame must be 1 byte, got 2" },
        { Msg(W, "", "MDPW01", "", "echo"), "frame 3: command frame must be 1 byte, got 0" },
        { Msg(W, "", "MDPW01", (byte)0x01), "frame 4: READY without service name" },
        { Msg(W, "", "MDPW01", (byte)0x01, ""), "frame 4: READY with empty service name" },
        { Msg(W, "", "MDPW01", (byte)0x01, new string('s', 256)), "frame 4: READY with service name longer than 255 bytes (256)" },
        { Msg(W, "", "MDPW01", (byte)0x01, new byte[] { 0xC3, 0x28 }), "frame 4: READY with service name is not valid UTF-8" },
        { Msg(W, "", "MDPW01", (byte)0x01, "ec\nho"), "frame 4: READY with service name contains control character 0x0A" },
        { Msg(W, "", "MDPW01", (byte)0x01, "echo", "extra"), "frame 5: READY has 1 unexpected frame(s) after the service name" },
        { Msg(W, "", "MDPW01", (byte)0x04, ""), "frame 4: HEARTBEAT has 1 unexpected frame(s) after the command" },
        { Msg(W, "MDPW02", (byte)0x06, "x", "y"), "frame 3: DISCONNECT has 2 unexpected frame(s) after the command" },
        { Msg(W, "", "MDPW01", (byte)0x03), "frame 4: REPLY without client address" },
        { Msg(W, "", "MDPW01", (byte)0x03, "", "", "body"), "frame 4: REPLY with empty client address" },
        { Msg(W, "", "MDPW01", (byte)0x03, new byte[256], "", "body"), "frame 4: REPLY with client address longer than 255 bytes (256)" },
        { Msg(W, "", "MDPW01", (byte)0x03, C), "frame 5: REPLY without the empty frame after the client address" },
        { Msg(W, "", "MDPW01", (byte)0x03, C, "body"), "frame 5: REPLY without the empty frame after the client address" },
        { Msg(W, "MDPW02", (byte)0x04, C, "x"), "frame 4: FINAL without the empty frame after the client address" },
        { Msg(W, "", "MDPW01", (byte)0x02, C, "", "body"), "frame 3: REQUEST (0x02) is sent by the broker, not by a worker" },
        { Msg(W, "MDPW02", (byte)0x02, C, "", "body"), "frame 2: REQUEST (0x02) is sent by the broker, not by a worker" },
        { Msg(C, "", "MDPC01"), "frame 3: REQUEST without service name" },
        { Msg(C, "", "MDPC01", ""), "frame 3: REQUEST with empty service name" },
        { Msg(C, "MDPC02"), "frame 2: message ends after MDPC02, before the command" },
        { Msg(C, "MDPC02", (byte)0x01), "frame 3: REQUEST without service name" },
        { Msg(C, "MDPC02", (byte)0x03, "echo"), "frame 2: FINAL (0x03) is sent by the broker, not by a client" },
        { Msg(C, "MDPC02", (byte)0x04, "echo"), "frame 2: unknown client command 0x04" },
    };

    [Theory]
    [MemberData(nameof(BrokerCases))]
    public void ParseAtBroker_MalformedMessage_FailsWithReason(Message message, string expected)
    {
        var result = MdpCodec.ParseAtBroker(message);

        result.IsSuccess.Should().BeFalse();
        result.Command.Should().BeNull();
        result.Error.Should().StartWith(expected);
    }

    [Fact]
    public void ParseAtBroker_MalformedMessage_StillReportsSender()
    {
        var result = MdpCodec.ParseAtBroker(Msg(W, "", "MDPW01", (byte)0x09));

        result.Sender.ToArray().Should().Equal(ToBytes(W));
    }

    public static TheoryData<Message, string> WorkerCases() => new()
    {
        { Msg(), "empty message" },
        { Msg(""), "frame 1: message ends after the empty delimiter" },
        { Msg("MDPW01", (byte)0x02, C, "", "body"), "frame 0: MDP/0.1 header MDPW01 without the empty delimiter frame" },
        { Msg("", "MDPC01", "echo"), "frame 1: client header MDPC01 on a worker connection" },
        { Msg("MDPC02", (byte)0x02, "echo"), "frame 0: client header MDPC02 on a worker connection" },
        { Msg("", "MDPW01", (byte)0x01, "echo"), "frame 2: READY (0x01) is sent by a worker, not by the broker" },
        { Msg("", "MDPW01", (byte)0x03, C, "", "x"), "frame 2: REPLY (0x03) is sent by a worker, not by the broker" },
        { Msg("MDPW02", (byte)0x04, C, "", "x"), "frame 1: FINAL (0x04) is sent by a worker, not by the broker" },
        { Msg("", "MDPW01", (byte)0x02), "frame 3: REQUEST without client address" },
        { Msg("", "MDPW01", (byte)0x02, C), "frame 4: REQUEST without the empty frame after the client address" },
        { Msg("", "MDPW01", (byte)0x05, "bye"), "frame 3: DISCONNECT has 1 unexpected frame(s) after the command" },
        { Msg("", "", "MDPW01", (byte)0x04), "frame 1: unknown protocol header an empty frame" },
    };

    [Theory]
    [MemberData(nameof(WorkerCases))]
    public void ParseAtWorker_MalformedMessage_FailsWithReason(Message message, string expected)
    {
        var result = MdpCodec.ParseAtWorker(message);

        result.IsSuccess.Should().BeFalse();
        result.Error.Should().StartWith(expected);
    }

    public static TheoryData<Message, MdpClientSocket, string> ClientCases() => new()
    {
        { Msg(), MdpClientSocket.Req, "empty message" },
        { Msg("MDPC01"), MdpClientSocket.Req, "frame 1: REPLY without service name" },
        { Msg("", "MDPC01", "echo"), MdpClientSocket.Req, "frame 0: unexpected empty frame before MDPC01 (a REQ socket removes the delimiter)" },
        { Msg("MDPC01", "echo", "x"), MdpClientSocket.Dealer, "frame 0: MDP/0.1 header MDPC01 without the empty delimiter frame" },
        { Msg("", "MDPW01", (byte)0x02, C, "", "x"), MdpClientSocket.Dealer, "frame 1: worker header MDPW01 on a client connection" },
        { Msg("MDPC02", (byte)0x01, "echo"), MdpClientSocket.Dealer, "frame 1: REQUEST (0x01) is sent by a client, not by the broker" },
        { Msg("MDPC02", (byte)0x09, "echo"), MdpClientSocket.Dealer, "frame 1: unknown client command 0x09" },
        { Msg("MDPC02", (byte)0x03), MdpClientSocket.Dealer, "frame 2: FINAL without service name" },
        { Msg("HTTP/1.1 200 OK"), MdpClientSocket.Req, "frame 0: unknown protocol header 'HTTP/1.1 200 OK'" },
        { Msg(new string('x', 40)), MdpClientSocket.Req, "frame 0: unknown protocol header 'xxxxxxxxxxxxxxxx…'" },
    };

    [Theory]
    [MemberData(nameof(ClientCases))]
    public void ParseAtClient_MalformedMessage_FailsWithReason(Message message, MdpClientSocket socket, string expected)
    {
        var result = MdpCodec.ParseAtClient(message, socket);

        result.IsSuccess.Should().BeFalse();
        result.Error.Should().StartWith(expected);
    }

    [Fact]
    public void Parse_RandomFrames_NeverThrow()
    {
        // Fixed seed: a reproducible fuzz over short messages built from MDP-like frames.
        var random = new Random(12345);
        object[] pool = ["", "MDPC01", "MDPW01", "MDPC02", "MDPW02", (byte)0, (byte)1, (byte)2, (byte)3, (byte)4, (byte)5, (byte)6, (byte)7, "echo", new byte[] { 0xFF }, new byte[300]];
        for (int i = 0; i < 20_000; i++)
        {
            int count = random.Next(0, 8);
            var frames = new object[count];
            for (int f = 0; f < count; f++)
            {
                frames[f] = pool[random.Next(pool.Length)];
            }

            var message = Msg(frames);

            // An exception fails the test; a failure must carry a reason.
            Check(MdpCodec.ParseAtBroker(message));
            Check(MdpCodec.ParseAtWorker(message));
            Check(MdpCodec.ParseAtClient(message, MdpClientSocket.Req));
            Check(MdpCodec.ParseAtClient(message, MdpClientSocket.Dealer));
        }

        static void Check<T>(MdpParseResult<T> result)
            where T : MdpCommand
        {
            if (!result.IsSuccess && string.IsNullOrWhiteSpace(result.Error))
            {
                throw new Xunit.Sdk.XunitException("a failed parse without a reason");
            }
        }
    }

    [Fact]
    public void DefaultResult_IsFailureWithReason()
    {
        MdpParseResult<MdpCommand> result = default;

        result.IsSuccess.Should().BeFalse();
        result.Error.Should().NotBeNullOrEmpty();
    }
}
