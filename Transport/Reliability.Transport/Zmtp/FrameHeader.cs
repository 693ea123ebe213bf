using System.Buffers.Binary;

namespace Reliability.Transport.Zmtp;

/// <summary>ZMTP frame flag bits (RFC 23 §framing; docs/wire/zmtp.md §4).</summary>
[Flags]
internal enum FrameFlags : byte
{
    None = 0,
    More = 0x01,
    Long = 0x02,
    Command = 0x04,
}

/// <summary>Encoding and decoding of frame headers: flags(1) then size(1, or 8 BE when LONG).</summary>
internal static class FrameHeader
{
    public const int MaxLength = 9;
    public const int ShortMaxBody = 255;

    /// <summary>Writes a header and returns its length. LONG is used only for bodies over 255 octets, as libzmq does.</summary>
    public static int Write(Span<byte> destination, long bodyLength, bool more, bool command)
    {
        byte flags = (byte)((more ? FrameFlags.More : 0) | (command ? FrameFlags.Command : 0));
        if (bodyLength <= ShortMaxBody)
        {
            destination[0] = flags;
            destination[1] = (byte)bodyLength;
            return 2;
        }

        destination[0] = (byte)(flags | (byte)FrameFlags.Long);
        BinaryPrimitives.WriteInt64BigEndian(destination[1..], bodyLength);
        return 9;
    }

    /// <summary>Length of the header that <see cref="Write"/> produces for a body of this size.</summary>
    public static int LengthFor(long bodyLength) => bodyLength <= ShortMaxBody ? 2 : 9;

    /// <summary>
    /// Reads a header from the start of <paramref name="source"/>. Returns false when more octets are needed.
    /// Reserved flag bits are ignored (libzmq does the same); a size with the top bit set is invalid.
    /// </summary>
    public static bool TryRead(ReadOnlySpan<byte> source, out FrameFlags flags, out long bodyLength, out int headerLength)
    {
        flags = FrameFlags.None;
        bodyLength = 0;
        headerLength = 0;
        if (source.Length < 2)
        {
            return false;
        }

        flags = (FrameFlags)(source[0] & 0x07);
        if ((flags & FrameFlags.Long) == 0)
        {
            bodyLength = source[1];
            headerLength = 2;
            return true;
        }

        if (source.Length < 9)
        {
            return false;
        }

        bodyLength = BinaryPrimitives.ReadInt64BigEndian(source[1..]);
        headerLength = 9;
        return true;
    }
}
