namespace Reliability.Patterns.Heartbeating;

/// <summary>
/// Liveness of one remote peer as seen from a worker or client with a single connection:
/// when the peer is dead (no inbound traffic for <see cref="HeartbeatOptions.ExpiryTimeout"/>)
/// and when we owe it a heartbeat.
/// </summary>
/// <remarks>
/// <para>Any inbound message resets liveness, not only heartbeats (zguide; RFC 6/7). The deadline
/// is derived from the last message on the monotonic clock, not from counting poll timeouts, so
/// a loop woken early by other events cannot drain liveness faster than real time.</para>
/// <para>Typical loop: wait up to <see cref="NextDeadlineIn"/>; on a message call
/// <see cref="MessageReceived"/>; if <see cref="IsExpired"/>, reconnect (see
/// <see cref="HeartbeatOptions.CreateBackoff"/>) and call <see cref="Restart"/>; if <see cref="Heartbeat"/>.TryFire()
/// returns true, send a heartbeat. Call <see cref="MessageSent"/> after every other send.</para>
/// <para>Single-writer: the updating calls belong to the loop that owns the socket; properties may
/// be read from other threads. Timestamps are in <see cref="TimeProvider.GetTimestamp"/> units.</para>
/// </remarks>
internal sealed class PeerLiveness
{
    private readonly TimeProvider _time;
    private readonly long _expiryUnits;
    private long _lastReceivedAt;

    /// <summary>
    /// Starts tracking as if a message had just been exchanged: the peer expires one
    /// <see cref="HeartbeatOptions.ExpiryTimeout"/> from now and the first heartbeat is due one
    /// <see cref="HeartbeatOptions.Interval"/> from now.
    /// </summary>
    /// <param name="options">Validated on construction.</param>
    /// <param name="timeProvider">Clock; <see cref="TimeProvider.System"/> when null.</param>
    /// <exception cref="ArgumentException"><paramref name="options"/> is invalid.</exception>
    public PeerLiveness(HeartbeatOptions options, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        _time = timeProvider ?? TimeProvider.System;
        _expiryUnits = Timestamps.ToUnits(options.ExpiryTimeout, _time.TimestampFrequency);
        Heartbeat = new HeartbeatTimer(options.Interval, _time);
        _lastReceivedAt = _time.GetTimestamp();
    }

    /// <summary>The settings in use.</summary>
    public HeartbeatOptions Options { get; }

    /// <summary>The outbound heartbeat schedule towards this peer.</summary>
    public HeartbeatTimer Heartbeat { get; }

    /// <summary>Timestamp of the last inbound message (or of construction / <see cref="Restart"/>).</summary>
    public long LastReceivedAt => Volatile.Read(ref _lastReceivedAt);

    /// <summary>Timestamp at which the peer counts as dead unless a message arrives first.</summary>
    public long ExpiresAt => LastReceivedAt + _expiryUnits;

    /// <summary>Whether the peer has been silent for <see cref="HeartbeatOptions.ExpiryTimeout"/> or longer.</summary>
    public bool IsExpired => _time.GetTimestamp() >= ExpiresAt;

    /// <summary>Time left before the peer expires; <see cref="TimeSpan.Zero"/> once expired.</summary>
    public TimeSpan ExpiresIn => Timestamps.Until(_time.GetTimestamp(), ExpiresAt, _time.TimestampFrequency);

    /// <summary>Timestamp at which the next heartbeat is due (same as <see cref="HeartbeatTimer.DueAt"/>).</summary>
    public long NextHeartbeatAt => Heartbeat.DueAt;

    /// <summary>Whether a heartbeat should be sent now (same as <see cref="HeartbeatTimer.IsDue"/>).</summary>
    public bool HeartbeatDue => Heartbeat.IsDue;

    /// <summary>The earlier of <see cref="ExpiresAt"/> and <see cref="NextHeartbeatAt"/>: when the loop must next act.</summary>
    public long NextDeadline => Math.Min(ExpiresAt, NextHeartbeatAt);

    /// <summary>
    /// Time until <see cref="NextDeadline"/>, <see cref="TimeSpan.Zero"/> if it has passed: the
    /// timeout to pass to a receive or poll call.
    /// </summary>
    public TimeSpan NextDeadlineIn => Timestamps.Until(_time.GetTimestamp(), NextDeadline, _time.TimestampFrequency);

    /// <summary>Records inbound traffic of any kind (heartbeat, reply, request, READY): the peer is alive.</summary>
    public void MessageReceived() => Volatile.Write(ref _lastReceivedAt, _time.GetTimestamp());

    /// <summary>Records that we sent the peer a message (heartbeat or any other), postponing our next heartbeat.</summary>
    public void MessageSent() => Heartbeat.MessageSent();

    /// <summary>
    /// Starts a fresh liveness period after reconnecting on a new socket and sending READY:
    /// the same state as a newly constructed instance.
    /// </summary>
    public void Restart()
    {
        MessageReceived();
        Heartbeat.MessageSent();
    }
}
