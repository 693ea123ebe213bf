using Reliability.Transport.Curve;
using Reliability.Transport.Zmtp;

namespace Reliability.Transport.Internal;

/// <summary>
/// The liveness side of one ZMTP connection: our PINGs, the PONGs we owe, the watch on the peer's
/// traffic, and the queue of those control frames that the connection's send loop writes first.
/// </summary>
/// <param name="options">The owning socket's options (heartbeat interval, timeout and TTL).</param>
/// <param name="clock">The owning socket's clock.</param>
/// <param name="abort">Closes the connection, with the reason to report.</param>
internal sealed class ZmtpHeartbeat(SocketOptions options, TimeProvider clock, Action<string> abort) : IDisposable
{
    private readonly object _controlGate = new();
    private readonly Queue<byte[]> _control = new();
    private Pipe? _pipe;
    private int _disposed;
    private long _lastReceived;
    private long _pingSentAt;
    private long _lastPingAt;
    private long _peerTtlTicks;
    private ITimer? _timer;

    /// <summary>Whether control frames wait for the send loop.</summary>
    public bool HasControl
    {
        get
        {
            lock (_controlGate)
            {
                return _control.Count > 0;
            }
        }
    }

    /// <summary>
    /// ZMTP 3.1 heartbeats (docs/wire/zmtp.md §9, libzmq's HEARTBEAT_IVL/TIMEOUT/TTL): send PING every
    /// interval; close when a PING got no traffic back within the timeout, or when the peer's PING
    /// announced a TTL and nothing arrived within it. Closing this way is an I/O failure: the
    /// connecting side reconnects as usual.
    /// </summary>
    public void Start(Pipe pipe)
    {
        _pipe = pipe;
        _lastReceived = clock.GetTimestamp();
        if (options.HeartbeatInterval <= TimeSpan.Zero)
        {
            return;
        }

        var timeout = options.HeartbeatTimeout > TimeSpan.Zero ? options.HeartbeatTimeout : options.HeartbeatInterval;
        StartTimer(Math.Min(options.HeartbeatInterval.Ticks, timeout.Ticks));
    }

    /// <summary>Records that the peer sent something at <paramref name="timestamp"/> (of the clock).</summary>
    public void TrafficReceived(long timestamp) => Volatile.Write(ref _lastReceived, timestamp);

    /// <summary>The peer's PING: answer with PONG, and watch the TTL it announces.</summary>
    public void OnPeerPing(ReadOnlySpan<byte> data)
    {
        EnqueueControl(Commands.BuildPongFrame(data));
        long ttl = data.Length >= 2 ? ((data[0] << 8) | data[1]) * TimeSpan.TicksPerMillisecond * 100 : 0;
        if (ttl > 0)
        {
            // The peer promises traffic within its TTL; watch it even if our own heartbeats are off.
            Volatile.Write(ref _peerTtlTicks, ttl);
            if (Volatile.Read(ref _timer) is null)
            {
                StartTimer(ttl);
            }
        }
    }

    /// <summary>Copies the waiting control frames into <paramref name="buffer"/> at <paramref name="length"/>; returns the new length.</summary>
    public int DrainControl(byte[] buffer, int length, CurveMechanism? curve)
    {
        lock (_controlGate)
        {
            while (_control.TryDequeue(out var frame))
            {
                if (curve is not null)
                {
                    // Under CURVE a PING or PONG travels boxed like any other frame (docs/wire/curve.md §4).
                    FrameHeader.TryRead(frame, out _, out long size, out int header);
                    byte[] sealedFrame = curve.Encode(frame.AsSpan(header, (int)size), more: false, command: true);
                    length += FrameHeader.Write(buffer.AsSpan(length), sealedFrame.Length, more: false, command: false);
                    frame = sealedFrame;
                }

                frame.CopyTo(buffer, length);
                length += frame.Length;
            }
        }

        return length;
    }

    /// <summary>Stops the timer; the connection is closing.</summary>
    public void Dispose()
    {
        Volatile.Write(ref _disposed, 1);
        Volatile.Read(ref _timer)?.Dispose();
    }

    /// <summary>Ticks at a quarter of the shortest period to watch, so expiry is noticed within 25 % of it.</summary>
    private void StartTimer(long shortestPeriodTicks)
    {
        var tick = TimeSpan.FromTicks(Math.Max(TimeSpan.TicksPerMillisecond, shortestPeriodTicks / 4));
        var timer = clock.CreateTimer(static state => ((ZmtpHeartbeat)state!).Tick(), this, tick, tick);
        if (Interlocked.CompareExchange(ref _timer, timer, null) is not null || Volatile.Read(ref _disposed) != 0)
        {
            timer.Dispose();
        }
    }

    private void Tick()
    {
        long now = clock.GetTimestamp();
        long lastReceived = Volatile.Read(ref _lastReceived);
        var timeout = options.HeartbeatTimeout > TimeSpan.Zero ? options.HeartbeatTimeout : options.HeartbeatInterval;

        if (_pingSentAt != 0 && lastReceived < _pingSentAt && clock.GetElapsedTime(_pingSentAt, now) >= timeout)
        {
            abort($"no traffic within {timeout.TotalMilliseconds} ms of our PING (heartbeat timeout)");
            return;
        }

        long peerTtl = Volatile.Read(ref _peerTtlTicks);
        if (peerTtl > 0 && clock.GetElapsedTime(lastReceived, now).Ticks >= peerTtl)
        {
            abort("no traffic within the TTL the peer announced in its PING");
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

    private void EnqueueControl(byte[] frame)
    {
        lock (_controlGate)
        {
            _control.Enqueue(frame);
        }

        // The send loop sleeps on the pipe's queue; wake it to pick the control frame up.
        _pipe?.Outbound.Poke();
    }
}
