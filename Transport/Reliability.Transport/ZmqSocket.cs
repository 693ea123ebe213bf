using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Reliability.Transport.Internal;
using Reliability.Transport.Zmtp;

namespace Reliability.Transport;

/// <summary>
/// Base of every socket type: endpoints, connections, queues and the send/receive API.
/// Each derived type is a routing strategy over the set of peer pipes.
/// A socket may be used from several tasks for sending and receiving (its state is locked), but
/// REQ and REP alternate strictly, so they are normally used by one logical caller.
/// </summary>
public abstract partial class ZmqSocket : IAsyncDisposable, IDisposable
{
    private readonly object _gate = new();
    private readonly object _receiveGate = new();
    private readonly CancellationTokenSource _lifetime = new();
    private readonly AsyncQueue<Delivery> _inbound;
    private readonly List<Pipe> _loadBalanced = [];
    private readonly HashSet<Pipe> _allPipes = [];
    private readonly HashSet<Task> _tasks = [];
    private readonly List<Listener> _listeners = [];
    private readonly Dictionary<string, Connector> _connectors = new(StringComparer.Ordinal);
    private TaskCompletionSource? _pipesChanged;
    private const int ReceiveBatch = 256;
    private readonly List<Delivery> _drained = new(ReceiveBatch);
    private int _drainedIndex;
    private Message? _prefetched;
    private int _roundRobin;
    private volatile bool _closing;
    private Task? _disposal;

    /// <summary>Creates the socket. Options are validated here (all problems reported together).</summary>
    private protected ZmqSocket(SocketType type, SocketOptions? options, ILoggerFactory? loggerFactory, TimeProvider? timeProvider)
    {
        options ??= SocketOptions.Default;
        options.Validate();
        if (options.ReceivePeerEvents && type is not (SocketType.Router or SocketType.Dealer))
        {
            throw new ArgumentException($"ReceivePeerEvents applies to ROUTER and DEALER sockets only, not {type}.", nameof(options));
        }

        Type = type;
        Options = options;
        _inbound = new AsyncQueue<Delivery>(0, wakeReaderInline: options.InlineReceiveContinuations);
        TimeProvider = timeProvider ?? TimeProvider.System;
        Logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Reliability.Transport." + type + "Socket");
    }

    /// <summary>This socket's type.</summary>
    public SocketType Type { get; }

    /// <summary>The settings this socket was created with.</summary>
    public SocketOptions Options { get; }

    /// <summary>The endpoint of the most recent successful <see cref="Bind"/>, with the actual port.</summary>
    public string? LastEndpoint { get; private set; }

    /// <summary>
    /// Connection and endpoint events (listening, accepted, connected, handshake succeeded/failed,
    /// disconnected, retried). Raised on I/O threads: keep handlers short and non-blocking.
    /// </summary>
    public event EventHandler<SocketEvent>? EventRaised;

    internal TimeProvider TimeProvider { get; }

    internal ILogger Logger { get; }

    internal CancellationToken Lifetime => _lifetime.Token;

    internal bool IsClosing => _closing;

    /// <summary>Sends a message, waiting as the socket type requires, up to <see cref="SocketOptions.SendTimeout"/>.</summary>
    /// <exception cref="TimeoutException">The send timeout elapsed.</exception>
    /// <exception cref="SocketStateException">The socket type does not allow a send now (REQ/REP alternation).</exception>
    /// <exception cref="HostUnreachableException">ROUTER with <see cref="SocketOptions.RouterMandatory"/>: no such peer.</exception>
    public async ValueTask SendAsync(Message message, CancellationToken cancellationToken = default)
    {
        if (!await TrySendAsync(message, Options.SendTimeout, cancellationToken).ConfigureAwait(false))
        {
            throw new TimeoutException($"{Type} send did not complete within {Options.SendTimeout.TotalMilliseconds} ms.");
        }
    }

