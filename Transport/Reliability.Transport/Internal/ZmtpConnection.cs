using System.Buffers;
using System.Net.Sockets;
using Reliability.Transport.Curve;
using Reliability.Transport.Zmtp;

namespace Reliability.Transport.Internal;

/// <summary>How a connection ended.</summary>
internal readonly record struct ConnectionEnd(string Reason, ProtocolError? Error, Exception? Exception);

/// <summary>
/// One ZMTP connection over TCP or ipc: the handshake (<see cref="ZmtpHandshake"/>), then a receive
/// loop (socket to <see cref="ZmtpDecoder"/> to the socket's inbound queue), a send loop (pipe queue
/// to encoder to socket) and the heartbeat (<see cref="ZmtpHeartbeat"/>). The send loop drains
/// everything queued before it writes, so many small messages share one syscall.
/// </summary>
internal sealed class ZmtpConnection : IPeerConnection
{
    private const int SendBufferSize = 64 * 1024;

    /// <summary>Flushes closer together than this count as a stream, and are batched on the thread pool.</summary>
    private static readonly TimeSpan InlineWriteGap = TimeSpan.FromMicroseconds(15);

    private const int MaxSendBatch = 4096;

    /// <summary>Frames at least this large are written straight from the caller's memory instead of being copied.</summary>
    private const int DirectWriteThreshold = 32 * 1024;

    private readonly Socket _socket;
    private readonly ZmqSocket _owner;
    private readonly ZmtpDecoder _decoder;
    private CurveMechanism? _curve;
    private readonly ZmtpHeartbeat _heartbeat;
    private bool _heartbeats = true;
    private bool _zmtp1;
    private int _disposed;
    private volatile string? _abortReason;
    private long _lastFlush;

