using System.Diagnostics;
using Reliability.Mdp.Protocol;
using static Reliability.Mdp.Tests.Protocol.FrameHelpers;

namespace Reliability.Mdp.Tests.Telemetry;

/// <summary>The wire form of our trace extension (docs/wire/mdp.md §18).</summary>
public sealed class TraceFrameTests
{
    [Fact]
    public void BuildFromWorker_V02ReadyWithTraceContext_AddsTheMarkerFrameAndParsesBack()
    {
        var message = MdpCodec.BuildFromWorker(new WorkerReady("echo") { TraceContext = true }, MdpVersion.V02);

        message.ShouldBeFrames("MDPW02", (byte)0x01, "echo", "reliability.trace");
        var parsed = MdpCodec.ParseAtBroker(Msg(new byte[] { 7 }, "MDPW02", (byte)0x01, "echo", "reliability.trace"));
        parsed.IsSuccess.Should().BeTrue(parsed.Error);
        parsed.Command.Should().BeOfType<WorkerReady>().Which.TraceContext.Should().BeTrue();
    }

    [Fact]
    public void BuildFromWorker_V01ReadyWithTraceContext_SendsThePlainReady()
    {
        MdpCodec.BuildFromWorker(new WorkerReady("echo") { TraceContext = true }, MdpVersion.V01)
            .ShouldBeFrames("", "MDPW01", (byte)0x01, "echo");
    }

    [Theory]
    [InlineData("MDPW01", (byte)0x01)]
    [InlineData("MDPW02", (byte)0x01)]
    public void ParseAtBroker_ReadyWithAnotherExtraFrame_IsStillInvalid(string header, byte ready)
    {
        var frames = header == "MDPW01"
            ? Msg(new byte[] { 7 }, "", header, ready, "echo", "reliability.trace")
            : Msg(new byte[] { 7 }, header, ready, "echo", "something else");

        MdpCodec.ParseAtBroker(frames).IsSuccess.Should().BeFalse("only an MDP/0.2 READY may carry the marker, and only the marker");
    }

    [Fact]
    public void Encode_ThenDecode_YieldsTheContext()
    {
        var context = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded);

        var frame = TraceFrame.Encode(context);

        TraceFrame.Is(frame).Should().BeTrue();
        TraceFrame.TryDecode(frame, out var decoded).Should().BeTrue();
        decoded.TraceId.Should().Be(context.TraceId);
        decoded.SpanId.Should().Be(context.SpanId);
        decoded.TraceFlags.Should().Be(ActivityTraceFlags.Recorded);
        decoded.IsRemote.Should().BeTrue();
    }

    [Fact]
    public void TryDecode_MalformedTraceParent_FailsWithoutThrowing()
    {
        var frame = TraceFrame.Encode(new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.None));
        frame[^1] = (byte)'z';

        TraceFrame.TryDecode(frame, out var decoded).Should().BeFalse();
        decoded.Should().Be(default(ActivityContext));
    }

    [Fact]
    public void Strip_BodyWithoutTraceFrame_ReturnsTheSameBody()
    {
        IReadOnlyList<ReadOnlyMemory<byte>> body = [new byte[] { 1 }, new byte[] { 2 }];

        TraceFrame.Strip(body, out var frame).Should().BeSameAs(body);
        frame.IsEmpty.Should().BeTrue();
    }
}
