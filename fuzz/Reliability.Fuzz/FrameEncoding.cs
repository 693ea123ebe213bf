using Reliability.Transport;

namespace Reliability.Fuzz;

/// <summary>
/// How the message targets turn a flat fuzz input into a multipart message and back: each frame is a
/// length octet followed by that many octets, where 255 means a two-octet big-endian length follows.
/// Byte-level mutations of this form then add, drop, split and resize frames as well as change their
/// contents, so the parsers see every message shape, not only random frame bodies.
/// </summary>
internal static class FrameEncoding
{
    private const int LongLengthMarker = 255;

    /// <summary>The message <paramref name="input"/> encodes; a truncated last frame keeps what is there.</summary>
    public static Message Decode(ReadOnlySpan<byte> input)
    {
        var message = new Message(4);
        int at = 0;
        while (at < input.Length)
        {
            int length = input[at++];
            if (length == LongLengthMarker)
            {
                if (at + 2 > input.Length)
                {
                    break;
                }

                length = (input[at] << 8) | input[at + 1];
                at += 2;
            }

            int take = Math.Min(length, input.Length - at);
            message.Append(input.Slice(at, take).ToArray());
            at += take;
        }

        return message;
    }

    /// <summary>The input that decodes to <paramref name="frames"/> (used to write the seed corpus).</summary>
    public static byte[] Encode(params ReadOnlyMemory<byte>[] frames)
    {
        var output = new List<byte>();
        foreach (var frame in frames)
        {
            if (frame.Length < LongLengthMarker)
            {
                output.Add((byte)frame.Length);
            }
            else
            {
                output.Add(LongLengthMarker);
                output.Add((byte)(frame.Length >> 8));
                output.Add((byte)frame.Length);
            }

            output.AddRange(frame.ToArray());
        }

        return output.ToArray();
    }

    /// <summary>The input that decodes to the frames of <paramref name="message"/>.</summary>
    public static byte[] Encode(Message message) => Encode(Frames(message));

    /// <summary>The frames of <paramref name="message"/> as a list.</summary>
    public static ReadOnlyMemory<byte>[] Frames(Message message)
    {
        var frames = new ReadOnlyMemory<byte>[message.Count];
        for (int i = 0; i < message.Count; i++)
        {
            frames[i] = message[i];
        }

        return frames;
    }
}
