namespace Reliability.Mdp.Titanic.Service;

/// <summary>An auto-reset wake-up: <see cref="Set"/> any number of times, one waiter wakes and re-arms it.</summary>
internal sealed class Signal
{
    private readonly object _gate = new();
    private TaskCompletionSource _set = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Wakes the waiter (now, or at its next wait).</summary>
    public void Set()
    {
        lock (_gate)
        {
            _set.TrySetResult();
        }
    }

    /// <summary>Waits for <see cref="Set"/>, then re-arms: a <see cref="Set"/> during the work that follows wakes the next wait.</summary>
    public async Task WaitAsync(CancellationToken cancellationToken)
    {
        await Current().WaitAsync(cancellationToken).ConfigureAwait(false);
        Rearm();
    }

    /// <summary>Waits for <see cref="Set"/> at most <paramref name="timeout"/>; false when it timed out.</summary>
    public async Task<bool> WaitAsync(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        try
        {
            await Current().WaitAsync(timeout, time, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return false;
        }

        Rearm();
        return true;
    }

    private Task Current()
    {
        lock (_gate)
        {
            return _set.Task;
        }
    }

    private void Rearm()
    {
        lock (_gate)
        {
            if (_set.Task.IsCompleted)
            {
                _set = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            }
        }
    }
}
