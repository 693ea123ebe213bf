namespace Reliability.Patterns.Heartbeating;

/// <summary>
/// A ROUTER routing id (or any binary peer id) usable as a dictionary key: an owned copy of the
/// bytes with content equality and a readable <see cref="ToString"/> (the one way routing ids appear in logs).
/// </summary>
/// <remarks>
/// Routing ids are binary and generated ones start with a zero byte, so converting them to text
/// to use as keys loses or merges peers (seen in NetMQ/Samples' broker). The bytes are copied
/// because received frames may live in pooled buffers that are reused after the message is handled.
/// <c>default(RoutingKey)</c> equals the empty key.
/// </remarks>
internal readonly struct RoutingKey : IEquatable<RoutingKey>
{
    private readonly byte[]? _bytes;
    private readonly int _hash;

    /// <summary>Creates a key holding a copy of <paramref name="bytes"/>.</summary>
    /// <param name="bytes">The routing id, e.g. the first frame of a message received on a ROUTER.</param>
    public RoutingKey(ReadOnlySpan<byte> bytes)
    {
        _bytes = bytes.ToArray();
        _hash = ComputeHash(bytes);
    }

    /// <summary>Creates a key holding a copy of <paramref name="bytes"/>.</summary>
    /// <param name="bytes">The routing id, e.g. the first frame of a message received on a ROUTER.</param>
    public RoutingKey(ReadOnlyMemory<byte> bytes)
        : this(bytes.Span)
    {
    }

    /// <summary>The id's bytes (read-only; prepend this as the routing frame when sending to the peer).</summary>
    public ReadOnlyMemory<byte> Memory => _bytes;

    /// <summary>The id's bytes as a span.</summary>
    public ReadOnlySpan<byte> Span => _bytes;

    /// <summary>Number of bytes in the id.</summary>
    public int Length => _bytes?.Length ?? 0;

    /// <summary>Whether the id has no bytes.</summary>
    public bool IsEmpty => Length == 0;

    /// <summary>Whether both keys hold the same bytes.</summary>
    public static bool operator ==(RoutingKey left, RoutingKey right) => left.Equals(right);

    /// <summary>Whether the keys hold different bytes.</summary>
    public static bool operator !=(RoutingKey left, RoutingKey right) => !left.Equals(right);

    /// <summary>Whether <paramref name="other"/> holds the same bytes.</summary>
    public bool Equals(RoutingKey other) => _hash == other._hash && Span.SequenceEqual(other.Span);

    /// <summary>Whether this key holds exactly <paramref name="bytes"/>.</summary>
    public bool Equals(ReadOnlySpan<byte> bytes) => Span.SequenceEqual(bytes);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is RoutingKey other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => _hash;

    /// <summary>The bytes as upper-case hex (e.g. <c>0080000001</c>), empty for an empty key.</summary>
    public override string ToString() => Describe(Span);

    /// <summary>A routing id for logs: the text when every byte is printable ASCII (e.g. <c>1A2B-3C4D</c>), else hex.</summary>
    public static string Describe(ReadOnlySpan<byte> id)
    {
        foreach (byte b in id)
        {
            if (b is < 0x20 or >= 0x7F)
            {
                return Convert.ToHexString(id);
            }
        }

        return System.Text.Encoding.ASCII.GetString(id);
    }

    /// <summary>Content hash shared with <see cref="RoutingKeyComparer"/>'s span lookup.</summary>
    internal static int ComputeHash(ReadOnlySpan<byte> bytes)
    {
        // Zero for empty, so that default(RoutingKey) equals a key built from no bytes.
        if (bytes.IsEmpty)
        {
            return 0;
        }

        var hash = default(HashCode);
        hash.AddBytes(bytes);
        return hash.ToHashCode();
    }
}

/// <summary>
/// Equality comparer for <see cref="RoutingKey"/> that also lets a
/// <see cref="Dictionary{TKey, TValue}"/> be searched with a <see cref="ReadOnlySpan{T}"/> of the
/// received routing frame, without allocating a key per message
/// (<c>dictionary.GetAlternateLookup&lt;ReadOnlySpan&lt;byte&gt;&gt;()</c>).
/// </summary>
internal sealed class RoutingKeyComparer : IEqualityComparer<RoutingKey>, IAlternateEqualityComparer<ReadOnlySpan<byte>, RoutingKey>
{
    private RoutingKeyComparer()
    {
    }

    /// <summary>The single instance.</summary>
    public static RoutingKeyComparer Instance { get; } = new();

    /// <inheritdoc />
    public bool Equals(RoutingKey x, RoutingKey y) => x.Equals(y);

    /// <inheritdoc />
    public int GetHashCode(RoutingKey obj) => obj.GetHashCode();

    /// <inheritdoc />
    public bool Equals(ReadOnlySpan<byte> alternate, RoutingKey other) => other.Equals(alternate);

    /// <inheritdoc />
    public int GetHashCode(ReadOnlySpan<byte> alternate) => RoutingKey.ComputeHash(alternate);

    /// <inheritdoc />
    public RoutingKey Create(ReadOnlySpan<byte> alternate) => new(alternate);
}