    public ZmtpConnection(ZmqSocket owner, Socket socket, string remoteEndpoint)
    {
        _owner = owner;
        _socket = socket;
        RemoteEndpoint = remoteEndpoint;
        _heartbeat = new ZmtpHeartbeat(owner.Options, owner.TimeProvider, Abort);
        _decoder = new ZmtpDecoder(owner, owner.Options.MaxMessageSize, _heartbeat.OnPeerPing);
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

    /// <summary>Runs the ZMTP handshake; traffic the peer sent right after it stays buffered for <see cref="RunAsync"/>.</summary>
    public async Task<HandshakeResult> HandshakeAsync(CancellationToken cancellationToken)
    {
        var result = await new ZmtpHandshake(_owner, _socket, _decoder, RemoteEndpoint).RunAsync(cancellationToken).ConfigureAwait(false);
        _heartbeats = result.PeerMajor >= Greeting.MajorVersion;
        _zmtp1 = result.PeerMajor == 1;
        _decoder.Zmtp1Framing = _zmtp1;
        _curve = result.Curve;
        _decoder.Curve = _curve;
        return result;
    }

    /// <summary>Runs both loops until either ends; returns why the connection ended.</summary>
    public async Task<ConnectionEnd> RunAsync(Pipe pipe, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (_heartbeats)
        {
            // PING and PONG are ZMTP 3.1 commands; older peers rely on TCP keepalive and the patterns' heartbeats.
            _heartbeat.Start(pipe);
        }

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
            await ReadLoopAsync(pipe, cancellationToken).ConfigureAwait(false);
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

    /// <summary>Reads into the decoder's buffer and lets it decode, until the peer closes or a read fails.</summary>
    private async Task ReadLoopAsync(Pipe pipe, CancellationToken cancellationToken)
    {
        while (true)
        {
            var largeFrameRest = _decoder.DecodeBuffered(pipe);
            if (!largeFrameRest.IsEmpty)
            {
                while (!largeFrameRest.IsEmpty)
                {
                    int n = await _socket.ReceiveAsync(largeFrameRest, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                    if (n == 0)
                    {
                        throw new EndOfStreamException("peer closed the connection in the middle of a frame");
                    }

                    largeFrameRest = _decoder.LargeFrameRead(n);
                }

                _decoder.CompleteLargeFrame(pipe);
                continue;
            }

            var space = _decoder.SpaceToRead();
            await pipe.WaitForInboundCreditAsync(cancellationToken).ConfigureAwait(false);
            int read = await _socket.ReceiveAsync(space, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            if (read == 0)
            {
                // A half-received message is discarded, as libzmq rolls back the pipe.
                return;
            }

            _decoder.Commit(read);
            _heartbeat.TrafficReceived(_owner.TimeProvider.GetTimestamp());
            TransportMetrics.BytesReceived.Add(read);
        }
    }

    private void Abort(string reason)
    {
        _abortReason = reason;
        Dispose();
    }

    private async Task<ConnectionEnd> SendLoopAsync(Pipe pipe, CancellationToken cancellationToken)
    {
        var batch = new List<Message>(256);
        byte[]? buffer = null;
        try
        {
            while (true)
            {
                // Held only while there is something to write: an idle connection holds no send buffer.
                buffer ??= ArrayPool<byte>.Shared.Rent(SendBufferSize);
                int length = _heartbeat.DrainControl(buffer, 0, _curve);
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

                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = null;
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
                        bool asCommand = _curve is null;
                        if (_curve is not null)
                        {
                            // CURVE: the command rides boxed in a MESSAGE, itself a plain data frame.
                            command = _curve.Encode(command.Span, more: false, command: true);
                        }

                        if (length + FrameHeader.MaxLength + command.Length > buffer.Length)
                        {
                            await SendAllAsync(buffer.AsMemory(0, length), cancellationToken).ConfigureAwait(false);
                            bytes += length;
                            length = 0;
                        }

                        length += FrameHeader.Write(buffer.AsSpan(length), command.Length, more: false, command: asCommand);
                        command.Span.CopyTo(buffer.AsSpan(length));
                        length += command.Length;
                        continue;
                    }

                    int last = message.Count - 1;
                    for (int i = 0; i <= last; i++)
                    {
                        var frame = message[i];
                        bool more = i < last;
                        if (_curve is not null)
                        {
                            // CURVE: MORE goes inside the box; the MESSAGE frame itself never has it.
                            frame = _curve.Encode(frame.Span, more, command: false);
                            more = false;
                        }

                        if (frame.Length >= DirectWriteThreshold)
                        {
                            length += WriteHeader(buffer.AsSpan(length), frame.Length, more);
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

                        length += WriteHeader(buffer.AsSpan(length), frame.Length, more);
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
            if (buffer is not null)
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
        }
    }

    /// <summary>A message frame's header in the peer's framing: ZMTP/1.0 (RFC 13) or 2.0/3.x.</summary>
    private int WriteHeader(Span<byte> destination, int bodyLength, bool more) =>
        _zmtp1 ? FrameHeader.WriteV1(destination, bodyLength, more) : FrameHeader.Write(destination, bodyLength, more, command: false);

    private async Task WaitForWorkAsync(Pipe pipe, CancellationToken cancellationToken)
    {
        Task outbound = pipe.Outbound.ReadableSignal();
        if (_heartbeat.HasControl)
        {
            return;
        }

        // Cancellation pokes the queue (see RunAsync), so no per-wait cancellation wrapper is needed.
        await outbound.ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>Writes all of <paramref name="data"/>; the handshake writes through it too.</summary>
    internal static async ValueTask SendAllAsync(Socket socket, ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        while (!data.IsEmpty)
        {
            int sent = await socket.SendAsync(data, SocketFlags.None, cancellationToken).ConfigureAwait(false);
            data = data[sent..];
        }
    }

    private ValueTask SendAllAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken) =>
        SendAllAsync(_socket, data, cancellationToken);

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

        _heartbeat.Dispose();
        _socket.Dispose();

        // Wipes this connection's CURVE keys (docs/wire/curve.md §3).
        _curve?.Dispose();
    }
}
