using System.Buffers;
using System.Net.Sockets;
using Reliability.Transport.Zmtp;

namespace Reliability.Transport.Internal;

/// <summary>How a connection ended.</summary>
internal readonly record struct ConnectionEnd(string Reason, ProtocolError? Error, Exception? Exception);

/// <summary>Result of the greeting and READY exchange.</summary>
internal sealed record HandshakeResult(bool Succeeded, ProtocolError? Error, string Reason, string PeerSocketType, byte[] PeerIdentity, byte PeerMinor);

/// <summary>
/// One ZMTP connection over TCP: the handshake, then a receive loop (socket to decoder to the
/// socket's inbound queue) and a send loop (pipe queue to encoder to socket). The send loop drains
/// everything queued before it writes, so many small messages share one syscall.
/// </summary>
internal sealed class ZmtpConnection : IPeerConnection
{
    private const int ReceiveBufferSize = 64 * 1024;
    private const int SendBufferSize = 64 * 1024;

    /// <summary>Flushes closer together than this count as a stream, and are batched on the thread pool.</summary>
    private static readonly TimeSpan InlineWriteGap = TimeSpan.FromMicroseconds(15);

    /// <summary>Below this much free space after the data, the receive buffer is compacted or replaced before reading.</summary>
    private const int MinReadSpace = 4096;
    private const int MaxSendBatch = 4096;

    /// <summary>Frames at least this large are written straight from the caller's memory instead of being copied.</summary>
    private const int DirectWriteThreshold = 32 * 1024;

    /// <summary>Handshake commands larger than this are refused (READY metadata is small in practice).</summary>
    private const int MaxHandshakeCommand = 1024 * 1024;

    private readonly Socket _socket;
    private readonly ZmqSocket _owner;
    private readonly object _controlGate = new();
    private readonly Queue<byte[]> _control = new();
    private Pipe? _pipe;
    private byte[] _buffer;
    private int _start;
    private int _end;
    private bool _handedOut;
    private int _disposed;
    private long _lastReceived;
    private long _pingSentAt;
    private long _lastPingAt;
    private long _peerTtlTicks;
    private volatile string? _abortReason;
    private ITimer? _heartbeatTimer;
    private long _lastFlush;

    public ZmtpConnection(ZmqSocket owner, Socket socket, string remoteEndpoint)
    {
        _owner = owner;
        _socket = socket;
        RemoteEndpoint = remoteEndpoint;
        _buffer = new byte[ReceiveBufferSize];
        if (socket.AddressFamily != AddressFamily.Unix)
        {
            socket.NoDelay = true;
            ApplyKeepAlive(socket, owner.Options);
        }
    }

    private static void ApplyKeepAlive(Socket socket, SocketOptions options)
    {
        if (options.TcpKeepAlive is not { } enabled)
        {
            return;
        }

        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, enabled);
        if (!enabled)
        {
            return;
        }

