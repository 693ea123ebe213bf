using Reliability.Transport.Zmtp;

namespace Reliability.Transport.Tests.Zmtp;

/// <summary>The pure parts of ZMTP 1.0/2.0 support: classifying first octets and 1.0 frame headers (docs/wire/zmtp.md §17).</summary>
public sealed class LegacyCodecTests
{
    public static TheoryData<string, string> FirstOctets() => new()
    {
        { "", nameof(PeerSignature.Incomplete) },
        { "ff 00 00", nameof(PeerSignature.Incomplete) },
        { "05", nameof(PeerSignature.Incomplete) },
        { "05 00", nameof(PeerSignature.Unversioned) },
        { "01 00", nameof(PeerSignature.Unversioned) },
        { "ff 00 00 00 00 00 00 00 01 7f", nameof(PeerSignature.Versioned) },
        { "ff 12 34 56 78 9a bc de f0 01", nameof(PeerSignature.Versioned) },
        { "ff 00 00 00 00 00 00 00 ff 00", nameof(PeerSignature.Unversioned) },
        { "ff 00 00 00 00 00 00 01 00 00", nameof(PeerSignature.Unversioned) },
        { "ff 00 00 00 00 00 00 01 01 00", nameof(PeerSignature.Invalid) },
        { "ff 00 00 00 00 00 00 00 ff 02", nameof(PeerSignature.Invalid) },
        { "00", nameof(PeerSignature.Invalid) },
        { "47 45", nameof(PeerSignature.Invalid) },
        { "16 03", nameof(PeerSignature.Invalid) },
    };

    [Theory]
    [MemberData(nameof(FirstOctets))]
    public void Classify_TellsTheVersionAtTheOctetThatDecides(string octets, string expectedName)
    {
        var expected = Enum.Parse<PeerSignature>(expectedName);
        LegacyGreeting.Classify(Hex(octets), out string? reason).Should().Be(expected);
        (reason is not null).Should().Be(expected == PeerSignature.Invalid);
    }

    [Theory]
    [InlineData("05 00 68 65 6c 6c", false)]
    [InlineData("05 01 68 65 6c 6c", true)]
    public void WriteV1_ShortForm_CountsTheFlagsOctet(string expected, bool more)
    {
        var buffer = new byte[FrameHeader.MaxLength + 5];
        int header = FrameHeader.WriteV1(buffer, 4, more);
        "hell"u8.CopyTo(buffer.AsSpan(header));
        buffer[..(header + 4)].Should().Equal(Hex(expected));
    }

    [Theory]
    [InlineData(253, 2)]
    [InlineData(254, 10)]
    [InlineData(300, 10)]
    public void WriteV1_LongFormFromLength255_AndTryReadV1_RoundTrips(int bodyLength, int headerLength)
    {
        var buffer = new byte[FrameHeader.MaxLength];
        FrameHeader.WriteV1(buffer, bodyLength, more: true).Should().Be(headerLength);
        FrameHeader.TryReadV1(buffer, out var flags, out long size, out int read).Should().BeTrue();
        (flags, size, read).Should().Be((FrameFlags.More, bodyLength, headerLength));
    }

    [Fact]
    public void TryReadV1_ZeroLength_IsRejectedAsMinusOne_AndReservedBitsAreNotCommands()
    {
        FrameHeader.TryReadV1(Hex("00 00"), out _, out long size, out _).Should().BeTrue();
        size.Should().Be(-1);
        FrameHeader.TryReadV1(Hex("02 06 41"), out var flags, out _, out _).Should().BeTrue();
        flags.Should().Be(FrameFlags.None, "1.0 has no LONG or COMMAND bit");
        FrameHeader.TryReadV1(Hex("ff 00 00"), out _, out _, out _).Should().BeFalse("the long form needs 10 octets");
    }

    [Theory]
    [InlineData(0, "ZMTP 1.0 (revision 00)")]
    [InlineData(1, "ZMTP 2.0 (revision 01)")]
    [InlineData(2, "revision 02, which is no ZMTP version")]
    public void NotVersion3_NamesTheRightVersion(byte revision, string expected) =>
        Greeting.NotVersion3(revision).Should().Contain(expected);

    private static byte[] Hex(string spaced) => Convert.FromHexString(spaced.Replace(" ", string.Empty, StringComparison.Ordinal));
}
