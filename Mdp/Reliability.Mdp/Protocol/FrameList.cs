using System.Collections;

namespace Reliability.Mdp.Protocol;

/// <summary>
/// An immutable list of body frames. Commands keep their body in one of these so that a
/// parsed body is not copied a second time and callers cannot mutate a command after the fact.
/// </summary>
internal sealed class FrameList : IReadOnlyList<ReadOnlyMemory<byte>>
{
    public static readonly FrameList Empty = new([]);

    private readonly ReadOnlyMemory<byte>[] _frames;

    private FrameList(ReadOnlyMemory<byte>[] frames) => _frames = frames;

    public int Count => _frames.Length;

    public ReadOnlyMemory<byte> this[int index] => _frames[index];

    public long TotalLength
    {
        get
        {
            long total = 0;
            foreach (var frame in _frames)
            {
                total += frame.Length;
            }

            return total;
        }
    }

    /// <summary>Takes the frames by reference (bytes are shared, the list is copied unless it already is a <see cref="FrameList"/>).</summary>
    public static FrameList From(IEnumerable<ReadOnlyMemory<byte>> frames)
    {
        ArgumentNullException.ThrowIfNull(frames);
        if (frames is FrameList list)
        {
            return list;
        }

        var array = frames.ToArray();
        return array.Length == 0 ? Empty : new FrameList(array);
    }

    /// <summary>The frames of <paramref name="source"/> from <paramref name="start"/> to the end.</summary>
    public static FrameList Slice(IReadOnlyList<ReadOnlyMemory<byte>> source, int start)
    {
        int count = source.Count - start;
        if (count <= 0)
        {
            return Empty;
        }

        var array = new ReadOnlyMemory<byte>[count];
        for (int i = 0; i < count; i++)
        {
            array[i] = source[start + i];
        }

        return new FrameList(array);
    }

    /// <summary>Frame-by-frame byte equality, so that commands compare by content.</summary>
    public bool ContentEquals(FrameList other)
    {
        if (ReferenceEquals(this, other))
        {
            return true;
        }

        if (_frames.Length != other._frames.Length)
        {
            return false;
        }

        for (int i = 0; i < _frames.Length; i++)
        {
            if (!_frames[i].Span.SequenceEqual(other._frames[i].Span))
            {
                return false;
            }
        }

        return true;
    }

    public int ContentHashCode()
    {
        var hash = new HashCode();
        hash.Add(_frames.Length);
        foreach (var frame in _frames)
        {
            hash.AddBytes(frame.Span);
        }

        return hash.ToHashCode();
    }

    public IEnumerator<ReadOnlyMemory<byte>> GetEnumerator() => ((IEnumerable<ReadOnlyMemory<byte>>)_frames).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    public override string ToString() => $"{_frames.Length} frame(s), {TotalLength} bytes";
}
