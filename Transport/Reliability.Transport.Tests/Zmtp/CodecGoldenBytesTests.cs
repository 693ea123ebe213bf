using System.Text;
using Reliability.Transport.Zmtp;

namespace Reliability.Transport.Tests.Zmtp;

/// <summary>Codec tests against literal bytes from docs/wire/zmtp.md §2-§10 and the libzmq capture in §16 (never from our own encoder).</summary>
public sealed class CodecGoldenBytesTests
{
    private static byte[] Hex(string hex) => Convert.FromHexString(hex.Replace(" ", string.Empty, StringComparison.Ordinal));

    private static byte[] Bytes(params object[] parts)
    {
        var buffer = new List<byte>();
        foreach (var part in parts)
        {
            switch (part)
            {
                case string text:
                    buffer.AddRange(Encoding.ASCII.GetBytes(text));
                    break;
                case byte[] raw:
                    buffer.AddRange(raw);
                    break;
                case int value:
                    buffer.Add((byte)value);
                    break;
                default:
                    throw new ArgumentException("unsupported part");
            }
        }

        return [.. buffer];
    }

    [Fact]
    public void Write_Greeting_MatchesReferenceBytes()
    {
        // FF 00x8 7F 03 01 "NULL"+00x16 00 00x31 (docs/wire/zmtp.md §2)
        var expected = Bytes(Hex("FF 0000000000000000 7F 03 01"), "NULL", new byte[16], 0, new byte[31]);
        var actual = new byte[64];

        Greeting.Write(actual);

        actual.Should().Equal(expected);
    }

    [Fact]
    public void Parse_LibzmqGreetingWithIdentityPadding_AcceptsAsMinor1()
    {
        // libzmq writes identity-length+1 into the padding; the padding is never interpreted.
        var libzmq = Bytes(Hex("FF 0000000000000001 7F 03 01"), "NULL", new byte[16], 0, new byte[31]);

        var result = Greeting.Parse(libzmq);

        result.Error.Should().BeNull();
        result.PeerMinor.Should().Be(1);
    }

    [Fact]
    public void Parse_Zmtp30Greeting_AcceptsAsMinor0()
    {
        var v30 = Bytes(Hex("FF 0000000000000000 7F 03 00"), "NULL", new byte[16], 0, new byte[31]);

        Greeting.Parse(v30).PeerMinor.Should().Be(0);
    }

    [Fact]
    public void Parse_FutureMajorVersion_AcceptedAndSpokenToIn31()
    {
        var v4 = Bytes(Hex("FF 0000000000000000 7F 04 07"), "NULL", new byte[16], 0, new byte[31]);

        var result = Greeting.Parse(v4);

        result.Error.Should().BeNull();
        result.PeerMinor.Should().Be(1);
    }

    [Theory]
    [InlineData("00 0000000000000000 7F 03 01", ProtocolError.BadGreeting)]
    [InlineData("FF 0000000000000000 7E 03 01", ProtocolError.BadGreeting)]
    [InlineData("FF 0000000000000000 7F 02 00", ProtocolError.UnsupportedVersion)]
    public void Parse_InvalidSignatureOrVersion_ReportsError(string prefix, ProtocolError expected)
    {
        var greeting = Bytes(Hex(prefix), "NULL", new byte[16], 0, new byte[31]);

        Greeting.Parse(greeting).Error.Should().Be(expected);
    }

    [Theory]
    [InlineData("PLAIN")]
    [InlineData("CURVE")]
    [InlineData("null")]
    public void Parse_OtherMechanism_ReportsMechanismMismatch(string mechanism)
    {
        var name = new byte[20];
        Encoding.ASCII.GetBytes(mechanism).CopyTo(name, 0);
        var greeting = Bytes(Hex("FF 0000000000000000 7F 03 01"), name, 0, new byte[31]);

        Greeting.Parse(greeting).Error.Should().Be(ProtocolError.MechanismMismatch);
    }

    [Fact]
    public void BuildReadyFrame_DealerWithEmptyIdentity_MatchesWorkedExample()
    {
        // docs/wire/zmtp.md §6: 04 29 | 05 "READY" | 0B "Socket-Type" 00 00 00 06 "DEALER" | 08 "Identity" 00 00 00 00
        var expected = Bytes(Hex("04 29 05"), "READY", 0x0B, "Socket-Type", Hex("00000006"), "DEALER", 0x08, "Identity", Hex("00000000"));

        Commands.BuildReadyFrame("DEALER", [], includeIdentity: true).Should().Equal(expected);
    }

    [Fact]
    public void BuildReadyFrame_DealerWithIdentityAbc_MatchesCapturedExchange()
    {
        // docs/wire/zmtp.md §16: 04 2C 05 "READY" 0b "Socket-Type" 00 00 00 06 "DEALER" 08 "Identity" 00 00 00 03 "abc".
        // The body is 44 octets (6 + 22 + 16) = 0x2C; libzmq's own READY in the same capture (41 octets,
        // empty identity) confirms the arithmetic.
        var expected = Bytes(Hex("04 2C 05"), "READY", 0x0B, "Socket-Type", Hex("00000006"), "DEALER", 0x08, "Identity", Hex("00000003"), "abc");

        Commands.BuildReadyFrame("DEALER", "abc"u8, includeIdentity: true).Should().Equal(expected);
    }

