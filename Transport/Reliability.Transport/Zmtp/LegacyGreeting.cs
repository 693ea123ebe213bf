using System.Buffers.Binary;

namespace Reliability.Transport.Zmtp;

/// <summary>What the peer's first octets say about its version (docs/wire/zmtp.md §17).</summary>
internal enum PeerSignature
{
    /// <summary>More octets are needed to tell.</summary>
    Incomplete,

    /// <summary>A 10-octet signature: the revision octet that follows names the version.</summary>
    Versioned,

    /// <summary>An identity frame: a ZMTP/1.0 peer (RFC 13), which sends no signature.</summary>
    Unversioned,

    /// <summary>Cannot be the start of any ZeroMQ greeting.</summary>
    Invalid,
}

/// <summary>
/// The parts of the greeting that decide the version (docs/wire/zmtp.md §17): the 10-octet
/// signature every versioned peer sends first, and the 12-octet greeting of RFC 15
/// (signature, revision, socket type) that ZMTP/2.0 peers send.
/// </summary>
internal static class LegacyGreeting
{
    /// <summary>Octets 0-9: <c>FF</c>, padding, <c>7F</c>.</summary>
    public const int SignatureLength = 10;

    /// <summary>A ZMTP/2.0 greeting: signature, revision, socket type.</summary>
    public const int V2Length = 12;

    /// <summary>Revision 0 (ZMTP/1.0 with a revision) and 1 (ZMTP/2.0) get the 12-octet greeting (RFC 15; libzmq does the same).</summary>
    public const byte LastV2Revision = 1;

    /// <summary>Longest identity RFC 13 allows.</summary>
    public const int MaxIdentityLength = 255;

    /// <summary>
    /// Our signature. The padding carries the length of our identity frame plus one, as libzmq
    /// writes it, so that a ZMTP/1.0 peer reads the signature as the long-form header of that frame
    /// (with flags <c>7F</c>); ZMTP 2.0 and 3.x peers ignore the padding.
    /// </summary>
    public static void WriteSignature(Span<byte> destination, int identityLength)
    {
        destination[0] = 0xFF;
        BinaryPrimitives.WriteUInt64BigEndian(destination[1..], (ulong)identityLength + 1);
        destination[9] = 0x7F;
    }

    /// <summary>
    /// Classifies the peer's first octets as they arrive, as libzmq does: a first octet other than
    /// <c>FF</c>, or an even octet 9, is a ZMTP/1.0 identity frame. Stricter than libzmq where a
    /// 1.0 frame cannot be valid (zero length, nonzero flags, a long form for a length other than
    /// 255 or 256), so that a foreign protocol is refused at its first wrong octet.
    /// </summary>
    public static PeerSignature Classify(ReadOnlySpan<byte> received, out string? reason)
    {
        reason = null;
        if (received.Length == 0)
        {
            return PeerSignature.Incomplete;
        }

        if (received[0] != 0xFF)
        {
            if (received[0] == 0)
            {
                reason = "first octet 00 is neither a signature (FF) nor a ZMTP/1.0 frame length";
                return PeerSignature.Invalid;
            }

            if (received.Length < 2)
            {
                return PeerSignature.Incomplete;
            }

            if (received[1] != 0)
            {
                reason = $"octets {Hex(received[..2])} are neither a signature (FF) nor a ZMTP/1.0 identity frame (length, flags 00)";
                return PeerSignature.Invalid;
            }

            return PeerSignature.Unversioned;
        }

        if (received.Length < SignatureLength)
        {
            return PeerSignature.Incomplete;
        }

        if ((received[9] & 0x01) != 0)
        {
            return PeerSignature.Versioned;
        }

        long length = BinaryPrimitives.ReadInt64BigEndian(received[1..]);
        if (received[9] == 0 && length is MaxIdentityLength or MaxIdentityLength + 1)
        {
            return PeerSignature.Unversioned;
        }

        reason = $"octets {Hex(received[..SignatureLength])} are neither a signature (FF .. 7F) nor a ZMTP/1.0 identity frame";
        return PeerSignature.Invalid;
    }

    /// <summary>The RFC 15 socket-type octet: libzmq's numbering, which <see cref="SocketType"/> follows.</summary>
    public static byte TypeCode(SocketType type) => (byte)type;

    /// <summary>The wire name of a peer's RFC 15 socket-type octet, or null for an unknown code.</summary>
    public static string? TypeName(byte code) =>
        code <= (byte)SocketType.XSub ? SocketTypes.WireName((SocketType)code) : null;

    /// <summary>A short hex dump of what the peer sent, for log lines.</summary>
    public static string Hex(ReadOnlySpan<byte> bytes) =>
        Convert.ToHexString(bytes[..Math.Min(bytes.Length, 16)]).ToLowerInvariant();
}
