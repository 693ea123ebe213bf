namespace Reliability.Transport.Zmtp;

/// <summary>The 64-octet ZMTP 3.x greeting (RFC 23/37; docs/wire/zmtp.md §2).</summary>
internal static class Greeting
{
    public const int Length = 64;
    public const byte MajorVersion = 3;
    public const byte MinorVersion = 1;
    private const int MechanismOffset = 12;
    private const int MechanismLength = 20;

    public static ReadOnlySpan<byte> NullMechanism => "NULL"u8;

    public static ReadOnlySpan<byte> PlainMechanism => "PLAIN"u8;

    public static ReadOnlySpan<byte> CurveMechanism => "CURVE"u8;

    /// <summary>Our greeting: signature with zero padding, version 3.1, the mechanism, as-server (PLAIN only), zero filler.</summary>
    public static void Write(Span<byte> destination, ReadOnlySpan<byte> mechanism, bool asServer = false)
    {
        destination[..Length].Clear();
        destination[0] = 0xFF;
        destination[9] = 0x7F;
        destination[10] = MajorVersion;
        destination[11] = MinorVersion;
        mechanism.CopyTo(destination[MechanismOffset..]);
        destination[32] = asServer ? (byte)1 : (byte)0;
    }

    /// <summary>Our NULL greeting.</summary>
    public static void Write(Span<byte> destination) => Write(destination, NullMechanism);

    /// <summary>
    /// Validates a peer greeting and returns its minor version. The padding (octets 1-8) is never
    /// interpreted (RFC 23); libzmq compares all 20 mechanism octets, so do we.
    /// </summary>
    public static GreetingResult Parse(ReadOnlySpan<byte> greeting) => Parse(greeting, NullMechanism);

    /// <summary>Validates a peer greeting against the mechanism we use.</summary>
    public static GreetingResult Parse(ReadOnlySpan<byte> greeting, ReadOnlySpan<byte> ourMechanism)
    {
        if (greeting.Length < Length)
        {
            throw new ArgumentException("A greeting is 64 octets.", nameof(greeting));
        }

        if (greeting[0] != 0xFF || (greeting[9] & 0x01) == 0)
        {
            return new GreetingResult(ProtocolError.BadGreeting, 0, "not a ZMTP 3.x signature");
        }

        byte major = greeting[10];
        if (major < MajorVersion)
        {
            // The handshake answers revisions 0 and 1 in ZMTP 1.0 and 2.0 before a whole greeting is in (docs/wire/zmtp.md §17).
            return new GreetingResult(ProtocolError.UnsupportedVersion, 0, NotVersion3(major));
        }

        var mechanism = greeting.Slice(MechanismOffset, MechanismLength);
        Span<byte> expected = stackalloc byte[MechanismLength];
        expected.Clear();
        ourMechanism.CopyTo(expected);
        if (!mechanism.SequenceEqual(expected))
        {
            string name = System.Text.Encoding.ASCII.GetString(mechanism.TrimEnd((byte)0));
            return new GreetingResult(ProtocolError.MechanismMismatch, 0, $"peer mechanism '{name}' is not {System.Text.Encoding.ASCII.GetString(ourMechanism)}");
        }

        // Any version above 3 is spoken to in 3.1 framing (libzmq does the same).
        byte minor = major > MajorVersion ? MinorVersion : greeting[11];
        return new GreetingResult(null, minor, null);
    }

    /// <summary>
    /// Checks the mechanism octets of a greeting that is still arriving, so that a peer with the wrong
    /// mechanism (or a foreign protocol that got past the signature) is dropped at its first wrong
    /// octet instead of holding the connection until the rest of the 64 octets or the handshake timeout.
    /// Null while what has arrived is consistent with <paramref name="ourMechanism"/>.
    /// </summary>
    public static GreetingResult? CheckArriving(ReadOnlySpan<byte> received, ReadOnlySpan<byte> ourMechanism)
    {
        int end = Math.Min(received.Length, MechanismOffset + MechanismLength);
        for (int i = MechanismOffset; i < end; i++)
        {
            int k = i - MechanismOffset;
            if (received[i] != (k < ourMechanism.Length ? ourMechanism[k] : (byte)0))
            {
                string name = System.Text.Encoding.ASCII.GetString(received[MechanismOffset..(i + 1)].TrimEnd((byte)0));
                return new GreetingResult(ProtocolError.MechanismMismatch, 0, $"peer mechanism '{name}' is not {System.Text.Encoding.ASCII.GetString(ourMechanism)}");
            }
        }

        return null;
    }

    /// <summary>Why a peer announcing <paramref name="revision"/> (below 3) gets no ZMTP 3.x handshake.</summary>
    public static string NotVersion3(byte revision) => revision switch
    {
        0 => "peer speaks ZMTP 1.0 (revision 00), not 3.x",
        1 => "peer speaks ZMTP 2.0 (revision 01), not 3.x",
        _ => $"peer announces revision {revision:x2}, which is no ZMTP version (00 = 1.0, 01 = 2.0, 03 = 3.x)",
    };
}

/// <summary>Outcome of <see cref="Greeting.Parse(ReadOnlySpan{byte}, ReadOnlySpan{byte})"/>: an error, or the peer's minor version.</summary>
internal readonly record struct GreetingResult(ProtocolError? Error, byte PeerMinor, string? Reason);
