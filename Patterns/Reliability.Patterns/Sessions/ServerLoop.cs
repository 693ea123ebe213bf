using Reliability.Transport;

namespace Reliability.Patterns.Sessions;

/// <summary>
/// The decisions of a server role that binds its sockets and serves whoever connects (the Majordomo broker,
/// the Paranoid and Simple Pirate queues), with no I/O of its own beyond non-blocking sends:
/// <see cref="ServerLoop"/> owns the waiting, the batching and the timer and calls these members one at a
/// time from its loop, so a core never sees two inputs at once and needs no locks for its own state.
/// </summary>
internal interface IServerCore
{
    /// <summary>How long the loop may wait for input before it must call <see cref="OnPass"/>; <see cref="Timeout.InfiniteTimeSpan"/> when nothing is due.</summary>
    TimeSpan NextDeadlineIn { get; }

    /// <summary>
    /// Called once per pass of the loop, after that pass's input: the core runs whatever of its timers is due
    /// (heartbeats, expiry, retries). Calling it early must be harmless.
    /// </summary>
    void OnPass();

    /// <summary>Whether the input of the loop's socket number <paramref name="socket"/> may be taken now (a queue reads its clients only while a worker is free).</summary>
    bool Accepts(int socket);

    /// <summary>One message or peer event (<see cref="Message.PeerEvent"/>) from the loop's socket number <paramref name="socket"/>.</summary>
    void OnMessage(int socket, Message message);
}

/// <summary>
/// Drives an <see cref="IServerCore"/> over its sockets: waits until one of the sockets the core accepts has
/// input or the core's deadline passes, feeds it everything that has arrived (up to a batch per socket, so a
/// flood cannot delay heartbeats and expiry), then lets the core run its timers — in that order, so that after
/// a stall (GC, SIGSTOP, an overloaded host) the heartbeats waiting in the sockets count before anybody is
/// expired. A core that throws on one input is reported and the loop goes on: a bug on one message must not
/// take the server down for everybody. The loop ends when its token is cancelled.
/// </summary>
internal sealed class ServerLoop
{
    private readonly ZmqSocket[] _sockets;
    private readonly IServerCore _core;
    private readonly int _batch;
    private readonly Action<Exception> _faulted;
    private readonly Action? _afterPass;
    private readonly bool _yieldWhenBusy;
    private readonly List<ZmqSocket> _accepted;
    private readonly List<int> _acceptedIndexes;

    /// <param name="sockets">The core's sockets; <see cref="IServerCore.Accepts"/> and <see cref="IServerCore.OnMessage"/> name them by index, and a pass drains them in this order.</param>
    /// <param name="core">The decisions.</param>
    /// <param name="batch">Messages taken from one socket per pass at most.</param>
    /// <param name="faulted">Told of an exception the core threw (the loop then goes on).</param>
    /// <param name="afterPass">Run at the end of each pass (e.g. to publish counts for other threads); none when null.</param>
    public ServerLoop(IReadOnlyList<ZmqSocket> sockets, IServerCore core, int batch, Action<Exception> faulted, Action? afterPass = null)
    {
        ArgumentOutOfRangeException.ThrowIfZero(sockets.Count);
        ArgumentOutOfRangeException.ThrowIfLessThan(batch, 1);
        _sockets = [.. sockets];
        _core = core;
        _batch = batch;
        _faulted = faulted;
        _afterPass = afterPass;
        _accepted = new List<ZmqSocket>(sockets.Count);
        _acceptedIndexes = new List<int>(sockets.Count);

        // A socket that runs receive continuations inline runs this loop on the I/O thread that delivered the
        // wake-up; that thread's other connections read nothing until the loop lets it go.
        _yieldWhenBusy = _sockets.Any(static s => s.Options.InlineReceiveContinuations);
    }

    /// <summary>Serves until <paramref name="cancellationToken"/> is cancelled; returns normally then (also when a socket is closed under it by the cancelling side).</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            // Bounded by cancellation: every pass waits at most until the core's next deadline.
            while (!cancellationToken.IsCancellationRequested)
            {
                try
                {
                    _core.OnPass();
                }
                catch (Exception ex) when (ex is not OutOfMemoryException)
                {
                    _faulted(ex);
                }

                _afterPass?.Invoke();
                CollectAccepted();
                if (_accepted.Count == 1)
                {
                    // One socket: its own timed receive is the wait, and whatever it brings is the first input.
                    if (await _accepted[0].TryReceiveAsync(_core.NextDeadlineIn, cancellationToken).ConfigureAwait(false) is { } first)
                    {
                        Handle(_acceptedIndexes[0], first);
                    }
                }
                else if (_accepted.Count > 1)
                {
                    await Poller.WaitAnyAsync(_accepted, _core.NextDeadlineIn, cancellationToken).ConfigureAwait(false);
                }
                else
                {
                    await Task.Delay(_core.NextDeadlineIn, _sockets[0].TimeProvider, cancellationToken).ConfigureAwait(false);
                }

                bool drained = true;
                for (int i = 0; i < _sockets.Length; i++)
                {
                    drained &= await DrainAsync(i).ConfigureAwait(false);
                }

                if (!drained && _yieldWhenBusy)
                {
                    await Task.Yield();
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Normal shutdown.
        }
        catch (ObjectDisposedException) when (cancellationToken.IsCancellationRequested)
        {
            // A socket closed under the loop during shutdown.
        }
    }

    private void CollectAccepted()
    {
        _accepted.Clear();
        _acceptedIndexes.Clear();
        for (int i = 0; i < _sockets.Length; i++)
        {
            if (Accepts(i))
            {
                _accepted.Add(_sockets[i]);
                _acceptedIndexes.Add(i);
            }
        }
    }

    /// <summary>Feeds up to one batch of socket <paramref name="index"/>'s input to the core; true when the socket had no more (or the core stopped taking it).</summary>
    private async ValueTask<bool> DrainAsync(int index)
    {
        for (int i = 0; i < _batch; i++)
        {
            if (!Accepts(index))
            {
                return true;
            }

            // A zero timeout completes synchronously.
            var next = _sockets[index].TryReceiveAsync(TimeSpan.Zero, CancellationToken.None);
            var message = next.IsCompletedSuccessfully ? next.Result : await next.ConfigureAwait(false);
            if (message is null)
            {
                return true;
            }

            Handle(index, message);
        }

        return false;
    }

    private bool Accepts(int index)
    {
        try
        {
            return _core.Accepts(index);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _faulted(ex);
            return false;
        }
    }

    private void Handle(int index, Message message)
    {
        try
        {
            _core.OnMessage(index, message);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            _faulted(ex);
        }
    }
}
