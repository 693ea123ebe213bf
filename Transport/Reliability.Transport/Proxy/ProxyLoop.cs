namespace Reliability.Transport;

/// <summary>One way through the proxy and the message (if any) it is holding.</summary>
internal sealed class ProxyDirection(ZmqSocket from, ZmqSocket to, bool frontendToBackend)
{
    public ZmqSocket From { get; } = from;

    public ZmqSocket To { get; } = to;

    public bool FrontendToBackend { get; } = frontendToBackend;

    /// <summary>Received while a pause began: delivered first after resume.</summary>
    public Message? Held { get; set; }

    public long HeldBytes { get; set; }

    /// <summary>A send the destination could not take at once, waiting for room (or a peer).</summary>
    public Task<bool>? InFlight { get; set; }

    public long InFlightBytes { get; set; }
}

/// <summary>
/// The proxy's single loop: drain what is ready on each direction, then wait for input on the sources
/// of directions that can move, or for a blocked send to go through, whichever comes first.
/// </summary>
internal sealed class ProxyLoop
{
    /// <summary>
    /// Messages one direction moves before the other gets its turn: large enough that the per-wake cost
    /// is spread over many messages, small enough that a busy direction does not starve the other.
    /// </summary>
    private const int MaxBatch = 256;

    private readonly ProxyDirection[] _directions;
    private readonly ZmqSocket[] _sources;
    private readonly ZmqSocket? _capture;
    private readonly ProxyControl _control;
    private readonly bool _ownsControl;
    private readonly CancellationToken _cancellationToken;
    private readonly List<ZmqSocket> _pollable = new(2);
    private readonly List<Task> _waits = new(3);

    public ProxyLoop(ProxyDirection[] directions, ZmqSocket? capture, ProxyControl control, bool ownsControl, CancellationToken cancellationToken)
    {
        _directions = directions;
        _sources = [.. directions.Select(d => d.From)];
        _capture = capture;
        _control = control;
        _ownsControl = ownsControl;
        _cancellationToken = cancellationToken;
    }

