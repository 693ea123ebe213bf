using Reliability.Patterns.Heartbeating;

namespace Reliability.Patterns.ParanoidPirate;

/// <summary>
/// Keeps a loop from blaming its peers for its own pause. A loop that passes at least once per
/// heartbeat interval and suddenly finds a gap of more than two intervals since its previous pass
/// was itself stopped (GC pause, CPU starvation, a suspended VM); the heartbeats its peers sent
/// meanwhile may still be on their way through the transport. Such a pass defers expiry once, so
/// the loop can wait one interval and receive them first. Only one pass in a row is deferred, so a
/// loop that is late all the time still purges dead peers.
/// </summary>
/// <remarks>Not thread-safe: owned by one loop. Timestamps come from the injected clock.</remarks>
internal sealed class PauseGuard
{
    private readonly TimeProvider _time;
    private readonly long _thresholdUnits;
    private long _lastPass;
    private bool _deferred;

    /// <summary>Creates a guard for a loop that passes at least once per <paramref name="interval"/>.</summary>
    public PauseGuard(TimeSpan interval, TimeProvider timeProvider)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(interval, TimeSpan.Zero);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _time = timeProvider;
        _thresholdUnits = Timestamps.ToUnits(interval * 2, timeProvider.TimestampFrequency);
        _lastPass = timeProvider.GetTimestamp();
    }

    /// <summary>Whether the current pass deferred expiry (the loop should then wait one interval rather than until a passed deadline).</summary>
    public bool Deferred => _deferred;

    /// <summary>The length of the pause that caused the last deferral.</summary>
    public TimeSpan LastPause { get; private set; }

    /// <summary>
    /// Call once at the start of every pass. Returns false when this pass follows a pause of the
    /// loop and the previous pass was not deferred: expiry must wait for the next pass.
    /// </summary>
    public bool MayExpire()
    {
        long now = _time.GetTimestamp();
        long gap = now - _lastPass;
        _lastPass = now;
        if (gap > _thresholdUnits && !_deferred)
        {
            _deferred = true;
            LastPause = Timestamps.Until(0, gap, _time.TimestampFrequency);
            return false;
        }

        _deferred = false;
        return true;
    }
}
