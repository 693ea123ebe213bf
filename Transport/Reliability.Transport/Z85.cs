using System.Buffers.Binary;

namespace Reliability.Transport;

/// <summary>
/// Z85 (ZeroMQ RFC 32): the printable encoding CURVE keys are exchanged in. Every 4 octets become
/// 5 characters (a big-endian base-85 number), so a 32-octet key is 40 characters (docs/wire/curve.md §5).
/// </summary>
public static class Z85
{
    private const string Alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

    // Character code -> digit value, or 0xFF for a character outside the alphabet.
    private static readonly byte[] Digits = BuildDigits();

    /// <summary>Encodes <paramref name="data"/>, whose length must be a multiple of 4.</summary>
    /// <exception cref="ArgumentException">The length is not a multiple of 4.</exception>
    public static string Encode(ReadOnlySpan<byte> data)
    {
        if (data.Length % 4 != 0)
        {
            throw new ArgumentException($"Z85 encodes whole 4-octet groups; {data.Length} octets is not a multiple of 4.", nameof(data));
        }

        // Encoded on the stack (keys are 40 characters) so secret key octets are not copied to the heap twice.
        int length = data.Length / 4 * 5;
        Span<char> chars = length <= 256 ? stackalloc char[length] : new char[length];
        for (int group = 0; group < data.Length / 4; group++)
        {
            uint value = BinaryPrimitives.ReadUInt32BigEndian(data[(group * 4)..]);
            for (int i = 4; i >= 0; i--)
            {
                chars[(group * 5) + i] = Alphabet[(int)(value % 85)];
                value /= 85;
            }
        }

        return new string(chars);
    }

    /// <summary>Decodes <paramref name="text"/>, whose length must be a multiple of 5.</summary>
    /// <exception cref="FormatException">The length is not a multiple of 5, a character is outside the Z85 alphabet, or a group exceeds 2^32-1.</exception>
    public static byte[] Decode(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryDecode(text, out var data, out string? error) ? data : throw new FormatException(error);
    }

    /// <summary>Decodes <paramref name="text"/>; false (and an empty array) when it is not valid Z85.</summary>
    public static bool TryDecode(string? text, out byte[] data) => TryDecode(text, out data, out _);

    private static bool TryDecode(string? text, out byte[] data, out string? error)
    {
        data = [];
        if (text is null || text.Length % 5 != 0)
        {
            error = $"Z85 text must be whole 5-character groups; length {text?.Length ?? 0} is not a multiple of 5.";
            return false;
        }

        var result = new byte[text.Length / 5 * 4];
        for (int group = 0; group < text.Length / 5; group++)
        {
            ulong value = 0;
            for (int i = 0; i < 5; i++)
            {
                char c = text[(group * 5) + i];
                byte digit = c < Digits.Length ? Digits[c] : byte.MaxValue;
                if (digit == byte.MaxValue)
                {
                    error = $"'{c}' at position {(group * 5) + i} is not a Z85 character.";
                    return false;
                }

                value = (value * 85) + digit;
            }

            // Five base-85 digits reach 85^5-1 > 2^32-1, so a group such as "#####" names no 4 octets.
            if (value > uint.MaxValue)
            {
                error = $"The Z85 group at position {group * 5} is larger than 2^32-1.";
                return false;
            }

            BinaryPrimitives.WriteUInt32BigEndian(result.AsSpan(group * 4), (uint)value);
        }

        data = result;
        error = null;
        return true;
    }

    private static byte[] BuildDigits()
    {
        var digits = new byte[128];
        Array.Fill(digits, byte.MaxValue);
        for (int i = 0; i < Alphabet.Length; i++)
        {
            digits[Alphabet[i]] = (byte)i;
        }

        return digits;
    }
}