    [Fact]
    public void ParseReady_LibzmqRouterReady_ReadsTypeAndEmptyIdentity()
    {
        // docs/wire/zmtp.md §16, what libzmq's ROUTER sent (body after the 2-octet header).
        var frame = Bytes(Hex("04 29 05 52 45 41 44 59 0b"), "Socket-Type", Hex("00000006"), "ROUTER", 0x08, "Identity", Hex("00000000"));
        Commands.TrySplit(frame.AsSpan(2), out var name, out var data).Should().BeTrue();
        name.SequenceEqual("READY"u8).Should().BeTrue();

        var properties = Commands.ParseReady(data, out var error);

        error.Should().BeNull();
        properties!.SocketType.Should().Be("ROUTER");
        properties.Identity.Should().BeEmpty();
    }

    [Fact]
    public void ParseReady_LowerCasePropertyNames_AcceptedCaseInsensitively()
    {
        var data = Bytes(0x0B, "socket-type", Hex("00000003"), "REQ", 0x08, "IDENTITY", Hex("00000002"), "id", 0x05, "X-App", Hex("00000000"));

        var properties = Commands.ParseReady(data, out _);

        properties!.SocketType.Should().Be("REQ");
        properties.Identity.Should().Equal("id"u8.ToArray());
        properties.Other.Should().ContainKey("X-App").WhoseValue.Should().BeEmpty();
    }

    [Theory]
    [InlineData("0B 536F636B65742D54797065 000000")]
    [InlineData("0B 536F636B65742D54797065 00000009 444541")]
    [InlineData("00")]
    public void ParseReady_TruncatedProperties_ReportsError(string hex)
    {
        Commands.ParseReady(Hex(hex), out var error).Should().BeNull();
        error.Should().NotBeNull();
    }

    [Theory]
    [InlineData(0, false, false, "00 00")]
    [InlineData(5, true, false, "01 05")]
    [InlineData(255, false, false, "00 FF")]
    [InlineData(256, false, false, "02 0000000000000100")]
    [InlineData(256, true, false, "03 0000000000000100")]
    [InlineData(7, false, true, "04 07")]
    [InlineData(300, false, true, "06 000000000000012C")]
    public void WriteHeader_ShortLongMoreCommand_MatchesRfcFlags(long size, bool more, bool command, string expectedHex)
    {
        var header = new byte[9];

        int length = FrameHeader.Write(header, size, more, command);

        header[..length].Should().Equal(Hex(expectedHex));
    }

    [Fact]
    public void TryReadHeader_LongHeaderForSmallBody_Accepted()
    {
        // libzmq accepts LONG even for bodies <= 255 and ignores reserved bits.
        FrameHeader.TryRead(Hex("FA 0000000000000005"), out var flags, out long size, out int headerLength).Should().BeTrue();

        flags.Should().Be(FrameFlags.Long);
        size.Should().Be(5);
        headerLength.Should().Be(9);
    }

    [Fact]
    public void TryReadHeader_IncompleteLongHeader_NeedsMore()
    {
        FrameHeader.TryRead(Hex("02 00000000"), out _, out _, out _).Should().BeFalse();
        FrameHeader.TryRead(Hex("00"), out _, out _, out _).Should().BeFalse();
    }

    [Fact]
    public void BuildPongFrame_PingWithContextXy_MatchesCapturedExchange()
    {
        // → 04 09 04 "PING" 00 00 "xy"   ← 04 07 04 "PONG" "xy"
        var ping = Bytes(Hex("04 09 04"), "PING", Hex("0000"), "xy");
        Commands.TrySplit(ping.AsSpan(2), out var name, out var data).Should().BeTrue();
        name.SequenceEqual("PING"u8).Should().BeTrue();

        Commands.BuildPongFrame(data).Should().Equal(Bytes(Hex("04 07 04"), "PONG", "xy"));
    }

    [Fact]
    public void BuildPongFrame_ContextOver16Octets_TruncatedTo16()
    {
        var data = Bytes(Hex("0000"), new string('c', 20));

        Commands.BuildPongFrame(data).Should().Equal(Bytes(Hex("04 15 04"), "PONG", new string('c', 16)));
    }

    [Fact]
    public void ParseErrorReason_ErrorCommand_ReadsReason()
    {
        var frame = Bytes(Hex("04 0A 05"), "ERROR", 0x03, "400");
        Commands.TrySplit(frame.AsSpan(2), out var name, out var data).Should().BeTrue();

        name.SequenceEqual("ERROR"u8).Should().BeTrue();
        Commands.ParseErrorReason(data).Should().Be("400");
    }

    [Theory]
    [InlineData(SocketType.Req, "REP", true)]
    [InlineData(SocketType.Req, "ROUTER", true)]
    [InlineData(SocketType.Req, "DEALER", false)]
    [InlineData(SocketType.Rep, "DEALER", true)]
    [InlineData(SocketType.Rep, "REP", false)]
    [InlineData(SocketType.Dealer, "DEALER", true)]
    [InlineData(SocketType.Dealer, "REQ", false)]
    [InlineData(SocketType.Router, "ROUTER", true)]
    [InlineData(SocketType.Router, "PUB", false)]
    [InlineData(SocketType.Router, "router", false)]
    [InlineData(SocketType.Push, "PULL", true)]
    [InlineData(SocketType.Pull, "PUSH", true)]
    public void IsCompatible_PairsFromRfc37_ExactMatch(SocketType local, string peer, bool expected)
    {
        SocketTypes.IsCompatible(local, peer).Should().Be(expected);
    }
}
