using System.Runtime.InteropServices;

namespace Reliability.Transport.Curve;

/// <summary>
/// The few libsodium calls CURVE needs (docs/wire/curve.md §2), bound to the native library that the
/// <c>libsodium</c> package ships under runtimes/*/native. Every cryptographic operation is libsodium's;
/// this class only checks lengths so a short span can never make native code read or write out of bounds.
/// </summary>
internal static partial class Sodium
{
    private const string Library = "libsodium";

    public const int KeyBytes = 32;
    public const int NonceBytes = 24;
    public const int MacBytes = 16;

    private static readonly int InitResult = sodium_init();

    /// <summary>Runs <c>sodium_init</c> once (it picks the fastest implementations and seeds the RNG); throws when the library is unusable.</summary>
    public static void EnsureInitialized()
    {
        // 0 = initialised now, 1 = already initialised; -1 means the library cannot be used at all.
        if (InitResult < 0)
        {
            throw new InvalidOperationException("libsodium failed to initialise (sodium_init returned -1).");
        }
    }

    public static void GenerateKeyPair(Span<byte> publicKey, Span<byte> secretKey)
    {
        RequireLength(publicKey, KeyBytes, nameof(publicKey));
        RequireLength(secretKey, KeyBytes, nameof(secretKey));
        EnsureInitialized();
        Check(crypto_box_keypair(publicKey, secretKey), "crypto_box_keypair");
    }

    /// <summary>The Curve25519 public key that belongs to <paramref name="secretKey"/>.</summary>
    public static void DerivePublicKey(ReadOnlySpan<byte> secretKey, Span<byte> publicKey)
    {
        RequireLength(secretKey, KeyBytes, nameof(secretKey));
        RequireLength(publicKey, KeyBytes, nameof(publicKey));
        EnsureInitialized();
        Check(crypto_scalarmult_base(publicKey, secretKey), "crypto_scalarmult_base");
    }

    /// <summary>
    /// The shared key of a (public, secret) pair, so each later box skips the scalar multiplication. False when
    /// <paramref name="publicKey"/> is a degenerate point (libsodium refuses an all-zero shared secret), which
    /// only a hostile peer sends.
    /// </summary>
    public static bool TryPrecompute(Span<byte> sharedKey, ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> secretKey)
    {
        RequireLength(sharedKey, KeyBytes, nameof(sharedKey));
        RequireLength(publicKey, KeyBytes, nameof(publicKey));
        RequireLength(secretKey, KeyBytes, nameof(secretKey));
        EnsureInitialized();
        return crypto_box_beforenm(sharedKey, publicKey, secretKey) == 0;
    }

    /// <summary>Box(<paramref name="message"/>) from <paramref name="secretKey"/> to <paramref name="publicKey"/>: MAC(16) then ciphertext.</summary>
    public static void Box(Span<byte> box, ReadOnlySpan<byte> message, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> secretKey)
    {
        RequireBoxShape(box, message.Length, nonce, publicKey);
        RequireLength(secretKey, KeyBytes, nameof(secretKey));
        Check(crypto_box_easy(box, message, (ulong)message.Length, nonce, publicKey, secretKey), "crypto_box_easy");
    }

    /// <summary>Opens a box; false when it does not authenticate (wrong key, tampered bytes, wrong nonce).</summary>
    public static bool TryOpen(Span<byte> message, ReadOnlySpan<byte> box, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> publicKey, ReadOnlySpan<byte> secretKey)
    {
        RequireLength(secretKey, KeyBytes, nameof(secretKey));
        return OpenShapeFits(message, box, nonce, publicKey)
            && crypto_box_open_easy(message, box, (ulong)box.Length, nonce, publicKey, secretKey) == 0;
    }

    /// <summary><see cref="Box"/> with a key made by <see cref="TryPrecompute"/>.</summary>
    public static void BoxPrecomputed(Span<byte> box, ReadOnlySpan<byte> message, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> sharedKey)
    {
        RequireBoxShape(box, message.Length, nonce, sharedKey);
        Check(crypto_box_easy_afternm(box, message, (ulong)message.Length, nonce, sharedKey), "crypto_box_easy_afternm");
    }

    /// <summary><see cref="TryOpen"/> with a key made by <see cref="TryPrecompute"/>.</summary>
    public static bool TryOpenPrecomputed(Span<byte> message, ReadOnlySpan<byte> box, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> sharedKey) =>
        OpenShapeFits(message, box, nonce, sharedKey)
        && crypto_box_open_easy_afternm(message, box, (ulong)box.Length, nonce, sharedKey) == 0;

    /// <summary>Secret-key box (XSalsa20-Poly1305) under <paramref name="key"/>: MAC(16) then ciphertext.</summary>
    public static void SecretBox(Span<byte> box, ReadOnlySpan<byte> message, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> key)
    {
        RequireBoxShape(box, message.Length, nonce, key);
        Check(crypto_secretbox_easy(box, message, (ulong)message.Length, nonce, key), "crypto_secretbox_easy");
    }