    /// <summary>Sends a message, waiting at most <paramref name="timeout"/> (zero = do not wait). Returns false on timeout.</summary>
    public ValueTask<bool> TrySendAsync(Message message, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        ThrowIfDisposed();
        if (message.Count == 0)
        {
            throw new ArgumentException("A message needs at least one frame.", nameof(message));
        }

        message = PrepareOutgoing(message);
        if (TryRoute(message))
        {
            OnSent();
            return new ValueTask<bool>(true);
        }

        if (timeout == TimeSpan.Zero)
        {
            return new ValueTask<bool>(false);
        }

        return SendSlowAsync(message, timeout, cancellationToken);
    }

    private async ValueTask<bool> SendSlowAsync(Message message, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = new Deadline(timeout, TimeProvider, cancellationToken, _lifetime.Token);
        try
        {
            while (true)
            {
                ThrowIfDisposed();
                await SendableSignal().WaitAsync(deadline.Token).ConfigureAwait(false);
                if (TryRoute(message))
                {
                    OnSent();
                    return true;
                }
            }
        }
        catch (OperationCanceledException) when (deadline.Expired && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
        catch (OperationCanceledException) when (_closing && !cancellationToken.IsCancellationRequested)
        {
            throw new ObjectDisposedException(ToString(), "The socket was closed while waiting.");
        }
    }

    /// <summary>Receives the next message, waiting up to <see cref="SocketOptions.ReceiveTimeout"/>.</summary>
    /// <exception cref="TimeoutException">The receive timeout elapsed.</exception>
    /// <exception cref="SocketStateException">The socket type does not allow a receive now (REQ/REP alternation).</exception>
    public async ValueTask<Message> ReceiveAsync(CancellationToken cancellationToken = default)
    {
        return await TryReceiveAsync(Options.ReceiveTimeout, cancellationToken).ConfigureAwait(false)
            ?? throw new TimeoutException($"{Type} receive did not complete within {Options.ReceiveTimeout.TotalMilliseconds} ms.");
    }

    /// <summary>Receives the next message, waiting at most <paramref name="timeout"/> (zero = do not wait). Returns null on timeout.</summary>
    public ValueTask<Message?> TryReceiveAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        CheckCanReceive();
        if (TryTakeInbound(out var message))
        {
            return new ValueTask<Message?>(message);
        }

        ThrowIfDisposed();
        if (timeout == TimeSpan.Zero)
        {
            return new ValueTask<Message?>((Message?)null);
        }

        return ReceiveSlowAsync(timeout, cancellationToken);
    }

    private async ValueTask<Message?> ReceiveSlowAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (timeout == Timeout.InfiniteTimeSpan)
        {
            // The common case: no timer and no linked token source. Closing completes the inbound
            // queue, which wakes this wait.
            while (true)
            {
                var signal = _inbound.ReadableSignal();
                await (cancellationToken.CanBeCanceled ? signal.WaitAsync(cancellationToken) : signal).ConfigureAwait(false);
                if (TryTakeInbound(out var message))
                {
                    return message;
                }

                ThrowIfDisposed();
            }
        }

