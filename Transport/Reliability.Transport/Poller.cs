namespace Reliability.Transport;

/// <summary>Waits on several sockets at once (the equivalent of <c>zmq_poll</c> for input).</summary>
public static class Poller
{
    /// <summary>
    /// Returns the index of the first socket in <paramref name="sockets"/> that has a message ready
    /// to receive, waiting at most <paramref name="timeout"/>; -1 when the timeout elapses.
    /// Time is measured with the first socket's <see cref="TimeProvider"/>.
    /// </summary>
    /// <exception cref="ObjectDisposedException">One of the sockets is closed, or is closed while waiting.</exception>
    public static async ValueTask<int> WaitAnyAsync(IReadOnlyList<ZmqSocket> sockets, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sockets);
        ArgumentOutOfRangeException.ThrowIfZero(sockets.Count);
        int ready = FirstReady(sockets);
        if (ready >= 0 || timeout == TimeSpan.Zero)
        {
            return ready;
        }

        using var deadline = new Internal.Deadline(timeout, sockets[0].TimeProvider, cancellationToken);
        return await WaitLoopAsync(sockets, deadline.Token, cancellationToken).ConfigureAwait(false);
    }

    private static async ValueTask<int> WaitLoopAsync(IReadOnlyList<ZmqSocket> sockets, CancellationToken deadline, CancellationToken cancellationToken)
    {
        var signals = new Task[sockets.Count];
        try
        {
            while (true)
            {
                for (int i = 0; i < sockets.Count; i++)
                {
                    signals[i] = sockets[i].InputSignal();
                }

                int ready = FirstReady(sockets);
                if (ready >= 0)
                {
                    return ready;
                }

                await Task.WhenAny(signals).WaitAsync(deadline).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return FirstReady(sockets);
        }
    }

    private static int FirstReady(IReadOnlyList<ZmqSocket> sockets)
    {
        for (int i = 0; i < sockets.Count; i++)
        {
            // A closed socket's input signal is always set: waiting on it would spin.
            ObjectDisposedException.ThrowIf(sockets[i].IsClosing, sockets[i]);
            if (sockets[i].HasPendingMessage)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Synchronous <see cref="WaitAnyAsync"/>.</summary>
    public static int WaitAny(IReadOnlyList<ZmqSocket> sockets, TimeSpan timeout) =>
        WaitAnyAsync(sockets, timeout).AsTask().GetAwaiter().GetResult();
}
