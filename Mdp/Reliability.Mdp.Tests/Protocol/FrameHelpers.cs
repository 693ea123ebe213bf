using System.Text;
using Reliability.Transport;

namespace Reliability.Mdp.Tests.Protocol;

/// <summary>Writes literal frames for golden tests: a string is its UTF-8 bytes, a byte is a one-byte frame, a byte[] is itself.</summary>
internal static class FrameHelpers
{
    public static Message Msg(params object[] frames)
    {
        var message = new Message(frames.Length);
        foreach (var frame in frames)
        {
            message.Append(ToBytes(frame));
        }

        return message;
    }

    public static byte[] ToBytes(object frame) => frame switch
    {
        string text => Encoding.UTF8.GetBytes(text),
        byte b => [b],
        byte[] bytes => bytes,
        ReadOnlyMemory<byte> memory => memory.ToArray(),
        _ => throw new ArgumentException($"Unsupported frame literal {frame.GetType().Name}.", nameof(frame)),
    };

    /// <summary>Frames as hex strings, so that a mismatch shows which frame differs and how.</summary>
    public static List<string> Hex(IEnumerable<ReadOnlyMemory<byte>> frames) => frames.Select(f => Convert.ToHexString(f.Span)).ToList();

    public static void ShouldBeFrames(this Message actual, params object[] expected) =>
        Hex(actual).Should().Equal(expected.Select(f => Convert.ToHexString(ToBytes(f))));

    public static void ShouldBeBody(this IReadOnlyList<ReadOnlyMemory<byte>> actual, params object[] expected) =>
        Hex(actual).Should().Equal(expected.Select(f => Convert.ToHexString(ToBytes(f))));
}
