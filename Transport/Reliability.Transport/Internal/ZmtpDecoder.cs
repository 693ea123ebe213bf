using System.Runtime.CompilerServices;
using Reliability.Transport.Curve;
using Reliability.Transport.Zmtp;

namespace Reliability.Transport.Internal;

/// <summary>
/// The receive side of a ZMTP stream without the I/O: owns the receive buffer the connection reads
/// into, turns the frames in it into messages (handed to the socket in batches) and commands
/// (PING to the connection, SUBSCRIBE/CANCEL to the socket). The handshake reads through the same
/// buffer, so bytes the peer sent right after it are decoded as traffic.
/// </summary>
internal sealed class ZmtpDecoder
{
    /// <summary>Handshake commands larger than this are refused (READY metadata is small in practice).</summary>
    public const int MaxCommandSize = 1024 * 1024;

    private const int ReceiveBufferSize = 64 * 1024;

    /// <summary>The first traffic buffer: a quiet connection keeps this; one whose reads fill it doubles it up to <see cref="ReceiveBufferSize"/>.</summary>
    private const int FirstReceiveBufferSize = 8 * 1024;

    /// <summary>
    /// The buffer a connection starts with: enough for a greeting and a typical READY. The handshake grows it
    /// as bytes actually arrive, so a peer that only announces a large command costs nothing (issue 15).
    /// </summary>
    private const int HandshakeBufferSize = 512;

    /// <summary>A frame larger than the receive buffer starts in an array this large (or its size), doubled as its bytes arrive.</summary>
    private const int LargeFrameStartSize = 256 * 1024;

    /// <summary>Below this much free space after the data, the receive buffer is compacted or replaced before reading.</summary>
    private const int MinReadSpace = 4096;

    private readonly IInboundSink _sink;
    private readonly Action<ReadOnlySpan<byte>> _onPing;
    private readonly long _maxMessageSize;
    private readonly bool _intercepts;
    private readonly List<Delivery> _batch = new(64);
    private byte[] _buffer = new byte[HandshakeBufferSize];
    private int _start;
    private int _end;
    private int _readSize = FirstReceiveBufferSize;
    private int _offered;
    private bool _handedOut;
    private Message? _partial;
    private long _partialBytes;
    private byte[]? _largeFrame;
    private int _largeHave;
    private int _largeSize;
    private FrameFlags _largeFlags;

    /// <param name="sink">Where complete messages and subscription commands go.</param>
    /// <param name="maxMessageSize">Largest message accepted in octets; negative for no limit.</param>
    /// <param name="onPing">Called with the data of each PING the peer sends.</param>
    public ZmtpDecoder(IInboundSink sink, long maxMessageSize, Action<ReadOnlySpan<byte>> onPing)
    {
        _sink = sink;
        _onPing = onPing;
        _maxMessageSize = maxMessageSize;
        _intercepts = sink.InterceptsInbound;
    }

    /// <summary>Set after a CURVE handshake: every frame is then a MESSAGE to open before it is handled (docs/wire/curve.md §4).</summary>
    public CurveMechanism? Curve { get; set; }

    /// <summary>Whether frames use ZMTP/1.0 framing (RFC 13) instead of the 2.0/3.x one; set after the handshake.</summary>
    public bool Zmtp1Framing { get; set; }

    /// <summary>The received bytes not consumed yet.</summary>
    public ReadOnlySpan<byte> Buffered => _buffer.AsSpan(_start, _end - _start);

    /// <summary>Marks the first <paramref name="count"/> buffered bytes as consumed (handshake).</summary>
    public void Consume(int count) => _start += count;

    /// <summary>Records that <paramref name="count"/> bytes were read into the space last handed out.</summary>
    public void Commit(int count)
    {
        _end += count;

        // A read that filled all the space offered: the traffic is heavy, so the next buffer is larger.
        if (count == _offered && _readSize < ReceiveBufferSize)
        {
            _readSize *= 2;
        }

        _offered = 0;
    }

