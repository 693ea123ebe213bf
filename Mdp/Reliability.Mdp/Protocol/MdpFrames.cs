using System.Text;
using System.Text.Unicode;

namespace Reliability.Mdp.Protocol;

/// <summary>Shared frame constants and the validation rules for service names and client addresses.</summary>
internal static class MdpFrames
{
    /// <summary>
    /// Upper bound for a service name in UTF-8 bytes. RFC 7 does not set one; we cap it so that a
    /// peer cannot make the broker hold arbitrarily large keys (docs/wire/mdp.md §14).
    /// </summary>
    public const int MaxServiceNameLength = 255;

    /// <summary>Client addresses are ZMTP routing ids, which are 1 to 255 bytes (RFC 37).</summary>
    public const int MaxClientAddressLength = 255;

    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    // Shared, never-mutated frames: building a command allocates only the message and its payload frames.
    public static readonly ReadOnlyMemory<byte> ClientHeader01 = "MDPC01"u8.ToArray();
    public static readonly ReadOnlyMemory<byte> WorkerHeader01 = "MDPW01"u8.ToArray();
    public static readonly ReadOnlyMemory<byte> ClientHeader02 = "MDPC02"u8.ToArray();
    public static readonly ReadOnlyMemory<byte> WorkerHeader02 = "MDPW02"u8.ToArray();

    private static readonly ReadOnlyMemory<byte>[] CommandFrames =
        [new byte[] { 0 }, new byte[] { 1 }, new byte[] { 2 }, new byte[] { 3 }, new byte[] { 4 }, new byte[] { 5 }, new byte[] { 6 }];

    public static ReadOnlyMemory<byte> Command(byte command) => CommandFrames[command];

    public static ReadOnlyMemory<byte> ClientHeader(MdpVersion version) => version == MdpVersion.V01 ? ClientHeader01 : ClientHeader02;

    public static ReadOnlyMemory<byte> WorkerHeader(MdpVersion version) => version == MdpVersion.V01 ? WorkerHeader01 : WorkerHeader02;

    /// <summary>Why <paramref name="service"/> (UTF-8) is not a valid service name, or null when it is.</summary>
    public static string? CheckServiceName(ReadOnlySpan<byte> service)
    {
        if (service.IsEmpty)
        {
            return "empty service name";
        }

        if (service.Length > MaxServiceNameLength)
        {
            return $"service name longer than {MaxServiceNameLength} bytes ({service.Length})";
        }

        if (!Utf8.IsValid(service))
        {
            return "service name is not valid UTF-8";
        }

        // RFC 7 calls the service name a "printable string"; control characters would also corrupt logs.
        foreach (byte b in service)
        {
            if (b < 0x20 || b == 0x7F)
            {
                return $"service name contains control character 0x{b:X2}";
            }
        }

        return null;
    }

    public static string? CheckClientAddress(ReadOnlySpan<byte> address) => address.Length switch
    {
        0 => "empty client address",
        > MaxClientAddressLength => $"client address longer than {MaxClientAddressLength} bytes ({address.Length})",
        _ => null,
    };

    /// <summary>Validates a service name passed by our own code and returns it.</summary>
    public static string ValidateServiceName(string service, string paramName)
    {
        ArgumentNullException.ThrowIfNull(service, paramName);
        int length;
        try
        {
            length = StrictUtf8.GetByteCount(service);
        }
        catch (EncoderFallbackException)
        {
            throw new ArgumentException("Invalid service name: it contains a lone surrogate.", paramName);
        }

        if (length > MaxServiceNameLength)
        {
            throw new ArgumentException($"Invalid service name: longer than {MaxServiceNameLength} bytes ({length}).", paramName);
        }

        Span<byte> utf8 = stackalloc byte[MaxServiceNameLength];
        int written = StrictUtf8.GetBytes(service, utf8);
        string? problem = CheckServiceName(utf8[..written]);
        return problem is null ? service : throw new ArgumentException($"Invalid service name: {problem}.", paramName);
    }

    /// <summary>Validates a client address passed by our own code and returns it.</summary>
    public static ReadOnlyMemory<byte> ValidateClientAddress(ReadOnlyMemory<byte> address, string paramName)
    {
        string? problem = CheckClientAddress(address.Span);
        return problem is null ? address : throw new ArgumentException($"Invalid client address: {problem}.", paramName);
    }

    /// <summary>A frame rendered for an error message: short printable ASCII as text, anything else as (truncated) hex.</summary>
    public static string Describe(ReadOnlySpan<byte> frame)
    {
        if (frame.IsEmpty)
        {
            return "an empty frame";
        }

        const int Limit = 16;
        var shown = frame.Length > Limit ? frame[..Limit] : frame;
        bool printable = true;
        foreach (byte b in shown)
        {
            printable &= b is >= 0x20 and < 0x7F;
        }

        string more = frame.Length > Limit ? "…" : string.Empty;
        return printable ? $"'{Encoding.ASCII.GetString(shown)}{more}'" : $"0x{Convert.ToHexString(shown)}{more}";
    }
}
