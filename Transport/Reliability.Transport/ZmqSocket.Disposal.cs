using Reliability.Transport.Internal;

namespace Reliability.Transport;

public abstract partial class ZmqSocket
{
    /// <summary>
    /// Closes the socket: stops listening and connecting, waits up to <see cref="SocketOptions.Linger"/>
    /// for queued messages to be written, then closes every connection.
    /// </summary>
    public ValueTask DisposeAsync()
    {
        TaskCompletionSource? closer = null;
        Task disposal;
        lock (_gate)
        {
            if (_disposal is null)
            {
                closer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _disposal = closer.Task;
            }

            disposal = _disposal;
        }

        GC.SuppressFinalize(this);
        if (closer is not null)
        {
            // Outside the lock: closing wakes waiting receivers, and one that resumes inline
            // (InlineReceiveContinuations) may dispose the socket again, which must find this disposal.
            _ = CloseInto(closer);
        }

        return new ValueTask(disposal);
    }

    private async Task CloseInto(TaskCompletionSource closer)
    {
        try
        {
            await CloseAsync().ConfigureAwait(false);
            closer.TrySetResult();
        }
        catch (Exception ex)
        {
            closer.TrySetException(ex);
        }
    }

    /// <summary>Synchronous <see cref="DisposeAsync"/>.</summary>
    public void Dispose()
    {
        DisposeAsync().AsTask().GetAwaiter().GetResult();
        GC.SuppressFinalize(this);
    }

    private async Task CloseAsync()
    {
        _closing = true;

        // Wakes receivers blocked without a timeout; they observe the closed socket.
        _inbound.Complete();
        List<Listener> listeners;
        List<Pipe> pipes;
        Task[] running;
        lock (_gate)
        {
            listeners = [.. _listeners];
            _listeners.Clear();
            pipes = [.. _allPipes];
            running = [.. _tasks];
        }

        foreach (var listener in listeners)
        {
            if (listener.Close() is { } failure)
            {
                Log.CloseFailed(Logger, Type, listener.Endpoint, failure.Message);
                Raise(new SocketEvent(SocketEventKind.CloseFailed, listener.Endpoint) { Exception = failure });
            }
            else
            {
                Raise(new SocketEvent(SocketEventKind.Closed, listener.Endpoint));
            }
        }

        CloseInprocEndpoints();

        // Completing the queues lets each send loop flush what is queued and then close gracefully.
        foreach (var pipe in pipes)
        {
            pipe.Outbound.Complete();
        }

        if (Options.Linger > TimeSpan.Zero && running.Length > 0)
        {
            try
            {
                await Task.WhenAll(running).WaitAsync(Options.Linger, TimeProvider).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                int pending = pipes.Sum(p => p.Outbound.Count);
                Log.LingerExpired(Logger, Type, pending);
            }
        }

        await _lifetime.CancelAsync().ConfigureAwait(false);
        lock (_gate)
        {
            running = [.. _tasks];
        }

        // Every loop observes the cancellation promptly; the cap only guards against a bug hanging Dispose.
        await Task.WhenAll(running).WaitAsync(TimeSpan.FromSeconds(5), TimeProvider).ContinueWith(static _ => { }, TaskScheduler.Default).ConfigureAwait(false);
        _lifetime.Dispose();
        StopMonitor();
    }
}
