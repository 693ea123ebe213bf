namespace Reliability.Transport.Zmtp;

/// <summary>
/// The parts of the greeting that decide the version (docs/wire/zmtp.md §3, §17): the 10-octet
/// signature every versioned peer sends first, and the ZMTP/2.0 greeting of RFC 15
/// (signature, revision, socket type).
/// </summary>
internal static class LegacyGreeting
{
    /// <summary>Octets 0-9: 0xFF, padding, 0x7F.</summary>
    public const int SignatureLength = 10;

    /// <summary>A ZMTP/2.0 greeting: signature, revision, socket type.</summary>
    public const int V2Length = 12;

    /// <summary>Revisions 0 and 1 are spoken to in ZMTP/2.0 (RFC 15; libzmq does the same).</summary>
    public const byte LastV2Revision = 1;

    /// <summary>
    /// Our signature. The padding carries the length of our identity frame plus one, as libzmq does,
    /// so that a ZMTP/1.0 peer can read the signature as the header of that frame; ZMTP 2.0 and 3.x
    /// peers ignore it.
    /// </summary>
    public static void WriteSignature(Span<byte> destination, int identityLength)
    {
        destination[0] = 0xFF;
        System.Buffers.Binary.BinaryPrimitives.WriteUInt64BigEndian(destination[1..], (ulong)identityLength + 1);
        destination[9] = 0x7F;
    }

    /// <summary>
    /// Checks the peer's first octets as they arrive. Null while they can still be a ZeroMQ
    /// greeting; otherwise why not. A first octet other than 0xFF would be the length of a ZMTP/1.0
    /// identity frame, whose flags octet must be zero (no MORE, no reserved bits).
    /// </summary>
    public static string? CheckPrefix(ReadOnlySpan<byte> received)
    {
        if (received.Length == 0)
        {
            return null;
        }

        if (received[0] != 0xFF)
        {
            if (received[0] == 0)
            {
                return "first octet 0x00 is neither a signature nor a ZMTP/1.0 frame length";
            }

            return received.Length > 1 && received[1] != 0
                ? $"octets {Hex(received[..2])} are neither a signature (0xFF) nor a ZMTP/1.0 identity frame"
                : null;
        }

        return null;
    }

    /// <summary>
    /// Whether the peer is a ZMTP/1.0 peer: known from its first octet, or from octet 9 when it
    /// sent a long identity frame (bit 0 of the signature's last octet is clear).
    /// </summary>
    public static bool IsV1(ReadOnlySpan<byte> received) =>
        received.Length > 0 && (received[0] != 0xFF || (received.Length >= SignatureLength && (received[9] & 0x01) == 0));

    /// <summary>The RFC 15 socket-type octet: libzmq's numbering, which <see cref="SocketType"/> follows.</summary>
    public static byte TypeCode(SocketType type) => (byte)type;

    /// <summary>The wire name of a peer's RFC 15 socket-type octet, or null for an unknown code.</summary>
    public static string? TypeName(byte code) =>
        code <= (byte)SocketType.XSub ? SocketTypes.WireName((SocketType)code) : null;

    /// <summary>A short hex dump of what the peer sent, for log lines.</summary>
    public static string Hex(ReadOnlySpan<byte> bytes) =>
        Convert.ToHexString(bytes[..Math.Min(bytes.Length, 16)]).ToLowerInvariant();
}
