namespace Reliability.Transport.Internal;

/// <summary>
/// The socket's end of one peer: a bounded outbound queue (SNDHWM) and inbound credit (RCVHWM).
/// A pipe made by <c>Connect</c> outlives its connections, so messages queued while the peer is
/// away are delivered after a reconnect (libzmq behaviour); a pipe from an accepted connection
/// dies with it.
/// </summary>
internal sealed class Pipe
{
    private static long s_nextId;
    private readonly int _receiveHighWaterMark;
    private readonly object _creditGate = new();
    private int _inboundPending;
    private int _paused;
    private TaskCompletionSource? _creditWaiter;

    public Pipe(string endpoint, bool isConnectSide, int sendHighWaterMark, int receiveHighWaterMark, long sendHighWaterMarkBytes = 0)
    {
        Endpoint = endpoint;
        IsConnectSide = isConnectSide;
        Outbound = new AsyncQueue<Message>(sendHighWaterMark, wakeReaderInline: true, static message => message.TotalLength, sendHighWaterMarkBytes);
        _receiveHighWaterMark = receiveHighWaterMark;
        Id = Interlocked.Increment(ref s_nextId);
    }

    public long Id { get; }

    /// <summary>Remote endpoint (accepted) or the endpoint given to Connect.</summary>
    public string Endpoint { get; }

    public bool IsConnectSide { get; }

    public AsyncQueue<Message> Outbound { get; }

    /// <summary>The peer's routing id on a ROUTER (its Identity or a generated id); empty elsewhere.</summary>
    public ReadOnlyMemory<byte> RoutingId { get; set; }

    /// <summary>
    /// ROUTER: a Connected peer event was queued for this pipe's current peer and no Disconnected yet
    /// (guarded by the router's routing lock, so each arrival gets exactly one departure).
    /// </summary>
    public bool PeerAnnounced { get; set; }

    /// <summary>Who the current peer authenticated as (<see cref="Message.UserId"/>); null when it did not.</summary>
    public string? UserId { get; set; }

    /// <summary>The ZMTP minor version the current peer announced (0 = 3.0, 1 = 3.1).</summary>
    public byte PeerMinor { get; set; }

    /// <summary>The live connection, or null while a connecting pipe waits for its peer.</summary>
    public volatile IPeerConnection? Connection;

    /// <summary>Set once the pipe is removed from its socket for good.</summary>
    public volatile bool IsTerminated;

    /// <summary>Counts messages handed to the socket's inbound queue and not yet received by the application.</summary>
    public void AddInbound(int count)
    {
        Interlocked.Add(ref _inboundPending, count);
    }

    /// <summary>The application took one of this pipe's messages; wakes the receive loop if it waits for credit.</summary>
    public void ReleaseInbound()
    {
        int pending = Interlocked.Decrement(ref _inboundPending);

        // Resume a waiting receive loop only at the low-water mark (half the HWM, as libzmq does),
        // so the decoder and the application do not wake each other for every message.
        if (_receiveHighWaterMark > 0 && pending <= _receiveHighWaterMark / 2)
        {
            WakeCreditWaiter();
        }
    }

    /// <summary>Whether the application asked to stop reading from this peer (<see cref="PauseInbound"/>).</summary>
    public bool IsInboundPaused => Volatile.Read(ref _paused) != 0;

    /// <summary>
    /// Stops taking this peer's messages off its connection until <see cref="ResumeInbound"/>: the connection's
    /// reader waits as it does at the RCVHWM, so the peer's sends back up into TCP (flow control for queues).
    /// </summary>
    public void PauseInbound() => Interlocked.Exchange(ref _paused, 1);

    /// <summary>Takes this peer's messages again after <see cref="PauseInbound"/>.</summary>
    public void ResumeInbound()
    {
        // A full fence before looking for the waiter, as in ReleaseInbound: no lost wake-up.
        if (Interlocked.Exchange(ref _paused, 0) != 0)
        {
            WakeCreditWaiter();
        }
    }

    /// <summary>How many more messages the application accepts from this peer now: none while paused, else up to its RCVHWM (int.MaxValue without a limit).</summary>
    public int InboundCredit =>
        IsInboundPaused ? 0
        : _receiveHighWaterMark > 0 ? _receiveHighWaterMark - Volatile.Read(ref _inboundPending)
        : int.MaxValue;

    /// <summary>Whether the connection's reader must wait: paused, or the per-peer RCVHWM is reached.</summary>
    private bool InboundBlocked => IsInboundPaused || (_receiveHighWaterMark > 0 && Volatile.Read(ref _inboundPending) >= _receiveHighWaterMark);

    /// <summary>Waits until the application has room for more of this peer's messages (per-peer RCVHWM) and has not paused it.</summary>
    public async ValueTask WaitForInboundCreditAsync(CancellationToken cancellationToken)
    {
        while (InboundBlocked)
        {
            Task wait;
            lock (_creditGate)
            {
                var waiter = _creditWaiter ?? new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

                // Publish the waiter with a full fence, then look at the count again. ReleaseInbound
                // decrements (a full fence) and then looks for a waiter without taking the lock, so
                // either it sees this waiter or this re-check sees its decrement: no lost wake-up.
                Interlocked.Exchange(ref _creditWaiter, waiter);
                if (!InboundBlocked)
                {
                    _creditWaiter = null;
                    return;
                }

                wait = waiter.Task;
            }

            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private void WakeCreditWaiter()
    {
        if (Volatile.Read(ref _creditWaiter) is null)
        {
            return;
        }

        TaskCompletionSource? waiter;
        lock (_creditGate)
        {
            waiter = _creditWaiter;
            _creditWaiter = null;
        }

        waiter?.TrySetResult();
    }

    public override string ToString() => $"pipe#{Id} {Endpoint}";
}

/// <summary>One inbound message and the pipe it came from.</summary>
internal readonly record struct Delivery(Pipe Pipe, Message Message);
