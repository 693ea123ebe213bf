using Reliability.Patterns.Heartbeating;
using System.Text.RegularExpressions;
using Reliability.Patterns.ParanoidPirate;
using Reliability.Transport;

namespace Reliability.Patterns.Tests.ParanoidPirate;

public sealed class PirateProtocolTests
{
    [Theory]
    [InlineData(new byte[] { 1 }, "Ready")]
    [InlineData(new byte[] { 2 }, "Heartbeat")]
    [InlineData(new byte[] { 3 }, "Invalid")]
    [InlineData(new byte[] { 1, 2 }, "Invalid")]
    [InlineData(new byte[0], "Invalid")]
    public void Classify_OneFrame_OnlyExactCommandsAccepted(byte[] frame, string expectedName)
    {
        var expected = Enum.Parse<WorkerCommand>(expectedName);
        var message = Message.FromFrames([0xAA], frame);

        PirateProtocol.Classify(message, 1, out var problem).Should().Be(expected);

        (problem is null).Should().Be(expected != WorkerCommand.Invalid);
    }

    [Fact]
    public void Classify_ReplyWithEnvelope_Reply()
    {
        var message = Message.FromFrames([0xAA], [0x00, 0x80, 0, 0, 1], [], "body"u8.ToArray());

        PirateProtocol.Classify(message, 1, out _).Should().Be(WorkerCommand.Reply);
    }

    [Theory]
    [InlineData("client", "body")]
    [InlineData("", "body")]
    [InlineData("client", "")]
    public void Classify_MultiFrameWithoutEnvelopeAndBody_Invalid(string first, string second)
    {
        var message = Message.FromStrings("worker", first, second);

        PirateProtocol.Classify(message, 1, out var problem).Should().Be(WorkerCommand.Invalid);

        problem.Should().NotBeNullOrEmpty();
    }

    [Fact]
    public void Classify_NothingAfterRoutingId_Invalid()
    {
        PirateProtocol.Classify(Message.FromStrings("worker"), 1, out _).Should().Be(WorkerCommand.Invalid);
    }

    [Fact]
    public void FindDelimiter_MultiFrameAddressStack_FirstEmptyFrame()
    {
        var message = Message.FromStrings("c1", "c2", "", "b1", "", "b2");

        PirateProtocol.FindDelimiter(message, 0).Should().Be(2);
    }

    [Fact]
    public void SplitAndBuildReply_Request_EnvelopeRestoredAroundResult()
    {
        var request = Message.FromStrings("client", "", "hello", "world");
        var (envelope, body) = PirateProtocol.Split(request, PirateProtocol.FindDelimiter(request, 0));

        body.Select(f => PirateTestKit.Text(f)).Should().Equal("hello", "world");
        var reply = PirateProtocol.BuildReply(envelope, Message.FromStrings("answer"));

        reply.Select(f => PirateTestKit.Text(f)).Should().Equal("client", "", "answer");
    }

    [Fact]
    public void BuildReply_EmptyResult_OneEmptyBodyFrame()
    {
        var reply = PirateProtocol.BuildReply(Message.FromStrings("client", ""), new Message());

        reply.Count.Should().Be(3);
        reply[2].IsEmpty.Should().BeTrue();
    }

    [Fact]
    public void RandomIdentity_Always_PrintableZguideFormat()
    {
        var id = PirateTestKit.Text(PirateProtocol.RandomIdentity());

        Regex.IsMatch(id, "^[0-9A-F]{4}-[0-9A-F]{4}$").Should().BeTrue(id);
    }

    [Fact]
    public void Heartbeat_AddressedToWorker_TwoFramesEndingIn02()
    {
        var key = new Reliability.Patterns.Heartbeating.RoutingKey([0, 1, 2, 3, 4]);

        var message = PirateProtocol.Heartbeat(key);

        message.Count.Should().Be(2);
        message[0].ToArray().Should().Equal(0, 1, 2, 3, 4);
        message[1].ToArray().Should().Equal(2);
    }

    [Fact]
    public void RoutingKey_BinaryAndPrintableIds_HexOrText()
    {
        new RoutingKey(new byte[] { 0, 0x80, 1 }).ToString().Should().Be("008001");
        new RoutingKey("1A2B-3C4D"u8.ToArray()).ToString().Should().Be("1A2B-3C4D");
    }
}
