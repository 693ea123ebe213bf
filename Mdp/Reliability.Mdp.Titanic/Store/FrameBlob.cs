using System.Buffers.Binary;
using Reliability.Transport;

namespace Reliability.Mdp.Titanic.Store;

/// <summary>
/// A multipart message as one blob, for stores that keep a message in one column: a 4-byte big-endian frame
/// count, then per frame a 4-byte big-endian length and the bytes. Frames are kept exactly (empty ones too).
/// </summary>
internal static class FrameBlob
{
    /// <summary>Encodes <paramref name="message"/>.</summary>
    public static byte[] Encode(Message message)
    {
        long length = 4 + (4L * message.Count) + message.TotalLength;
        var blob = new byte[checked((int)length)];
        BinaryPrimitives.WriteInt32BigEndian(blob, message.Count);
        int at = 4;
        foreach (var frame in message)
        {
            BinaryPrimitives.WriteInt32BigEndian(blob.AsSpan(at), frame.Length);
            frame.Span.CopyTo(blob.AsSpan(at + 4));
            at += 4 + frame.Length;
        }

        return blob;
    }

    /// <summary>Decodes a blob <see cref="Encode"/> made.</summary>
    /// <exception cref="InvalidDataException">The blob is truncated or has trailing bytes (a damaged store).</exception>
    public static Message Decode(byte[] blob)
    {
        var span = blob.AsSpan();
        if (span.Length < 4)
        {
            throw new InvalidDataException("Stored message is shorter than its frame count.");
        }

        int count = BinaryPrimitives.ReadInt32BigEndian(span);
        if (count < 0 || count > (span.Length - 4) / 4)
        {
            throw new InvalidDataException($"Stored message claims {count} frames in {span.Length} bytes.");
        }

        var message = new Message(count);
        int at = 4;
        for (int i = 0; i < count; i++)
        {
            if (span.Length - at < 4)
            {
                throw new InvalidDataException("Stored message is truncated in a frame length.");
            }

            int length = BinaryPrimitives.ReadInt32BigEndian(span[at..]);
            at += 4;
            if (length < 0 || length > span.Length - at)
            {
                throw new InvalidDataException($"Stored frame {i} claims {length} bytes, {span.Length - at} left.");
            }

            message.Append(blob.AsMemory(at, length));
            at += length;
        }

        if (at != span.Length)
        {
            throw new InvalidDataException($"Stored message has {span.Length - at} trailing bytes.");
        }

        return message;
    }
}