    public async Task RunAsync()
    {
        using var run = CancellationTokenSource.CreateLinkedTokenSource(_cancellationToken, _control.TerminationToken);
        var token = run.Token;
        try
        {
            // Unbounded by design: the proxy runs until terminated, cancelled or a socket fails.
            while (true)
            {
                token.ThrowIfCancellationRequested();
                if (_control.IsPaused)
                {
                    await _control.ResumedSignal().WaitAsync(token).ConfigureAwait(false);
                    continue;
                }

                int moved = 0;
                foreach (var direction in _directions)
                {
                    moved += await PumpAsync(direction, token).ConfigureAwait(false);
                }

                // Paused mid-round, or a held message that a resume in between released: go round
                // again (the top of the loop waits for the resume) instead of waiting for input.
                if (moved == 0 && !_control.IsPaused && !HasHeld())
                {
                    await WaitAsync(token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (_control.IsTerminated && !_cancellationToken.IsCancellationRequested)
        {
            // Terminate: a normal end.
        }
        finally
        {
            // A send still waiting for room would otherwise wait forever after a socket failure.
            await run.CancelAsync().ConfigureAwait(false);
            await ObserveInFlightAsync().ConfigureAwait(false);
            _control.Detach();
            if (_ownsControl)
            {
                _control.Dispose();
            }
        }
    }

    private bool HasHeld()
    {
        foreach (var direction in _directions)
        {
            if (direction.Held is not null)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Moves up to <see cref="MaxBatch"/> messages one way without waiting; returns how many.</summary>
    private async ValueTask<int> PumpAsync(ProxyDirection direction, CancellationToken token)
    {
        int moved = 0;
        if (direction.InFlight is { } inFlight)
        {
            if (!inFlight.IsCompleted)
            {
                return 0;
            }

            direction.InFlight = null;

            // With an infinite timeout the send either went through or threw.
            await inFlight.ConfigureAwait(false);
            _control.CountForwarded(direction.FrontendToBackend, direction.InFlightBytes);
            moved++;
        }

        while (moved < MaxBatch)
        {
            Message message;
            long bytes;
            if (direction.Held is { } held)
            {
                message = held;
                bytes = direction.HeldBytes;
                direction.Held = null;
            }
            else
            {
                if (_control.IsPaused)
                {
                    break;
                }

                var received = await direction.From.TryReceiveAsync(TimeSpan.Zero, token).ConfigureAwait(false);
                if (received is null)
                {
                    break;
                }

                message = received;
                bytes = message.TotalLength;
                await CaptureAsync(message).ConfigureAwait(false);

                // Checked again after the receive so that a message arriving after Pause() returned
                // is never forwarded before Resume(), whatever point the loop had reached.
                if (_control.IsPaused)
                {
                    direction.Held = message;
                    direction.HeldBytes = bytes;
                    break;
                }
            }

            // Zero timeout: a full destination must not stall the other direction. A refused send
            // leaves the message as it was for the socket types a proxy accepts (ROUTER restores the
            // routing id it popped; REQ, which adds a delimiter per attempt, is rejected up front), so
            // the same message can wait for room in the background.
            if (!await direction.To.TrySendAsync(message, TimeSpan.Zero, token).ConfigureAwait(false))
            {
                direction.InFlight = direction.To.TrySendAsync(message, Timeout.InfiniteTimeSpan, token).AsTask();
                direction.InFlightBytes = bytes;
                if (direction.InFlight.IsCompletedSuccessfully)
                {
                    direction.InFlight = null;
                    _control.CountForwarded(direction.FrontendToBackend, bytes);
                    moved++;
                    continue;
                }

                break;
            }

            _control.CountForwarded(direction.FrontendToBackend, bytes);
            moved++;
        }

        return moved;
    }

    /// <summary>A copy for the capture socket, never waiting: dropped and counted when it has no room.</summary>
    private async ValueTask CaptureAsync(Message message)
    {
        if (_capture is null)
        {
            return;
        }

        // The destination may rewrite the message in place (ROUTER pops the routing id), so the
        // capture gets its own frame list; the frame memory itself is shared, never copied.
        // A zero-timeout send completes synchronously, so this await never waits.
        _control.CountCapture(await _capture.TrySendAsync(message.Clone(), TimeSpan.Zero, CancellationToken.None).ConfigureAwait(false));
    }

    /// <summary>Waits until a source of a direction that can move has input, or a blocked send completes.</summary>
    private async ValueTask WaitAsync(CancellationToken token)
    {
        _pollable.Clear();
        _waits.Clear();
        foreach (var direction in _directions)
        {
            if (direction.InFlight is { } inFlight)
            {
                _waits.Add(inFlight);
            }
            else
            {
                _pollable.Add(direction.From);
            }
        }

        if (_waits.Count == 0)
        {
            // The common case: nothing blocked, wait for input on every source.
            await Poller.WaitAnyAsync(_sources, Timeout.InfiniteTimeSpan, token).ConfigureAwait(false);
            return;
        }

        if (_pollable.Count == 0)
        {
            await Task.WhenAny(_waits).WaitAsync(token).ConfigureAwait(false);
            return;
        }

        // Blocked one way, open the other: whichever happens first ends the wait. The poll gets its
        // own token so it can be stopped when the send wins.
        using var either = CancellationTokenSource.CreateLinkedTokenSource(token);
        var poll = Poller.WaitAnyAsync(_pollable, Timeout.InfiniteTimeSpan, either.Token).AsTask();
        _waits.Add(poll);
        await Task.WhenAny(_waits).ConfigureAwait(false);
        await either.CancelAsync().ConfigureAwait(false);
        try
        {
            await poll.ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!token.IsCancellationRequested)
        {
            // Stopped because the blocked send went through.
        }
    }

    /// <summary>Sends still waiting when the loop ends are cancelled with it; their outcome is observed, not reported.</summary>
    private async ValueTask ObserveInFlightAsync()
    {
        foreach (var direction in _directions)
        {
            if (direction.InFlight is { } inFlight)
            {
                direction.InFlight = null;
                try
                {
                    await inFlight.ConfigureAwait(false);
                }
                catch (Exception)
                {
                    // Cancelled with the run, or the socket was closed: the loop's own outcome says why.
                }
            }
        }
    }
}
