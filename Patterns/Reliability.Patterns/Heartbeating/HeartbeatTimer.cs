namespace Reliability.Patterns.Heartbeating;

/// <summary>
/// Tells a loop when its next outbound heartbeat is due. Any message sent to the peer counts as
/// a heartbeat (MDP: "don't send HEARTBEAT while also sending other commands"), so call
/// <see cref="MessageSent"/> after every send, heartbeat or not.
/// </summary>
/// <remarks>
/// Runs on the monotonic clock of the injected <see cref="TimeProvider"/>. Timestamps are in
/// <see cref="TimeProvider.GetTimestamp"/> units. Single-writer: the updating calls belong to the
/// loop that owns the socket; reads from another thread see a consistent value.
/// </remarks>
internal sealed class HeartbeatTimer
{
    private readonly TimeProvider _time;
    private readonly long _intervalUnits;
    private long _dueAt;

    /// <summary>Creates a timer whose first heartbeat is due one <paramref name="interval"/> from now.</summary>
    /// <param name="interval">Time between heartbeats; must be positive.</param>
    /// <param name="timeProvider">Clock; <see cref="TimeProvider.System"/> when null.</param>
    public HeartbeatTimer(TimeSpan interval, TimeProvider? timeProvider = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        _time = timeProvider ?? TimeProvider.System;
        Interval = interval;
        _intervalUnits = Timestamps.ToUnits(interval, _time.TimestampFrequency);
        _dueAt = _time.GetTimestamp() + _intervalUnits;
    }

    /// <summary>Time between heartbeats.</summary>
    public TimeSpan Interval { get; }

    /// <summary>Timestamp at which the next heartbeat is due.</summary>
    public long DueAt => Volatile.Read(ref _dueAt);

    /// <summary>Whether a heartbeat should be sent now.</summary>
    public bool IsDue => _time.GetTimestamp() >= DueAt;

    /// <summary>Time until the next heartbeat is due; <see cref="TimeSpan.Zero"/> when already due.</summary>
    public TimeSpan DueIn => Timestamps.Until(_time.GetTimestamp(), DueAt, _time.TimestampFrequency);

    /// <summary>
    /// Records that a message (heartbeat or any other) was just sent, so the next heartbeat is due
    /// one interval from now. Scheduling from "now" rather than from the old due time means a late
    /// loop never sends a burst of catch-up heartbeats.
    /// </summary>
    public void MessageSent() => Volatile.Write(ref _dueAt, _time.GetTimestamp() + _intervalUnits);

    /// <summary>
    /// If a heartbeat is due, reschedules the next one and returns true: the caller must then send
    /// the heartbeat. Returns false when none is due.
    /// </summary>
    public bool TryFire()
    {
        long now = _time.GetTimestamp();
        if (now < DueAt)
        {
            return false;
        }

        Volatile.Write(ref _dueAt, now + _intervalUnits);
        return true;
    }

    /// <summary>Makes a heartbeat due immediately (e.g. to announce ourselves right after reconnecting).</summary>
    public void MakeDue() => Volatile.Write(ref _dueAt, _time.GetTimestamp());
}
