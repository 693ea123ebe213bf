using System.Collections;
using System.Text;

namespace Reliability.Transport;

/// <summary>
/// A multipart message: an ordered list of frames, delivered atomically (all frames or none).
/// Sending a message hands it over to the socket: do not modify or resend it afterwards,
/// because socket types add and remove envelope frames in place.
/// </summary>
public sealed class Message : IReadOnlyList<ReadOnlyMemory<byte>>
{
    // An array and a count rather than a List: one object less per message on the receive path.
    private ReadOnlyMemory<byte>[] _frames;
    private int _count;

    /// <summary>Creates an empty message.</summary>
    public Message()
    {
        _frames = new ReadOnlyMemory<byte>[4];
    }

    /// <summary>Creates a message with room for <paramref name="capacity"/> frames.</summary>
    public Message(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(capacity);
        _frames = new ReadOnlyMemory<byte>[Math.Max(1, capacity)];
    }

    /// <summary>Creates a message from the given frames, in order.</summary>
    public Message(IEnumerable<ReadOnlyMemory<byte>> frames)
    {
        ArgumentNullException.ThrowIfNull(frames);
        _frames = [.. frames];
        _count = _frames.Length;
        if (_frames.Length == 0)
        {
            _frames = new ReadOnlyMemory<byte>[4];
        }
    }

    /// <summary>
    /// Internal: this single-frame message is a ZMTP command body (e.g. SUBSCRIBE) that the send
    /// loop writes with the COMMAND flag, in order with the data messages of the same pipe.
    /// </summary>
    internal bool IsCommand { get; init; }

    /// <summary>
    /// Whether this received message reports a peer's arrival or departure instead of carrying data
    /// (only with <see cref="SocketOptions.ReceivePeerEvents"/>); <see cref="PeerEventKind.None"/> for data.
    /// </summary>
    public PeerEventKind PeerEvent { get; private init; }

    /// <summary>
    /// Who the sender authenticated as, on a received message: the CURVE client's public key in Z85 or the
    /// PLAIN user name, as accepted by the server socket (docs/security.md); null for NULL peers, inproc
    /// peers, on the client side, and on messages the application built.
    /// </summary>
    public string? UserId { get; internal set; }

    /// <summary>A peer event as a ROUTER delivers it (one frame: the routing id) or a DEALER (no frames: empty id).</summary>
    internal static Message ForPeerEvent(PeerEventKind kind, ReadOnlyMemory<byte> routingId) =>
        routingId.IsEmpty ? new Message(0) { PeerEvent = kind } : new Message(routingId) { PeerEvent = kind };

    /// <summary>A message with exactly one frame (the common case on the hot path).</summary>
    internal Message(ReadOnlyMemory<byte> single)
    {
        _frames = [single];
        _count = 1;
    }

    /// <summary>Creates a message whose frames are the UTF-8 encodings of <paramref name="frames"/>.</summary>
    public static Message FromStrings(params IEnumerable<string> frames)
    {
        ArgumentNullException.ThrowIfNull(frames);
        var message = new Message();
        foreach (var frame in frames)
        {
            message.Append(frame);
        }

        return message;
    }

    /// <summary>Creates a message from byte-array frames (the arrays are not copied).</summary>
    public static Message FromFrames(params IEnumerable<byte[]> frames)
    {
        ArgumentNullException.ThrowIfNull(frames);
        var message = new Message();
        foreach (var frame in frames)
        {
            message.Append(frame);
        }

        return message;
    }

    /// <summary>Number of frames.</summary>
    public int Count => _count;

    /// <summary>The frame at <paramref name="index"/>.</summary>
    public ReadOnlyMemory<byte> this[int index]
    {
        get
        {
            if ((uint)index >= (uint)_count)
            {
                throw new ArgumentOutOfRangeException(nameof(index), index, $"The message has {_count} frame(s).");
            }

            return _frames[index];
        }
    }

    /// <summary>Whether the message has no frames.</summary>
    public bool IsEmpty => _count == 0;