    public static bool TryOpenSecretBox(Span<byte> message, ReadOnlySpan<byte> box, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> key) =>
        OpenShapeFits(message, box, nonce, key)
        && crypto_secretbox_open_easy(message, box, (ulong)box.Length, nonce, key) == 0;

    /// <summary>Fills <paramref name="buffer"/> from libsodium's CSPRNG.</summary>
    public static void Random(Span<byte> buffer)
    {
        EnsureInitialized();
        randombytes_buf(buffer, (nuint)buffer.Length);
    }

    /// <summary>Constant-time equality: the time taken does not depend on where the spans differ.</summary>
    public static bool FixedTimeEquals(ReadOnlySpan<byte> left, ReadOnlySpan<byte> right) =>
        left.Length == right.Length && sodium_memcmp(left, right, (nuint)left.Length) == 0;

    /// <summary>Zeroes <paramref name="buffer"/> in a way the JIT and the C compiler may not elide.</summary>
    public static void Zero(Span<byte> buffer) => sodium_memzero(buffer, (nuint)buffer.Length);

    /// <summary>Throws unless <paramref name="box"/> has room for the MAC and the message and the nonce and key are full length.</summary>
    private static void RequireBoxShape(Span<byte> box, int messageLength, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> key)
    {
        RequireLength(box, messageLength + MacBytes, nameof(box));
        RequireLength(nonce, NonceBytes, nameof(nonce));
        RequireLength(key, KeyBytes, nameof(key));
        EnsureInitialized();
    }

    /// <summary>False when the box is too short or the message buffer does not match it (a peer's malformed input); throws for a wrong nonce or key length (our bug).</summary>
    private static bool OpenShapeFits(Span<byte> message, ReadOnlySpan<byte> box, ReadOnlySpan<byte> nonce, ReadOnlySpan<byte> key)
    {
        RequireLength(nonce, NonceBytes, nameof(nonce));
        RequireLength(key, KeyBytes, nameof(key));
        EnsureInitialized();
        return box.Length >= MacBytes && message.Length == box.Length - MacBytes;
    }

    private static void RequireLength(ReadOnlySpan<byte> span, int length, string name)
    {
        if (span.Length != length)
        {
            throw new ArgumentException($"Expected {length} octets, got {span.Length}.", name);
        }
    }

    private static void Check(int result, string function)
    {
        if (result != 0)
        {
            throw new InvalidOperationException($"libsodium {function} failed ({result}).");
        }
    }

    [LibraryImport(Library)]
    private static partial int sodium_init();

    [LibraryImport(Library)]
    private static partial int crypto_box_keypair(Span<byte> pk, Span<byte> sk);

    [LibraryImport(Library)]
    private static partial int crypto_scalarmult_base(Span<byte> q, ReadOnlySpan<byte> n);

    [LibraryImport(Library)]
    private static partial int crypto_box_beforenm(Span<byte> k, ReadOnlySpan<byte> pk, ReadOnlySpan<byte> sk);

    [LibraryImport(Library)]
    private static partial int crypto_box_easy(Span<byte> c, ReadOnlySpan<byte> m, ulong mlen, ReadOnlySpan<byte> n, ReadOnlySpan<byte> pk, ReadOnlySpan<byte> sk);

    [LibraryImport(Library)]
    private static partial int crypto_box_open_easy(Span<byte> m, ReadOnlySpan<byte> c, ulong clen, ReadOnlySpan<byte> n, ReadOnlySpan<byte> pk, ReadOnlySpan<byte> sk);

    [LibraryImport(Library)]
    private static partial int crypto_box_easy_afternm(Span<byte> c, ReadOnlySpan<byte> m, ulong mlen, ReadOnlySpan<byte> n, ReadOnlySpan<byte> k);

    [LibraryImport(Library)]
    private static partial int crypto_box_open_easy_afternm(Span<byte> m, ReadOnlySpan<byte> c, ulong clen, ReadOnlySpan<byte> n, ReadOnlySpan<byte> k);

    [LibraryImport(Library)]
    private static partial int crypto_secretbox_easy(Span<byte> c, ReadOnlySpan<byte> m, ulong mlen, ReadOnlySpan<byte> n, ReadOnlySpan<byte> k);

    [LibraryImport(Library)]
    private static partial int crypto_secretbox_open_easy(Span<byte> m, ReadOnlySpan<byte> c, ulong clen, ReadOnlySpan<byte> n, ReadOnlySpan<byte> k);

    [LibraryImport(Library)]
    private static partial void randombytes_buf(Span<byte> buf, nuint size);

    [LibraryImport(Library)]
    private static partial int sodium_memcmp(ReadOnlySpan<byte> b1, ReadOnlySpan<byte> b2, nuint len);

    [LibraryImport(Library)]
    private static partial void sodium_memzero(Span<byte> pnt, nuint len);
}
