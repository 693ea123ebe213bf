using Reliability.Transport.Curve;

namespace Reliability.Transport;

/// <summary>
/// A CURVE (Curve25519) key pair in Z85 text, the form <c>curve_keypair()</c> in libzmq and pyzmq prints
/// (40 characters each). The secret key gives a peer its identity: keep it out of logs and source control.
/// </summary>
public sealed class CurveKeyPair
{
    /// <summary>Length of a key in Z85 characters (32 octets).</summary>
    public const int KeyTextLength = 40;

    private CurveKeyPair(string publicKey, string secretKey)
    {
        PublicKey = publicKey;
        SecretKey = secretKey;
    }

    /// <summary>The public key, Z85 (40 characters): give it to peers.</summary>
    public string PublicKey { get; }

    /// <summary>The secret key, Z85 (40 characters): never share it.</summary>
    public string SecretKey { get; }

    /// <summary>A fresh random key pair from libsodium.</summary>
    public static CurveKeyPair Generate()
    {
        Span<byte> publicKey = stackalloc byte[Sodium.KeyBytes];
        Span<byte> secretKey = stackalloc byte[Sodium.KeyBytes];
        try
        {
            Sodium.GenerateKeyPair(publicKey, secretKey);
            return new CurveKeyPair(Z85.Encode(publicKey), Z85.Encode(secretKey));
        }
        finally
        {
            Sodium.Zero(secretKey);
        }
    }

    /// <summary>The pair whose secret key is <paramref name="secretKey"/> (Z85); its public key is derived from it.</summary>
    /// <exception cref="FormatException"><paramref name="secretKey"/> is not a 40-character Z85 key.</exception>
    public static CurveKeyPair FromSecretKey(string secretKey)
    {
        byte[] secret = DecodeKey(secretKey, nameof(secretKey));
        try
        {
            Span<byte> publicKey = stackalloc byte[Sodium.KeyBytes];
            Sodium.DerivePublicKey(secret, publicKey);
            return new CurveKeyPair(Z85.Encode(publicKey), secretKey);
        }
        finally
        {
            Sodium.Zero(secret);
        }
    }

    /// <summary>The public key; the secret key is never printed.</summary>
    public override string ToString() => $"CurveKeyPair(public {PublicKey})";

    /// <summary>Decodes a Z85 key to its 32 octets, naming <paramref name="what"/> in the error.</summary>
    internal static byte[] DecodeKey(string? key, string what)
    {
        if (key is null || key.Length != KeyTextLength || !Z85.TryDecode(key, out byte[] raw))
        {
            throw new FormatException($"{what} must be a CURVE key: {KeyTextLength} Z85 characters.");
        }

        return raw;
    }
}
