using Reliability.Transport.Zmtp;

namespace Reliability.Transport.Internal;

/// <summary>
/// An in-process link between a connecting socket's pipe and a bound socket's pipe: no bytes, no
/// ZMTP. Two movers hand <see cref="Message"/> objects from one pipe's outbound queue straight to
/// the other socket's inbound queue, each taking only as many as the receiving pipe has credit for,
/// so a direction holds at most the sender's SNDHWM plus the receiver's RCVHWM (libzmq's inproc
/// pipe). Subscription commands become <see cref="ZmqSocket.OnPeerSubscription"/> calls.
/// </summary>
internal sealed class InprocConnection : IPeerConnection
{
    private const int MaxBatch = 256;

    /// <summary>
    /// Moves closer together than this count as a stream and are batched on the thread pool, as the tcp send
    /// loop does; shorter than tcp's gap, because an in-process round trip (about 8 us) must stay inline.
    /// </summary>
    private static readonly TimeSpan StreamGap = TimeSpan.FromMicroseconds(4);

    private readonly ZmqSocket _connecter;
    private readonly Pipe _connectPipe;
    private readonly ZmqSocket _binder;
    private readonly Pipe _bindPipe;
    private readonly CancellationTokenSource _stop = new();

    // Completions run on the thread pool: an inline mover must never run the end-of-connection path
    // (and its event handlers) on the application thread that happened to send the last message.
    private readonly TaskCompletionSource<ConnectionEnd> _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _started;
    private int _disposed;

    public InprocConnection(string endpoint, ZmqSocket connecter, Pipe connectPipe, ZmqSocket binder, Pipe bindPipe)
    {
        RemoteEndpoint = endpoint;
        _connecter = connecter;
        _connectPipe = connectPipe;
        _binder = binder;
        _bindPipe = bindPipe;
    }

    public string RemoteEndpoint { get; }

    /// <summary>Completes once the link is down: either side closed its pipe, or <see cref="Dispose"/>.</summary>
    public Task<ConnectionEnd> Completion => _completion.Task;

    /// <summary>Starts both movers; messages already queued on either side flow at once.</summary>
    public void Start()
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            return;
        }

        _ = RunAsync();
    }

    private async Task RunAsync()
    {
        var token = _stop.Token;
        var toBinder = MoveAsync(_connectPipe, _binder, _bindPipe, ClonesOnDelivery(_connecter.Type), "the connecting socket closed", token);
        var toConnecter = MoveAsync(_bindPipe, _connecter, _connectPipe, ClonesOnDelivery(_binder.Type), "the bound socket closed", token);
        var first = await Task.WhenAny(toBinder, toConnecter).ConfigureAwait(false);
        _stop.Cancel();
        var outcome = await first.ConfigureAwait(false);
        await (first == toBinder ? toConnecter : toBinder).ConfigureAwait(false);
        _completion.TrySetResult(outcome);
    }

    /// <summary>
    /// Fan-out sockets queue one message object on several pipes; each receiver gets its own frame
    /// list (frames stay shared, they are read-only) because socket types edit envelopes in place.
    /// </summary>
    private static bool ClonesOnDelivery(SocketType sender) => sender is SocketType.Pub or SocketType.XPub or SocketType.XSub;

    /// <summary>
    /// Moves messages from <paramref name="source"/> to <paramref name="target"/> until the source
    /// queue is completed and empty (its socket closed: a graceful end) or the link is stopped.
    /// The source queue wakes its reader inline, so a message usually crosses on the sender's own
    /// thread with no hop; the mover never holds a message across a wait, so stopping loses none.
    /// </summary>
    private static async Task<ConnectionEnd> MoveAsync(Pipe source, ZmqSocket target, Pipe destination, bool clone, string closedReason, CancellationToken token)
    {
        var batch = new List<Message>(MaxBatch);
        var deliveries = new List<Delivery>(MaxBatch);
        bool intercepts = target.InterceptsInbound;
        bool targetRunsInline = target.Options.InlineReceiveContinuations;
        var time = target.TimeProvider;
        long lastMove = 0;
        try
        {
            using var wake = token.Register(static p => ((Pipe)p!).Outbound.Poke(), source);
            while (true)
            {
                token.ThrowIfCancellationRequested();
                int credit = destination.InboundCredit;
                if (credit <= 0)
                {
                    await destination.WaitForInboundCreditAsync(token).ConfigureAwait(false);
                    continue;
                }

                if (source.Outbound.DrainTo(batch, Math.Min(credit, MaxBatch)) == 0)
                {
                    if (source.Outbound.IsCompleted && source.Outbound.Count == 0)
                    {
                        return new ConnectionEnd(closedReason, null, null);
                    }

                    // The signal first, then the token: a stop that pokes before the signal exists
                    // would otherwise be lost, and this mover would wait for good.
                    var readable = source.Outbound.ReadableSignal();
                    token.ThrowIfCancellationRequested();
                    await readable.ConfigureAwait(false);
                    if (targetRunsInline || time.GetElapsedTime(lastMove) < StreamGap)
                    {
                        // Woken inline, this is the sender's thread, possibly inside its socket's lock; a
                        // receiver that resumes inline must resume on a thread of ours, as it would on a
                        // tcp receive loop, never on the sender's. And when messages follow each other
                        // closely, moving each one on its own wakes the receiver once per message: on
                        // the thread pool, the sender runs on and the next move takes a batch.
                        await Task.CompletedTask.ConfigureAwait(ConfigureAwaitOptions.ForceYielding);
                    }

                    continue;
                }

                foreach (var message in batch)
                {
                    if (message.IsCommand)
                    {
                        HandleCommand(target, destination, message[0].Span);
                        continue;
                    }

                    var delivered = clone ? message.Clone() : message;
                    if (!(intercepts && target.InterceptInbound(destination, delivered)))
                    {
                        deliveries.Add(new Delivery(destination, delivered));
                    }
                }

                if (deliveries.Count > 0)
                {
                    target.DeliverInbound(destination, deliveries);
                    TransportMetrics.MessagesReceived.Add(deliveries.Count);
                    deliveries.Clear();
                }

                TransportMetrics.MessagesSent.Add(batch.Count);
                batch.Clear();
                lastMove = time.GetTimestamp();
            }
        }
        catch (OperationCanceledException ex)
        {
            return new ConnectionEnd("closed", null, ex);
        }
    }

    /// <summary>SUBSCRIBE and CANCEL as the ZMTP receive loop treats them; other commands mean nothing in-process.</summary>
    private static void HandleCommand(ZmqSocket target, Pipe destination, ReadOnlySpan<byte> body)
    {
        if (Commands.TrySplit(body, out var name, out var data))
        {
            target.TryHandleSubscriptionCommand(destination, name, data);
        }
    }

    /// <summary>Stops both movers; messages still queued stay in their pipes.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _stop.Cancel();
        if (Volatile.Read(ref _started) == 0)
        {
            _completion.TrySetResult(new ConnectionEnd("closed", null, null));
        }
    }
}
