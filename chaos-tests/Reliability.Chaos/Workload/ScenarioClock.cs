namespace Reliability.Chaos.Workload;

/// <summary>Milliseconds since a scenario started, on a monotonic clock.</summary>
public sealed class ScenarioClock
{
    private readonly long _start;

    /// <summary>Starts the clock now.</summary>
    /// <param name="timeProvider">The clock; <see cref="TimeProvider.System"/> when null.</param>
    public ScenarioClock(TimeProvider? timeProvider = null)
    {
        TimeProvider = timeProvider ?? TimeProvider.System;
        _start = TimeProvider.GetTimestamp();
    }

    /// <summary>The underlying clock.</summary>
    public TimeProvider TimeProvider { get; }

    /// <summary>Milliseconds elapsed since the start.</summary>
    public double NowMs => TimeProvider.GetElapsedTime(_start).TotalMilliseconds;

    /// <summary>Waits until <paramref name="atMs"/> milliseconds after the start (returns at once if that is past).</summary>
    /// <param name="atMs">The moment.</param>
    /// <param name="cancellationToken">Ends the wait early.</param>
    /// <returns>A task that completes at that moment.</returns>
    public Task WaitUntilAsync(double atMs, CancellationToken cancellationToken)
    {
        double left = atMs - NowMs;
        return left <= 0 ? Task.CompletedTask : Task.Delay(TimeSpan.FromMilliseconds(left), TimeProvider, cancellationToken);
    }
}
