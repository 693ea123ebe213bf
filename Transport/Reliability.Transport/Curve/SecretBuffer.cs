namespace Reliability.Transport.Curve;

/// <summary>
/// Key material that must not outlive its use: a pinned array (the GC never moves it, so it leaves no stray
/// copies behind) that <see cref="Dispose"/> wipes with <c>sodium_memzero</c>.
/// </summary>
internal sealed class SecretBuffer : IDisposable
{
    private readonly byte[] _bytes;

    public SecretBuffer(int length = Sodium.KeyBytes)
    {
        _bytes = GC.AllocateArray<byte>(length, pinned: true);
    }

    /// <summary>A buffer holding a copy of <paramref name="source"/>.</summary>
    public static SecretBuffer CopyOf(ReadOnlySpan<byte> source)
    {
        var buffer = new SecretBuffer(source.Length);
        source.CopyTo(buffer._bytes);
        return buffer;
    }

    public Span<byte> Span => _bytes;

    /// <summary>True once every octet is zero (after <see cref="Dispose"/>).</summary>
    public bool IsZeroed => !_bytes.AsSpan().ContainsAnyExcept((byte)0);

    public void Dispose() => Sodium.Zero(_bytes);
}
