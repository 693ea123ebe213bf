using System.Collections.Concurrent;

namespace Reliability.Transport.Internal;

/// <summary>
/// At most one warning per endpoint per <see cref="Period"/>: a peer that keeps reconnecting with a
/// wrong greeting is reported once, not once per attempt; the repeats go to Debug. Bounded: the table
/// is cleared when it grows past <see cref="MaxEndpoints"/>.
/// </summary>
internal sealed class WarningLimiter(TimeProvider clock)
{
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(60);
    private const int MaxEndpoints = 1024;
    private readonly ConcurrentDictionary<string, long> _last = new(StringComparer.Ordinal);

    /// <summary>Whether a warning about <paramref name="endpoint"/> may be logged now (and records it).</summary>
    public bool ShouldWarn(string endpoint)
    {
        long now = clock.GetTimestamp();
        if (_last.TryGetValue(endpoint, out long last) && clock.GetElapsedTime(last, now) < Period)
        {
            return false;
        }

        if (_last.Count >= MaxEndpoints)
        {
            _last.Clear();
        }

        _last[endpoint] = now;
        return true;
    }
}
