using Reliability.Patterns.Heartbeating;

namespace Reliability.Mdp.Broker;

/// <summary>
/// Caps how many lines of one kind are logged per window of time. A peer flooding the broker with
/// garbage must not flood the log (or slow the loop down writing it): past the cap, lines are only
/// counted (by reason), and the counts are reported once the window has passed. Metrics still count every event.
/// </summary>
/// <remarks>Single-threaded, like the broker loop that owns it; time from the injected provider.</remarks>
internal sealed class LogBudget
{
    private readonly int _perWindow;
    private readonly long _windowUnits;
    private readonly TimeProvider _time;
    private long _windowStart;
    private int _used;
    private readonly Dictionary<string, long> _suppressed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _suppressedInEndedWindows = new(StringComparer.Ordinal);

    public LogBudget(int perWindow, TimeSpan window, TimeProvider time)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(perWindow, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        _perWindow = perWindow;
        _time = time;
        _windowUnits = Timestamps.ToUnits(window, time.TimestampFrequency);
        _windowStart = time.GetTimestamp();
    }

    /// <summary>Whether this line may be logged; when not, it is counted as suppressed under <paramref name="reason"/>.</summary>
    public bool TryTake(string reason = "")
    {
        Roll();
        if (_used < _perWindow)
        {
            _used++;
            return true;
        }

        _suppressed[reason] = _suppressed.GetValueOrDefault(reason) + 1;
        return false;
    }

    /// <summary>
    /// The number of lines suppressed in windows that have ended, to be reported once (then reset):
    /// a flood yields one summary line per window, and nothing is reported twice.
    /// </summary>
    public long TakeSuppressed() => TakeSuppressedByReason().Sum(pair => pair.Value);

    /// <summary>As <see cref="TakeSuppressed"/>, by the reason each suppressed line was counted under, in ordinal order.</summary>
    public IReadOnlyList<KeyValuePair<string, long>> TakeSuppressedByReason()
    {
        Roll();
        if (_suppressedInEndedWindows.Count == 0)
        {
            return [];
        }

        var taken = _suppressedInEndedWindows.OrderBy(pair => pair.Key, StringComparer.Ordinal).ToList();
        _suppressedInEndedWindows.Clear();
        return taken;
    }

    private void Roll()
    {
        long now = _time.GetTimestamp();
        if (now - _windowStart >= _windowUnits)
        {
            _windowStart = now;
            _used = 0;
            foreach (var (reason, count) in _suppressed)
            {
                _suppressedInEndedWindows[reason] = _suppressedInEndedWindows.GetValueOrDefault(reason) + count;
            }

            _suppressed.Clear();
        }
    }
}