    /// <summary>Sum of the lengths of all frames, in bytes.</summary>
    public long TotalLength
    {
        get
        {
            long total = 0;
            for (int i = 0; i < _count; i++)
            {
                total += _frames[i].Length;
            }

            return total;
        }
    }

    /// <summary>Adds a frame at the end. Returns this message, for chaining.</summary>
    public Message Append(ReadOnlyMemory<byte> frame)
    {
        Insert(_count, frame);
        return this;
    }

    /// <summary>Adds the UTF-8 encoding of <paramref name="text"/> as a frame at the end.</summary>
    public Message Append(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        Insert(_count, Encoding.UTF8.GetBytes(text));
        return this;
    }

    /// <summary>Adds a zero-length frame at the end (the envelope delimiter).</summary>
    public Message AppendEmpty()
    {
        Insert(_count, ReadOnlyMemory<byte>.Empty);
        return this;
    }

    /// <summary>Inserts a frame at the front. Returns this message, for chaining.</summary>
    public Message Prepend(ReadOnlyMemory<byte> frame)
    {
        Insert(0, frame);
        return this;
    }

    /// <summary>Inserts the UTF-8 encoding of <paramref name="text"/> as a frame at the front.</summary>
    public Message Prepend(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        Insert(0, Encoding.UTF8.GetBytes(text));
        return this;
    }

    /// <summary>Removes and returns the first frame.</summary>
    /// <exception cref="InvalidOperationException">The message has no frames.</exception>
    public ReadOnlyMemory<byte> Pop()
    {
        if (_count == 0)
        {
            throw new InvalidOperationException("Cannot pop a frame from an empty message.");
        }

        var first = _frames[0];
        RemoveFront(1);
        return first;
    }

    /// <summary>Removes the first <paramref name="count"/> frames.</summary>
    public void RemoveFront(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _count);
        Array.Copy(_frames, count, _frames, 0, _count - count);
        Array.Clear(_frames, _count - count, count);
        _count -= count;
    }

    /// <summary>Index of the first zero-length frame, or -1 when there is none.</summary>
    public int IndexOfEmptyFrame()
    {
        for (int i = 0; i < _count; i++)
        {
            if (_frames[i].IsEmpty)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>The frame at <paramref name="index"/> decoded as UTF-8.</summary>
    public string GetString(int index) => Encoding.UTF8.GetString(this[index].Span);

    /// <summary>Whether the frame at <paramref name="index"/> holds exactly <paramref name="expected"/>.</summary>
    public bool FrameEquals(int index, ReadOnlySpan<byte> expected) =>
        index >= 0 && index < _count && _frames[index].Span.SequenceEqual(expected);

    /// <summary>A copy of this message; frames are shared (they are read-only), the list is not.</summary>
    public Message Clone() => new(this);

    /// <inheritdoc />
    public IEnumerator<ReadOnlyMemory<byte>> GetEnumerator()
    {
        for (int i = 0; i < _count; i++)
        {
            yield return _frames[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private void Insert(int index, ReadOnlyMemory<byte> frame)
    {
        if (_count == _frames.Length)
        {
            Array.Resize(ref _frames, _frames.Length * 2);
        }

        Array.Copy(_frames, index, _frames, index + 1, _count - index);
        _frames[index] = frame;
        _count++;
    }

    /// <summary>Frames rendered for logs: printable ASCII as text, anything else as hex.</summary>
    public override string ToString()
    {
        var text = new StringBuilder();
        text.Append('[');
        for (int i = 0; i < _count; i++)
        {
            if (i > 0)
            {
                text.Append(", ");
            }

            var span = _frames[i].Span;
            bool printable = true;
            foreach (byte b in span)
            {
                printable &= b is >= 0x20 and < 0x7F;
            }

            text.Append(printable ? $"\"{Encoding.ASCII.GetString(span)}\"" : $"0x{Convert.ToHexString(span.Length > 32 ? span[..32] : span)}{(span.Length > 32 ? "…" : string.Empty)}");
        }

        return text.Append(']').ToString();
    }
}