    /// <summary>
    /// The free space to read into so that <paramref name="count"/> bytes can be held contiguously
    /// from the first unconsumed one, compacting or growing the buffer when needed. Handshake only:
    /// no slice of the buffer is handed out yet, so compacting in place is safe. The buffer grows by
    /// doubling, never straight to <paramref name="count"/>: what a peer announces is reserved only
    /// as fast as it sends it. The caller reads again until it has <paramref name="count"/> bytes.
    /// </summary>
    public Memory<byte> SpaceFor(int count)
    {
        if (_buffer.Length - _start < count)
        {
            if (_buffer.Length < count)
            {
                var bigger = new byte[Math.Min(count, Math.Max(_buffer.Length * 2, HandshakeBufferSize))];
                Buffer.BlockCopy(_buffer, _start, bigger, 0, _end - _start);
                _buffer = bigger;
            }
            else
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            }

            _end -= _start;
            _start = 0;
        }

        return _buffer.AsMemory(_end);
    }

    /// <summary>
    /// The free space after the data to read traffic into. While slices of the buffer may be held by
    /// messages it is never compacted in place: a fresh buffer takes the unparsed tail instead.
    /// </summary>
    public Memory<byte> SpaceToRead()
    {
        if (_start == _end && !_handedOut)
        {
            _start = _end = 0;
        }

        if (_buffer.Length - _end < MinReadSpace)
        {
            int pending = _end - _start;

            // A buffer smaller than the read size (the handshake one, or one outgrown by heavy traffic) is replaced.
            if (_handedOut || _buffer.Length < _readSize)
            {
                var fresh = new byte[Math.Max(_readSize, pending + MinReadSpace)];
                Buffer.BlockCopy(_buffer, _start, fresh, 0, pending);
                _buffer = fresh;
                _handedOut = false;
            }
            else
            {
                Buffer.BlockCopy(_buffer, _start, _buffer, 0, pending);
            }

            _start = 0;
            _end = pending;
        }

        _offered = _buffer.Length - _end;
        return _buffer.AsMemory(_end);
    }

    /// <summary>
    /// Decodes every complete frame in the buffer and delivers the complete messages. Returns empty
    /// when more bytes are needed, or, for a frame larger than the buffer, space for the rest of its body:
    /// the caller reads into it and reports each read to <see cref="LargeFrameRead"/>, which hands out
    /// more space until the body is complete, and then calls <see cref="CompleteLargeFrame"/>.
    /// </summary>
    /// <exception cref="ProtocolException">The peer broke the framing rules or the size limit.</exception>
    public Memory<byte> DecodeBuffered(Pipe pipe)
    {
        while (true)
        {
            int available = _end - _start;
            var pending = _buffer.AsSpan(_start, available);
            FrameFlags flags;
            long size;
            int headerLength;
            if (Zmtp1Framing ? !FrameHeader.TryReadV1(pending, out flags, out size, out headerLength) : !FrameHeader.TryRead(pending, out flags, out size, out headerLength))
            {
                break;
            }

            if (size < 0 || size > Array.MaxLength)
            {
                throw new ProtocolException(ProtocolError.MalformedFrame, $"frame size {size} cannot be held");
            }

            if ((flags & FrameFlags.Command) != 0)
            {
                if ((flags & FrameFlags.More) != 0)
                {
                    throw new ProtocolException(ProtocolError.MalformedFrame, "command frame with MORE set");
                }

                if (size > MaxCommandSize)
                {
                    throw new ProtocolException(ProtocolError.MalformedFrame, $"command of {size} octets");
                }
            }
            else if (_maxMessageSize >= 0 && _partialBytes + size > _maxMessageSize)
            {
                throw new ProtocolException(ProtocolError.MessageTooLarge, $"message of more than {_maxMessageSize} octets");
            }

            if (available - headerLength >= size)
            {
                // Frames are slices of the receive buffer: no copy, no allocation per frame.
                // The buffer region behind _end is never overwritten while slices may live.
                var body = size == 0 ? ReadOnlyMemory<byte>.Empty : _buffer.AsMemory(_start + headerLength, (int)size);
                _handedOut |= size > 0;
                _start += headerLength + (int)size;
                Accept(pipe, flags, body);
            }
            else if (headerLength + size > _buffer.Length)
            {
                // A frame larger than the buffer: its body is read straight into its own array, which
                // grows as the body arrives, so a header announcing a huge frame reserves nothing.
                Flush(pipe);
                int have = available - headerLength;
                var large = new byte[Math.Min(size, Math.Max(LargeFrameStartSize, 2L * have))];
                _buffer.AsSpan(_start + headerLength, have).CopyTo(large);
                ResetBuffer();
                _largeFrame = large;
                _largeHave = have;
                _largeSize = (int)size;
                _largeFlags = flags;
                return large.AsMemory(have);
            }
            else
            {
                break;
            }
        }

        Flush(pipe);
        return Memory<byte>.Empty;
    }

    /// <summary>
    /// Records <paramref name="count"/> body bytes read into the space last handed out for a large frame;
    /// returns where the next ones go (the array doubled when full), or empty when the body is complete.
    /// </summary>
    public Memory<byte> LargeFrameRead(int count)
    {
        _largeHave += count;
        if (_largeHave == _largeSize)
        {
            return Memory<byte>.Empty;
        }

        if (_largeHave == _largeFrame!.Length)
        {
            var bigger = new byte[Math.Min(_largeSize, 2L * _largeFrame.Length)];
            _largeFrame.CopyTo(bigger, 0);
            _largeFrame = bigger;
        }

        return _largeFrame.AsMemory(_largeHave);
    }

    /// <summary>Decodes the large frame whose body the caller has now read in full (see <see cref="DecodeBuffered"/>).</summary>
    public void CompleteLargeFrame(Pipe pipe)
    {
        var body = _largeFrame!;
        _largeFrame = null;
        TransportMetrics.BytesReceived.Add(body.Length);
        Accept(pipe, _largeFlags, body);
    }

    /// <summary>One frame: a command is handled at once, a message part joins the message it belongs to.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void Accept(Pipe pipe, FrameFlags flags, ReadOnlyMemory<byte> body)
    {
        if (Curve is { } curve)
        {
            // libzmq sends MESSAGE as a plain data frame; its own flags (MORE, COMMAND) are inside the box.
            var frame = curve.Decode(body.Span);
            flags = (frame.More ? FrameFlags.More : FrameFlags.None) | (frame.Command ? FrameFlags.Command : FrameFlags.None);
            body = frame.Payload;
        }

        if ((flags & FrameFlags.Command) != 0)
        {
            HandleCommand(pipe, body.Span);
            return;
        }

        bool more = (flags & FrameFlags.More) != 0;
        Message? complete = null;
        if (_partial is null && !more)
        {
            complete = new Message(body);
        }
        else
        {
            _partial ??= new Message(4);
            _partial.Append(body);
            _partialBytes += body.Length;
            if (!more)
            {
                complete = _partial;
                _partial = null;
                _partialBytes = 0;
            }
        }

        // Publishers consume inbound messages themselves (3.0-style subscriptions).
        if (complete is not null && !(_intercepts && _sink.InterceptInbound(pipe, complete)))
        {
            _batch.Add(new Delivery(pipe, complete));
        }
    }

    /// <summary>Empties the buffer; a fresh one is used if slices of the old one may still be held.</summary>
    private void ResetBuffer()
    {
        if (_handedOut)
        {
            _buffer = new byte[_readSize];
            _handedOut = false;
        }

        _start = _end = 0;
    }

    private void Flush(Pipe pipe)
    {
        if (_batch.Count == 0)
        {
            return;
        }

        _sink.DeliverInbound(pipe, _batch);
        TransportMetrics.MessagesReceived.Add(_batch.Count);
        _batch.Clear();
    }

    /// <summary>
    /// Commands after the handshake: PING goes to the connection, SUBSCRIBE/CANCEL to the socket,
    /// everything else is ignored (libzmq ignores unknown commands).
    /// </summary>
    private void HandleCommand(Pipe pipe, ReadOnlySpan<byte> body)
    {
        if (!Commands.TrySplit(body, out var name, out var data))
        {
            return;
        }

        if (name.SequenceEqual(Commands.PingName))
        {
            _onPing(data);
        }
        else
        {
            _sink.TryHandleSubscriptionCommand(pipe, name, data);
        }
    }
}