        using var deadline = new Deadline(timeout, TimeProvider, cancellationToken, _lifetime.Token);
        try
        {
            while (true)
            {
                await _inbound.ReadableSignal().WaitAsync(deadline.Token).ConfigureAwait(false);
                if (TryTakeInbound(out var message))
                {
                    return message;
                }

                ThrowIfDisposed();
            }
        }
        catch (OperationCanceledException) when (deadline.Expired && !cancellationToken.IsCancellationRequested)
        {
            return null;
        }
        catch (OperationCanceledException) when (_closing && !cancellationToken.IsCancellationRequested)
        {
            throw new ObjectDisposedException(ToString(), "The socket was closed while waiting.");
        }
    }

    /// <summary>Synchronous <see cref="SendAsync"/>.</summary>
    public void Send(Message message)
    {
        var pending = SendAsync(message);
        if (!pending.IsCompletedSuccessfully)
        {
            pending.AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>Synchronous <see cref="ReceiveAsync"/>.</summary>
    public Message Receive()
    {
        var pending = ReceiveAsync();
        return pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
    }

    /// <summary>Synchronous <see cref="TrySendAsync"/>.</summary>
    public bool TrySend(Message message, TimeSpan timeout)
    {
        var pending = TrySendAsync(message, timeout);
        return pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
    }

    /// <summary>Synchronous <see cref="TryReceiveAsync"/>.</summary>
    public bool TryReceive(TimeSpan timeout, out Message? message)
    {
        var pending = TryReceiveAsync(timeout);
        message = pending.IsCompletedSuccessfully ? pending.Result : pending.AsTask().GetAwaiter().GetResult();
        return message is not null;
    }

    /// <summary>Whether a message can be received right now without waiting.</summary>
    public bool HasPendingMessage
    {
        get
        {
            lock (_receiveGate)
            {
                if (_prefetched is null && TryAcceptNext(out var accepted))
                {
                    _prefetched = accepted;
                }

                return _prefetched is not null;
            }
        }
    }

    /// <summary>A task that completes when new input may have arrived (used by <see cref="Poller"/>).</summary>
    internal Task InputSignal() => _inbound.ReadableSignal();

    private bool TryTakeInbound(out Message message)
    {
        lock (_receiveGate)
        {
            if (_prefetched is not null)
            {
                message = _prefetched;
                _prefetched = null;
                return true;
            }

            return TryAcceptNext(out message);
        }
    }

    /// <summary>
    /// Takes the next delivery the socket type accepts. Deliveries are moved from the shared queue
    /// in batches, so the application pays one queue lock per batch rather than per message.
    /// Caller holds <c>_receiveGate</c>.
    /// </summary>
    private bool TryAcceptNext(out Message message)
    {
        while (true)
        {
            if (_drainedIndex == _drained.Count)
            {
                _drained.Clear();
                _drainedIndex = 0;
                if (_inbound.DrainTo(_drained, ReceiveBatch) == 0)
                {
                    message = null!;
                    return false;
                }
            }

            var delivery = _drained[_drainedIndex];
            _drained[_drainedIndex++] = default;
            delivery.Pipe.ReleaseInbound();
            var accepted = FilterIncoming(delivery.Pipe, delivery.Message);
            if (accepted is not null)
            {
                accepted.UserId = delivery.Pipe.UserId;
                message = accepted;
                return true;
            }
        }
    }

    // ---- strategy hooks -------------------------------------------------------------------

    /// <summary>Validates the socket state and adds envelope frames; called once per send.</summary>
    private protected virtual Message PrepareOutgoing(Message message) => message;

    /// <summary>Tries to hand the message to a pipe without waiting. False = would block.</summary>
    private protected abstract bool TryRoute(Message message);

    /// <summary>Completes when a blocked <see cref="TryRoute"/> may succeed.</summary>
    private protected virtual Task SendableSignal() => LoadBalanceSignal();

    /// <summary>Called after a message was routed.</summary>
    private protected virtual void OnSent()
    {
    }

    /// <summary>Throws when the socket type does not allow a receive now.</summary>
    private protected virtual void CheckCanReceive()
    {
    }

    /// <summary>Transforms an inbound message for the application, or returns null to drop it.</summary>
    private protected virtual Message? FilterIncoming(Pipe pipe, Message message) => message;

    /// <summary>Called after each successful handshake, before traffic flows. A non-null error refuses the connection.</summary>
    private protected virtual ProtocolError? OnPeerReady(Pipe pipe, byte[] peerIdentity) => null;

    /// <summary>Called after each connection of a pipe ends.</summary>
    private protected virtual void OnPeerGone(Pipe pipe)
    {
    }

    /// <summary>Whether <see cref="InterceptInbound"/> must see every inbound message (publishers).</summary>
    internal virtual bool InterceptsInbound => false;

    /// <summary>Lets a socket type consume an inbound message on the I/O thread; true = consumed.</summary>
    internal virtual bool InterceptInbound(Pipe pipe, Message message) => false;

    /// <summary>A peer sent SUBSCRIBE or CANCEL (ZMTP 3.1). Ignored except by publishers.</summary>
    internal virtual void OnPeerSubscription(Pipe pipe, bool subscribe, ReadOnlySpan<byte> topic)
    {
    }

    /// <summary>
    /// Hands a SUBSCRIBE or CANCEL command (already split into name and data) to <see cref="OnPeerSubscription"/>;
    /// false for any other command. Shared by the ZMTP and the inproc connections.
    /// </summary>
    internal bool TryHandleSubscriptionCommand(Pipe pipe, ReadOnlySpan<byte> name, ReadOnlySpan<byte> data)
    {
        bool subscribe = name.SequenceEqual(Commands.SubscribeName);
        if (!subscribe && !name.SequenceEqual(Commands.CancelName))
        {
            return false;
        }

        OnPeerSubscription(pipe, subscribe, data);
        return true;
    }

    /// <summary>Queues a message for the application as if a peer had sent it (XPUB subscription notices).</summary>
    private protected void DeliverLocal(Pipe pipe, Message message)
    {
        pipe.AddInbound(1);
        if (!_inbound.TryEnqueue(new Delivery(pipe, message)))
        {
            pipe.ReleaseInbound();
        }
    }

    /// <summary>
    /// Queues a peer event for the application, if it asked for them, without waking the receiver: the
    /// caller may hold the lock that orders its peer events, and calls <see cref="WakeReceiver"/> after it.
    /// </summary>
    private protected void QueuePeerEvent(Pipe pipe, PeerEventKind kind)
    {
        if (!Options.ReceivePeerEvents)
        {
            return;
        }

        // Counted against the pipe like its messages: taking any delivery releases one unit of credit.
        pipe.AddInbound(1);
        if (!_inbound.EnqueueWithoutWake(new Delivery(pipe, Message.ForPeerEvent(kind, pipe.RoutingId))))
        {
            pipe.ReleaseInbound();
        }
    }

    /// <summary>Wakes a receiver waiting for the peer events queued by <see cref="QueuePeerEvent"/>.</summary>
    private protected void WakeReceiver()
    {
        if (Options.ReceivePeerEvents)
        {
            _inbound.WakeReader();
        }
    }

    /// <summary>Called by a connection's receive loop with a batch of complete messages.</summary>
    /// <remarks>
    /// Never inlined, so it stays a frame in stack traces: code that runs inline on delivery (with
    /// <see cref="SocketOptions.InlineReceiveContinuations"/>) is recognisable by it, which the tests of
    /// the inline options rely on. Tier-1 code inlined this small method into the decode loop once it
    /// was hot, and a test then saw no request handled inline although all were. One call per batch.
    /// </remarks>
    [MethodImpl(MethodImplOptions.NoInlining)]
    internal void DeliverInbound(Pipe pipe, List<Delivery> batch)
    {
        pipe.AddInbound(batch.Count);
        if (!_inbound.EnqueueRange(batch))
        {
            TransportMetrics.Dropped(Type, "closed", batch.Count);
        }
    }

    /// <summary>Counts and logs a dropped message.</summary>
    private protected void Drop(string reason)
    {
        TransportMetrics.Dropped(Type, reason);
        Log.MessageDropped(Logger, Type, reason);
    }

    internal void Raise(SocketEvent socketEvent)
    {
        if (Volatile.Read(ref _monitorStopped) == 0)
        {
            InvokeHandler(socketEvent);
        }
    }

    private void InvokeHandler(SocketEvent socketEvent)
    {
        var handler = EventRaised;
        if (handler is null)
        {
            return;
        }

        try
        {
            handler(this, socketEvent);
        }
        catch (Exception ex)
        {
            Log.EventHandlerFailed(Logger, Type, ex);
        }
    }

    private protected void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(_closing, this);

    private void Track(Task task)
    {
        lock (_gate)
        {
            _tasks.Add(task);
        }

        task.ContinueWith(
            (t, state) =>
            {
                var self = (ZmqSocket)state!;
                lock (self._gate)
                {
                    self._tasks.Remove(t);
                }
            },
            this,
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <inheritdoc />
    public override string ToString() => $"{Type} socket{(LastEndpoint is null ? string.Empty : " on " + LastEndpoint)}";
}