        if (options.TcpKeepAliveIdle is { } idle)
        {
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, (int)idle.TotalSeconds);
        }

        if (options.TcpKeepAliveInterval is { } interval)
        {
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, (int)interval.TotalSeconds);
        }

        if (options.TcpKeepAliveCount is { } count)
        {
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, count);
        }
    }

    public string RemoteEndpoint { get; }

    /// <summary>Sends our greeting and READY at once, then reads and validates the peer's (PROTOCOLS.md §1.3, §1.5).</summary>
    public async Task<HandshakeResult> HandshakeAsync(CancellationToken cancellationToken)
    {
        var options = _owner.Options;
        using var timeout = options.HandshakeTimeout > TimeSpan.Zero
            ? new CancellationTokenSource(options.HandshakeTimeout, _owner.TimeProvider)
            : new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            var plain = options.Plain;
            bool plainServer = plain?.Authenticator is not null;
            byte[] metadata = Commands.BuildMetadata(
                SocketTypes.WireName(_owner.Type), options.RoutingId.Span, SocketTypes.SendsIdentity(_owner.Type));
            byte[] metadataFrame = Commands.BuildCommandFrame(Commands.ReadyName, metadata);

            // NULL: greeting and READY at once. PLAIN client: greeting and HELLO. PLAIN server: greeting only.
            byte[] first = plain is null ? metadataFrame
                : plainServer ? []
                : Commands.BuildCommandFrame(Commands.HelloName, Commands.BuildHelloData(plain.UserName, plain.Password));
            var opening = new byte[Greeting.Length + first.Length];
            Greeting.Write(opening, plain is null ? Greeting.NullMechanism : Greeting.PlainMechanism, plainServer);
            first.CopyTo(opening, Greeting.Length);
            await SendAllAsync(opening, linked.Token).ConfigureAwait(false);

            await EnsureAsync(Greeting.Length, linked.Token).ConfigureAwait(false);
            var greeting = Greeting.Parse(_buffer.AsSpan(_start, Greeting.Length), plain is null ? Greeting.NullMechanism : Greeting.PlainMechanism);
            if (greeting.Error is { } greetingError)
            {
                return Fail(greetingError, greeting.Reason!);
            }

            _start += Greeting.Length;

            var (flags, body) = await ReadHandshakeFrameAsync(linked.Token).ConfigureAwait(false);
            if (plain is null)
            {
                return CheckPeerMetadata(flags, body.Span, Commands.ReadyName, greeting.PeerMinor);
            }

            if (!plainServer)
            {
                // RFC 24: HELLO -> WELCOME, INITIATE (our metadata) -> READY (theirs) or ERROR.
                var welcome = CheckCommand(flags, body.Span, Commands.WelcomeName);
                if (welcome is not null)
                {
                    return welcome;
                }

                var initiate = Commands.BuildCommandFrame(Commands.InitiateName, metadata);
                await SendAllAsync(initiate, linked.Token).ConfigureAwait(false);
                (flags, body) = await ReadHandshakeFrameAsync(linked.Token).ConfigureAwait(false);
                return CheckPeerMetadata(flags, body.Span, Commands.ReadyName, greeting.PeerMinor);
            }

            var hello = CheckHello(flags, body.Span, plain, out var denied);
            if (hello is not null)
            {
                if (denied)
                {
                    // RFC 24: a refused client gets ERROR and is not served; "400" as libzmq's ZAP status.
                    await SendAllAsync(Commands.BuildCommandFrame(Commands.ErrorName, [3, (byte)'4', (byte)'0', (byte)'0']), linked.Token).ConfigureAwait(false);
                }

                return hello;
            }

            await SendAllAsync(Commands.BuildCommandFrame(Commands.WelcomeName, []), linked.Token).ConfigureAwait(false);
            (flags, body) = await ReadHandshakeFrameAsync(linked.Token).ConfigureAwait(false);
            var result = CheckPeerMetadata(flags, body.Span, Commands.InitiateName, greeting.PeerMinor);
            if (result.Succeeded)
            {
                await SendAllAsync(metadataFrame, linked.Token).ConfigureAwait(false);
            }

            return result;
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return Fail(ProtocolError.HandshakeTimeout, $"handshake not completed within {options.HandshakeTimeout.TotalMilliseconds} ms");
        }
    }

    /// <summary>Null when the frame is the expected handshake command; otherwise the failure (ERROR is reported as PeerError).</summary>
    private static HandshakeResult? CheckCommand(FrameFlags flags, ReadOnlySpan<byte> body, ReadOnlySpan<byte> expected)
    {
        if ((flags & FrameFlags.Command) == 0 || !Commands.TrySplit(body, out var name, out var data))
        {
            return Fail(ProtocolError.MalformedCommand, "a handshake frame is not a command");
        }

        if (name.SequenceEqual(Commands.ErrorName))
        {
            return Fail(ProtocolError.PeerError, "peer sent ERROR: " + Commands.ParseErrorReason(data));
        }

        if (!name.SequenceEqual(expected))
        {
            return Fail(ProtocolError.MalformedCommand, $"expected {System.Text.Encoding.ASCII.GetString(expected)}, got '{System.Text.Encoding.ASCII.GetString(name)}'");
        }

        return null;
    }

    /// <summary>PLAIN server: parses HELLO and asks the authenticator. Null = accepted.</summary>
    private HandshakeResult? CheckHello(FrameFlags flags, ReadOnlySpan<byte> body, PlainOptions plain, out bool denied)
    {
        denied = false;
        var error = CheckCommand(flags, body, Commands.HelloName);
        if (error is not null)
        {
            return error;
        }

        Commands.TrySplit(body, out _, out var data);
        if (!Commands.TryParseHello(data, out string userName, out string password))
        {
            return Fail(ProtocolError.MalformedCommand, "malformed HELLO");
        }

        bool allowed;
        try
        {
            allowed = plain.Authenticator!(new PlainCredentials(userName, password, RemoteEndpoint));
        }
        catch (Exception ex)
        {
            // A throwing hook must not take the socket down; the peer is refused.
            allowed = false;
            Log.AuthenticatorFailed(_owner.Logger, _owner.Type, RemoteEndpoint, ex);
        }

        if (!allowed)
        {
            denied = true;
            return Fail(ProtocolError.AuthenticationFailed, $"PLAIN credentials of user '{userName}' refused");
        }

        return null;
    }

    private HandshakeResult CheckPeerMetadata(FrameFlags flags, ReadOnlySpan<byte> body, ReadOnlySpan<byte> expected, byte peerMinor)
    {
        var error = CheckCommand(flags, body, expected);
        if (error is not null)
        {
            return error;
        }

        Commands.TrySplit(body, out _, out var data);
        var properties = Commands.ParseReady(data, out string? readyError);
        if (properties is null)
        {
            return Fail(ProtocolError.MalformedCommand, "malformed READY: " + readyError);
        }

        // libzmq does not require Socket-Type; when it is present it must be a legal partner.
        if (properties.SocketType is { } peerType && !SocketTypes.IsCompatible(_owner.Type, peerType))
        {
            return Fail(ProtocolError.IncompatibleSocketType, $"a {SocketTypes.WireName(_owner.Type)} socket cannot talk to a {peerType} socket");
        }

        return new HandshakeResult(true, null, "ok", properties.SocketType ?? "?", properties.Identity, peerMinor);
    }

    private static HandshakeResult Fail(ProtocolError error, string reason) =>
        new(false, error, reason, string.Empty, [], 0);

    private async ValueTask<(FrameFlags Flags, ReadOnlyMemory<byte> Body)> ReadHandshakeFrameAsync(CancellationToken cancellationToken)
    {
        await EnsureAsync(2, cancellationToken).ConfigureAwait(false);
        if (!FrameHeader.TryRead(_buffer.AsSpan(_start, _end - _start), out var flags, out long size, out int headerLength))
        {
            await EnsureAsync(9, cancellationToken).ConfigureAwait(false);
            FrameHeader.TryRead(_buffer.AsSpan(_start, _end - _start), out flags, out size, out headerLength);
        }

        if (size is < 0 or > MaxHandshakeCommand)
        {
            throw new ProtocolException(ProtocolError.MalformedCommand, $"handshake frame of {size} octets");
        }

        await EnsureAsync(headerLength + (int)size, cancellationToken).ConfigureAwait(false);
        var body = _buffer.AsMemory(_start + headerLength, (int)size).ToArray();
        _start += headerLength + (int)size;
        return (flags, body);
    }

    /// <summary>Runs both loops until either ends; returns why the connection ended.</summary>
    public async Task<ConnectionEnd> RunAsync(Pipe pipe, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _pipe = pipe;
        _lastReceived = _owner.TimeProvider.GetTimestamp();
        StartHeartbeat();
        var receive = ReceiveLoopAsync(pipe, stop.Token);
        var send = SendLoopAsync(pipe, stop.Token);
        Task<ConnectionEnd> first;
        using (stop.Token.Register(static p => ((Pipe)p!).Outbound.Poke(), pipe))
        {
            first = await Task.WhenAny(receive, send).ConfigureAwait(false);
            stop.Cancel();
        }

        if (first == send)
        {
            // Graceful end (pipe closed for linger) or a write failure: stop sending, let the peer see EOF.
            TryShutdownSend();
        }

        Dispose();
        var outcome = await first.ConfigureAwait(false);
        try
        {
            await (first == receive ? send : receive).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // The other loop ends with a cancellation or socket error caused by our own close.
        }

        return outcome;
    }

    private async Task<ConnectionEnd> ReceiveLoopAsync(Pipe pipe, CancellationToken cancellationToken)
    {
        try
        {
            await DecodeLoopAsync(pipe, cancellationToken).ConfigureAwait(false);
            return new ConnectionEnd("peer closed the connection", null, null);
        }
        catch (ProtocolException ex)
        {
            return new ConnectionEnd(ex.Message, ex.Error, ex);
        }
        catch (OperationCanceledException ex)
        {
            return new ConnectionEnd("closed", null, ex);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or EndOfStreamException or IOException)
        {
            return new ConnectionEnd(_abortReason ?? ex.Message, null, ex);
        }
    }

    /// <summary>
    /// ZMTP 3.1 heartbeats (PROTOCOLS.md §1.7, libzmq's HEARTBEAT_IVL/TIMEOUT/TTL): send PING every
    /// interval; close when a PING got no traffic back within the timeout, or when the peer's PING
    /// announced a TTL and nothing arrived within it. Closing this way is an I/O failure: the
    /// connecting side reconnects as usual.
    /// </summary>
    private void StartHeartbeat()
    {
        var options = _owner.Options;
        if (options.HeartbeatInterval <= TimeSpan.Zero)
        {
            return;
        }

        var timeout = options.HeartbeatTimeout > TimeSpan.Zero ? options.HeartbeatTimeout : options.HeartbeatInterval;
        StartHeartbeatTimer(Math.Min(options.HeartbeatInterval.Ticks, timeout.Ticks));
    }

    /// <summary>Ticks at a quarter of the shortest period to watch, so expiry is noticed within 25 % of it.</summary>
    private void StartHeartbeatTimer(long shortestPeriodTicks)
    {
        var tick = TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond, shortestPeriodTicks / 4));
        var timer = _owner.TimeProvider.CreateTimer(static state => ((ZmtpConnection)state!).HeartbeatTick(), this, tick, tick);
        if (Interlocked.CompareExchange(ref _heartbeatTimer, timer, null) is not null || Volatile.Read(ref _disposed) != 0)
        {
            timer.Dispose();
        }
    }

    private void HeartbeatTick()
    {
        var options = _owner.Options;
        var clock = _owner.TimeProvider;
        long now = clock.GetTimestamp();
        long lastReceived = Volatile.Read(ref _lastReceived);
        var timeout = options.HeartbeatTimeout > TimeSpan.Zero ? options.HeartbeatTimeout : options.HeartbeatInterval;

        if (_pingSentAt != 0 && lastReceived < _pingSentAt && clock.GetElapsedTime(_pingSentAt, now) >= timeout)
        {
            Abort($"no traffic within {timeout.TotalMilliseconds} ms of our PING (heartbeat timeout)");
            return;
        }

        long peerTtl = Volatile.Read(ref _peerTtlTicks);
        if (peerTtl > 0 && clock.GetElapsedTime(lastReceived, now).Ticks >= peerTtl)
        {
            Abort("no traffic within the TTL the peer announced in its PING");
            return;
        }

        if (_pingSentAt != 0 && lastReceived >= _pingSentAt)
        {
            _pingSentAt = 0;
        }

        if (options.HeartbeatInterval > TimeSpan.Zero && clock.GetElapsedTime(_lastPingAt, now) >= options.HeartbeatInterval)
        {
            _lastPingAt = now;
            _pingSentAt = _pingSentAt == 0 ? now : _pingSentAt;
            EnqueueControl(Commands.BuildPingFrame(options.HeartbeatTtl));
        }
    }

    private void Abort(string reason)
    {
        _abortReason = reason;
        Dispose();
    }

    private async Task DecodeLoopAsync(Pipe pipe, CancellationToken cancellationToken)
    {
        long maxMessageSize = _owner.Options.MaxMessageSize;
        bool intercepts = _owner.InterceptsInbound;
        var batch = new List<Delivery>(64);
        Message? partial = null;
        long partialBytes = 0;
        while (true)
        {
            // Decode every complete frame in the buffer.
            while (true)
            {
                int available = _end - _start;
                if (!FrameHeader.TryRead(_buffer.AsSpan(_start, available), out var flags, out long size, out int headerLength))
                {
                    break;
                }

                if (size < 0 || size > Array.MaxLength)
                {
                    throw new ProtocolException(ProtocolError.MalformedFrame, $"frame size {size} cannot be held");
                }

                bool isCommand = (flags & FrameFlags.Command) != 0;
                if (isCommand)
                {
                    if ((flags & FrameFlags.More) != 0)
                    {
                        throw new ProtocolException(ProtocolError.MalformedFrame, "command frame with MORE set");
                    }

                    if (size > MaxHandshakeCommand)
                    {
                        throw new ProtocolException(ProtocolError.MalformedFrame, $"command of {size} octets");
                    }
                }
                else if (maxMessageSize >= 0 && partialBytes + size > maxMessageSize)
                {
                    throw new ProtocolException(ProtocolError.MessageTooLarge, $"message of more than {maxMessageSize} octets");
                }

                ReadOnlyMemory<byte> body;
                if (available - headerLength >= size)
                {
                    // Frames are slices of the receive buffer: no copy, no allocation per frame.
                    // The buffer region behind _end is never overwritten while slices may live.
                    body = size == 0 ? ReadOnlyMemory<byte>.Empty : _buffer.AsMemory(_start + headerLength, (int)size);
                    _handedOut |= size > 0;
                    _start += headerLength + (int)size;
                }
                else if (headerLength + size > _buffer.Length)
                {
                    // A frame larger than the buffer: read its body straight into its own array.
                    Flush(pipe, batch);
                    var large = new byte[size];
                    int have = available - headerLength;
                    _buffer.AsSpan(_start + headerLength, have).CopyTo(large);
                    ResetBuffer();
                    while (have < large.Length)
                    {
                        int n = await _socket.ReceiveAsync(large.AsMemory(have), SocketFlags.None, cancellationToken).ConfigureAwait(false);
                        if (n == 0)
                        {
                            throw new EndOfStreamException("peer closed the connection in the middle of a frame");
                        }

                        have += n;
                    }

                    TransportMetrics.BytesReceived.Add(large.Length);
                    body = large;
                }
                else
                {
                    break;
                }

                if (isCommand)
                {
                    HandleCommand(pipe, body.Span);
                    continue;
                }

                bool more = (flags & FrameFlags.More) != 0;
                Message? complete = null;
                if (partial is null && !more)
                {
                    complete = new Message(body);
                }
                else
                {
                    partial ??= new Message(4);
                    partial.Append(body);
                    partialBytes += size;
                    if (!more)
                    {
                        complete = partial;
                        partial = null;
                        partialBytes = 0;
                    }
                }

                // Publishers consume inbound messages themselves (3.0-style subscriptions).
                if (complete is not null && !(intercepts && _owner.InterceptInbound(pipe, complete)))
                {
                    batch.Add(new Delivery(pipe, complete));
                }
            }

            Flush(pipe, batch);

            MakeRoomToRead();

            await pipe.WaitForInboundCreditAsync(cancellationToken).ConfigureAwait(false);
            int read = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                // A half-received message is discarded, as libzmq rolls back the pipe.
                return;
            }

            _end += read;
            Volatile.Write(ref _lastReceived, _owner.TimeProvider.GetTimestamp());
            TransportMetrics.BytesReceived.Add(read);
        }
    }

    /// <summary>
    /// Ensures free space after <c>_end</c>. While slices of the buffer may be held by messages it is
    /// never compacted in place: a fresh buffer takes the unparsed tail instead.
    /// </summary>
    private void MakeRoomToRead()
    {
        if (_start == _end && !_handedOut)
        {
            _start = _end = 0;
            return;
        }

        if (_buffer.Length - _end >= MinReadSpace)
        {
            return;
        }

        int pending = _end - _start;
        if (_handedOut)
        {
            var fresh = new byte[Math.Max(ReceiveBufferSize, pending + MinReadSpace)];
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

    /// <summary>Empties the buffer; a fresh one is used if slices of the old one may still be held.</summary>
    private void ResetBuffer()
    {
        if (_handedOut)
        {
            _buffer = new byte[ReceiveBufferSize];
            _handedOut = false;
        }

        _start = _end = 0;
    }

    private void Flush(Pipe pipe, List<Delivery> batch)
    {
        if (batch.Count == 0)
        {
            return;
        }

        _owner.DeliverInbound(pipe, batch);
        TransportMetrics.MessagesReceived.Add(batch.Count);
        batch.Clear();
    }

    /// <summary>
    /// Commands after the handshake: answer PING, hand SUBSCRIBE/CANCEL to the socket, ignore
    /// everything else (libzmq ignores unknown commands).
    /// </summary>
    private void HandleCommand(Pipe pipe, ReadOnlySpan<byte> body)
    {
        if (!Commands.TrySplit(body, out var name, out var data))
        {
            return;
        }

        if (name.SequenceEqual(Commands.PingName))
        {
            EnqueueControl(Commands.BuildPongFrame(data));
            long ttl = data.Length >= 2 ? ((data[0] << 8) | data[1]) * TimeSpan.TicksPerMillisecond * 100 : 0;
            if (ttl > 0)
            {
                // The peer promises traffic within its TTL; watch it even if our own heartbeats are off.
                Volatile.Write(ref _peerTtlTicks, ttl);
                if (Volatile.Read(ref _heartbeatTimer) is null)
                {
                    StartHeartbeatTimer(ttl);
                }
            }
        }
        else
        {
            _owner.TryHandleSubscriptionCommand(pipe, name, data);
        }
    }

    private void EnqueueControl(byte[] frame)
    {
        lock (_controlGate)
        {
            _control.Enqueue(frame);
        }

        // The send loop sleeps on the pipe's queue; wake it to pick the control frame up.
        _pipe?.Outbound.Poke();
    }

    private async Task<ConnectionEnd> SendLoopAsync(Pipe pipe, CancellationToken cancellationToken)
    {
        var batch = new List<Message>(256);
        byte[] buffer = ArrayPool<byte>.Shared.Rent(SendBufferSize);
        try
        {
            while (true)
            {
                int length = DrainControl(ref buffer, 0);
                if (pipe.Outbound.DrainTo(batch, MaxSendBatch) == 0)
                {
                    if (length > 0)
                    {
                        await SendAllAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                        continue;
                    }

                    if (pipe.Outbound.IsCompleted && pipe.Outbound.Count == 0)
                    {
                        return new ConnectionEnd("socket closed", null, null);
                    }

                    await WaitForWorkAsync(pipe, cancellationToken).ConfigureAwait(false);

                    // Woken inline on the sender's thread (see Pipe.Outbound). At a low message rate,
                    // write right away: lowest latency, no thread hop. When messages follow each other
                    // closely, move to the thread pool first so they pile up and share one syscall.
                    if (_owner.TimeProvider.GetElapsedTime(_lastFlush) < InlineWriteGap)
                    {
                        await Task.Yield();
                    }

                    continue;
                }

                long bytes = 0;
                foreach (var message in batch)
                {
                    if (message.IsCommand)
                    {
                        var command = message[0];
                        if (length + FrameHeader.MaxLength + command.Length > buffer.Length)
                        {
                            await SendAllAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                            bytes += length;
                            length = 0;
                        }

                        length += FrameHeader.Write(buffer.AsSpan(length), command.Length, more: false, command: true);
                        command.Span.CopyTo(buffer.AsSpan(length));
                        length += command.Length;
                        continue;
                    }

                    int last = message.Count - 1;
                    for (int i = 0; i <= last; i++)
                    {
                        var frame = message[i];
                        if (frame.Length >= DirectWriteThreshold)
                        {
                            length += FrameHeader.Write(buffer.AsSpan(length), frame.Length, more: i < last, command: false);
                            await SendAllAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                            await SendAllAsync(frame, cancellationToken).ConfigureAwait(false);
                            bytes += length + frame.Length;
                            length = 0;
                            continue;
                        }

                        if (length + FrameHeader.MaxLength + frame.Length > buffer.Length)
                        {
                            await SendAllAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                            bytes += length;
                            length = 0;
                        }

                        length += FrameHeader.Write(buffer.AsSpan(length), frame.Length, more: i < last, command: false);
                        frame.Span.CopyTo(buffer.AsSpan(length));
                        length += frame.Length;
                    }
                }

                if (length > 0)
                {
                    await SendAllAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                    bytes += length;
                }

                _lastFlush = _owner.TimeProvider.GetTimestamp();
                TransportMetrics.MessagesSent.Add(batch.Count);
                TransportMetrics.BytesSent.Add(bytes);
                batch.Clear();
            }
        }
        catch (OperationCanceledException ex)
        {
            return new ConnectionEnd("closed", null, ex);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException or IOException)
        {
            return new ConnectionEnd(ex.Message, null, ex);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private int DrainControl(ref byte[] buffer, int length)
    {
        lock (_controlGate)
        {
            while (_control.TryDequeue(out var frame))
            {
                frame.CopyTo(buffer, length);
                length += frame.Length;
            }
        }

        return length;
    }

    private async Task WaitForWorkAsync(Pipe pipe, CancellationToken cancellationToken)
    {
        Task outbound = pipe.Outbound.ReadableSignal();
        lock (_controlGate)
        {
            if (_control.Count > 0)
            {
                return;
            }
        }

        // Cancellation pokes the queue (see RunAsync), so no per-wait cancellation wrapper is needed.
        await outbound.ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
    }

    private async ValueTask SendAllAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            int sent = await _socket.SendAsync(data, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            data = data[sent..];
        }
    }

    private async ValueTask EnsureAsync(int count, CancellationToken cancellationToken)
    {
        if (_end - _start >= count)
        {
            return;
        }

        if (_buffer.Length - _start < count)
        {
            if (_buffer.Length < count)
            {
                var bigger = new byte[count];
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

        while (_end - _start < count)
        {
            int read = await _socket.ReceiveAsync(_buffer.AsMemory(_end), SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                throw new EndOfStreamException("peer closed the connection during the handshake");
            }

            _end += read;
            TransportMetrics.BytesReceived.Add(read);
        }
    }

    private void TryShutdownSend()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // Already gone.
        }
    }

    /// <summary>Closes the TCP socket; both loops end with an I/O error or cancellation.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Volatile.Read(ref _heartbeatTimer)?.Dispose();
        _socket.Dispose();
    }
}
