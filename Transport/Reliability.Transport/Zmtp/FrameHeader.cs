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
    /// <summary>Longest header of any version: ZMTP/1.0's long form (<see cref="WriteV1"/>).</summary>
    public const int MaxLength = 10;
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

    /// <summary>
    /// ZMTP/1.0 (RFC 13): <c>length(1, or FF + 8 BE) flags(1) body</c>, the length counting the
    /// flags octet; the long form for lengths of 255 and up, as libzmq's v1 encoder. Returns the
    /// header length.
    /// </summary>
    public static int WriteV1(Span<byte> destination, long bodyLength, bool more)
    {
        long length = bodyLength + 1;
        byte flags = more ? (byte)FrameFlags.More : (byte)0;
        if (length < 0xFF)
        {
            destination[0] = (byte)length;
            destination[1] = flags;
            return 2;
        }

        destination[0] = 0xFF;
        BinaryPrimitives.WriteInt64BigEndian(destination[1..], length);
        destination[9] = flags;
        return 10;
    }

    /// <summary>
    /// Reads a ZMTP/1.0 header (see <see cref="WriteV1"/>). Only MORE is taken from the flags: 1.0
    /// has no LONG or COMMAND bit. A length of zero (no room for the flags) yields a body length of
    /// -1, which the caller rejects.
    /// </summary>
    public static bool TryReadV1(ReadOnlySpan<byte> source, out FrameFlags flags, out long bodyLength, out int headerLength)
    {
        flags = FrameFlags.None;
        bodyLength = 0;
        headerLength = source.Length > 0 && source[0] == 0xFF ? 10 : 2;
        if (source.Length < headerLength)
        {
            headerLength = 0;
            return false;
        }

        long length = headerLength == 2 ? source[0] : BinaryPrimitives.ReadInt64BigEndian(source[1..]);
        flags = (FrameFlags)(source[headerLength - 1] & (byte)FrameFlags.More);
        bodyLength = length <= 0 ? -1 : length - 1;
        return true;
    }
}
