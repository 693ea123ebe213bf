using System.Text;
using Reliability.Mdp.Titanic;
using Reliability.Transport;

namespace Reliability.Mdp.Titanic.Tests.Protocol;

/// <summary>The TSP bodies byte for byte as the zguide's ticlient and titanic put them on MDP/0.1 (RFC 9).</summary>
public sealed class TspCodecTests
{
    private const string Id = "0123456789ABCDEF0123456789ABCDEF";

    private static byte[][] Frames(Message message) => message.Select(f => f.ToArray()).ToArray();

    private static byte[] Ascii(string text) => Encoding.ASCII.GetBytes(text);

    [Fact]
    public void ServiceNames_AreTheRfc9Names()
    {
        Tsp.RequestService.Should().Be("titanic.request");
        Tsp.ReplyService.Should().Be("titanic.reply");
        Tsp.CloseService.Should().Be("titanic.close");
    }

    [Fact]
    public void RequestBody_ServiceFrameThenRequestFrames()
    {
        var body = Tsp.RequestBody("echo", Message.FromFrames([0x01, 0x02], []));

        Frames(body).Should().BeEquivalentTo(new[] { Ascii("echo"), new byte[] { 0x01, 0x02 }, Array.Empty<byte>() }, o => o.WithStrictOrdering());
    }

    [Fact]
    public void IdBody_OneFrameOf32AsciiHexDigits()
    {
        Frames(Tsp.IdBody(Id)).Should().BeEquivalentTo(new[] { Ascii(Id) }, o => o.WithStrictOrdering());
    }

    [Fact]
    public void StoredReply_200ThenId()
    {
        Frames(Tsp.StoredReply(Id)).Should().BeEquivalentTo(new[] { "200"u8.ToArray(), Ascii(Id) }, o => o.WithStrictOrdering());
    }

    [Fact]
    public void FoundReply_200ThenReplyFrames()
    {
        var reply = Tsp.FoundReply(Message.FromStrings("Hello", "world"));

        Frames(reply).Should().BeEquivalentTo(new[] { "200"u8.ToArray(), "Hello"u8.ToArray(), "world"u8.ToArray() }, o => o.WithStrictOrdering());
    }

    [Theory]
    [InlineData(Tsp.Ok, "200")]
    [InlineData(Tsp.Pending, "300")]
    [InlineData(Tsp.Unknown, "400")]
    [InlineData(Tsp.Error, "500")]
    public void StatusReply_OneThreeDigitFrame(string status, string wire)
    {
        Frames(Tsp.StatusReply(status)).Should().BeEquivalentTo(new[] { Ascii(wire) }, o => o.WithStrictOrdering());
    }

    [Fact]
    public void StatusOf_ReadsTheFirstThreeCharacters()
    {
        Tsp.StatusOf(Message.FromStrings("200 OK", Id)).Should().Be("200");
        Tsp.StatusOf(Message.FromStrings("30")).Should().BeNull();
        Tsp.StatusOf(new Message()).Should().BeNull();
    }

    [Fact]
    public void TryParseRequest_SplitsServiceAndFrames()
    {
        Tsp.TryParseRequest(Message.FromStrings("echo", "a", "b"), out string service, out var request).Should().BeTrue();

        service.Should().Be("echo");
        Frames(request).Should().BeEquivalentTo(new[] { "a"u8.ToArray(), "b"u8.ToArray() }, o => o.WithStrictOrdering());
    }

    [Fact]
    public void TryParseRequest_NoRequestFrameOrBadServiceName_IsRejected()
    {
        Tsp.TryParseRequest(Message.FromStrings("echo"), out _, out _).Should().BeFalse();
        Tsp.TryParseRequest(Message.FromStrings("", "a"), out _, out _).Should().BeFalse();
        Tsp.TryParseRequest(Message.FromFrames(new byte[256], "a"u8.ToArray()), out _, out _).Should().BeFalse();
        Tsp.TryParseRequest(Message.FromFrames([0xFF, 0xFE], "a"u8.ToArray()), out _, out _).Should().BeFalse();
        Tsp.TryParseRequest(Message.FromStrings("ec\nho", "a"), out _, out _).Should().BeFalse();
    }

    [Fact]
    public void TryParseId_AcceptsEitherCaseAndUpperCasesIt()
    {
        Tsp.TryParseId(Message.FromStrings(Id.ToLowerInvariant()), out string id).Should().BeTrue();
        id.Should().Be(Id);
    }

    [Theory]
    [InlineData("")]
    [InlineData("0123456789ABCDEF0123456789ABCDE")]
    [InlineData("0123456789ABCDEF0123456789ABCDEF0")]
    [InlineData("0123456789ABCDEF0123456789ABCDEG")]
    public void TryParseId_NotAnId_IsRejected(string text)
    {
        Tsp.TryParseId(Message.FromStrings(text), out _).Should().BeFalse();
    }

    [Fact]
    public void TryParseId_NoFrame_IsRejected()
    {
        Tsp.TryParseId(new Message(), out _).Should().BeFalse();
    }

    [Fact]
    public void NewId_Is32UpperCaseHexDigitsAndUnique()
    {
        string a = Tsp.NewId();
        string b = Tsp.NewId();

        a.Should().MatchRegex("^[0-9A-F]{32}$");
        b.Should().NotBe(a);
    }
}
