using System.Buffers.Text;
using Reliability.Transport;

namespace Reliability.Patterns.Freelance;

/// <summary>What a message's control frame (the first frame after the peer's routing id) says (docs/patterns/freelance.md §2).</summary>
internal enum FreelanceFrame
{
    /// <summary>No control frame, or one that is neither a command nor a sequence number.</summary>
    Invalid,

    /// <summary><c>PING</c>: a client checks that the server is there.</summary>
    Ping,

    /// <summary><c>PONG</c>: a server's answer to a ping.</summary>
    Pong,

    /// <summary>A sequence number in decimal ASCII: a request (client to server) or its reply.</summary>
    Sequence,

    /// <summary>An empty frame: a REQ client's envelope delimiter (model 1), answered with the envelope put back.</summary>
    Delimiter,
}

/// <summary>
/// The Freelance wire (zguide ch. 4, model 3; docs/patterns/freelance.md §2): ping <c>[PING]</c>, pong
/// <c>[PONG]</c>, request <c>[sequence][body…]</c>, reply <c>[sequence][reply…]</c>, all behind the
/// routing id the ROUTER adds or strips. The sequence is the client's number for the request in
/// decimal ASCII, echoed unmodified, so the client can tell the answer to a request it still waits for
/// from a late or duplicated one.
/// </summary>
internal static class FreelanceProtocol
{
    /// <summary>Longest sequence frame accepted: the digits of <see cref="long.MaxValue"/>.</summary>
    public const int MaxSequenceLength = 19;

    public static ReadOnlySpan<byte> Ping => "PING"u8;

    public static ReadOnlySpan<byte> Pong => "PONG"u8;

    /// <summary>Classifies frame <paramref name="index"/> of <paramref name="message"/> (missing = invalid).</summary>
    public static FreelanceFrame Classify(Message message, int index, out long sequence)
    {
        sequence = 0;
        if (message.Count <= index)
        {
            return FreelanceFrame.Invalid;
        }

        var frame = message[index].Span;
        if (frame.IsEmpty)
        {
            return FreelanceFrame.Delimiter;
        }

        if (frame.SequenceEqual(Ping))
        {
            return FreelanceFrame.Ping;
        }

        if (frame.SequenceEqual(Pong))
        {
            return FreelanceFrame.Pong;
        }

        return TryParseSequence(frame, out sequence) ? FreelanceFrame.Sequence : FreelanceFrame.Invalid;
    }

    /// <summary>Digits only (no sign, no spaces), at most <see cref="MaxSequenceLength"/> of them.</summary>
    public static bool TryParseSequence(ReadOnlySpan<byte> frame, out long sequence)
    {
        sequence = 0;
        if (frame.IsEmpty || frame.Length > MaxSequenceLength)
        {
            return false;
        }

        foreach (byte b in frame)
        {
            if (b is < (byte)'0' or > (byte)'9')
            {
                return false;
            }
        }

        return Utf8Parser.TryParse(frame, out sequence, out int consumed) && consumed == frame.Length;
    }

    /// <summary>The sequence frame for <paramref name="sequence"/> (decimal ASCII).</summary>
    public static byte[] SequenceFrame(long sequence)
    {
        Span<byte> digits = stackalloc byte[MaxSequenceLength + 1];
        Utf8Formatter.TryFormat(sequence, digits, out int written);
        return digits[..written].ToArray();
    }

    /// <summary><c>[server-id][PING]</c> for a client's ROUTER.</summary>
    public static Message PingTo(ReadOnlyMemory<byte> serverId) => new Message(2).Append(serverId).Append(Ping.ToArray());

    /// <summary><c>[server-id][sequence][body…]</c> for a client's ROUTER; <paramref name="body"/> is copied, not changed.</summary>
    public static Message RequestTo(ReadOnlyMemory<byte> serverId, ReadOnlyMemory<byte> sequence, Message body)
    {
        var message = new Message(body.Count + 2).Append(serverId).Append(sequence);
        foreach (var frame in body)
        {
            message.Append(frame);
        }

        return message;
    }
}
