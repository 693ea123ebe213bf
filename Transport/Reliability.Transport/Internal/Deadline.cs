namespace Reliability.Transport.Internal;

/// <summary>
/// A cancellation token that fires when the caller cancels, the socket closes, or a timeout
/// measured on the socket's <see cref="TimeProvider"/> elapses. Disposing it stops the timer first;
/// a timer callback racing with disposal is tolerated, because a callback throwing on a thread-pool
/// timer would take down the process.
/// </summary>
internal sealed class Deadline : IDisposable
{
    private readonly CancellationTokenSource _source;
    private readonly ITimer? _timer;

    public Deadline(TimeSpan timeout, TimeProvider timeProvider, CancellationToken first, CancellationToken second = default)
    {
        _source = CancellationTokenSource.CreateLinkedTokenSource(first, second);
        if (timeout != Timeout.InfiniteTimeSpan)
        {
            _timer = timeProvider.CreateTimer(static s => ((Deadline)s!).Expire(), this, timeout, Timeout.InfiniteTimeSpan);
        }
    }

    public CancellationToken Token => _source.Token;

    /// <summary>Whether the timeout (not the caller or the socket) ended the wait.</summary>
    public bool Expired { get; private set; }

    private void Expire()
    {
        try
        {
            Expired = true;
            _source.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // Disposed while the timer fired: the wait is already over.
        }
    }

    public void Dispose()
    {
        _timer?.Dispose();
        _source.Dispose();
    }
}
