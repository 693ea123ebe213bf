namespace Reliability.Transport.Internal;

/// <summary>
/// A lock-based FIFO with optional capacity and awaitable "readable"/"writable" signals.
/// Built for batching: a consumer drains many items under one lock acquisition, which is where
/// the send loop's throughput comes from. Waiters share one task per direction, so abandoned
/// waits (poller timeouts) never accumulate.
/// </summary>
internal sealed class AsyncQueue<T>
{
    private readonly object _gate = new();
    private readonly Queue<T> _items = new();
    private readonly int _capacity;
    private readonly Func<T, long>? _weigh;
    private readonly long _weightCapacity;
    private long _weight;

    // Each item's weight as it was when queued: an item changed afterwards cannot make the total drift.
    private readonly Queue<long> _weights = new();
    private TaskCompletionSource? _readable;
    private TaskCompletionSource? _writable;
    private bool _completed;

    private readonly TaskCreationOptions _readerContinuations;

    /// <param name="capacity">Maximum items; 0 means unbounded.</param>
    /// <param name="wakeReaderInline">
    /// Run the waiting reader's continuation on the enqueuing thread. Used for a connection's send
    /// loop: the application thread that queued a message then writes it to the socket itself
    /// (usually without blocking) instead of paying a thread-pool hop per message. For a socket's
    /// inbound queue only when the application asked for it (SocketOptions.InlineReceiveContinuations).
    /// </param>
    /// <param name="weigh">What one item weighs (a message's bytes), for <paramref name="weightCapacity"/>; null when only items count.</param>
    /// <param name="weightCapacity">
    /// Total weight at which the queue is full as well (0 = no such limit). One item is always accepted
    /// into a queue below it, so the total may pass it by at most one item.
    /// </param>
    public AsyncQueue(int capacity, bool wakeReaderInline = false, Func<T, long>? weigh = null, long weightCapacity = 0)
    {
        _capacity = capacity;
        _weigh = weightCapacity > 0 ? weigh : null;
        _weightCapacity = weightCapacity;
        _readerContinuations = wakeReaderInline ? TaskCreationOptions.None : TaskCreationOptions.RunContinuationsAsynchronously;
    }

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _items.Count;
            }
        }
    }

    public bool IsCompleted
    {
        get
        {
            lock (_gate)
            {
                return _completed;
            }
        }
    }

    /// <summary>Adds an item unless the queue is full or completed.</summary>
    public bool TryEnqueue(T item) => Enqueue(item, respectCapacity: true);

    /// <summary>Adds an item regardless of capacity (protocol traffic such as subscriptions, which must not be lost); false once completed.</summary>
    public bool ForceEnqueue(T item) => Enqueue(item, respectCapacity: false);

    private bool Enqueue(T item, bool respectCapacity)
    {
        TaskCompletionSource? wake;
        lock (_gate)
        {
            if (_completed || (respectCapacity && IsFull))
            {
                return false;
            }

            _items.Enqueue(item);
            Weigh(item, 1);
            wake = _readable;
            _readable = null;
        }

        wake?.TrySetResult();
        return true;
    }

    /// <summary>
    /// Adds an item regardless of capacity without waking the reader; false once completed. For items
    /// whose order the caller settles under a lock of its own, where an inline reader woken by the
    /// enqueue would run under that lock: the caller calls <see cref="WakeReader"/> after releasing it.
    /// </summary>
    public bool EnqueueWithoutWake(T item)
    {
        lock (_gate)
        {
            if (_completed)
            {
                return false;
            }

            _items.Enqueue(item);
            Weigh(item, 1);
            return true;
        }
    }

    /// <summary>Wakes a waiting reader if there is anything to read (after <see cref="EnqueueWithoutWake"/>).</summary>
    public void WakeReader()
    {
        TaskCompletionSource? wake;
        lock (_gate)
        {
            if (_items.Count == 0)
            {
                return;
            }

            wake = _readable;
            _readable = null;
        }

        wake?.TrySetResult();
    }

    /// <summary>Adds all items regardless of capacity (used for inbound batches; the per-peer credit bounds them).</summary>
    public bool EnqueueRange(List<T> items)
    {
        TaskCompletionSource? wake;
        lock (_gate)
        {
            if (_completed)
            {
                return false;
            }

            foreach (var item in items)
            {
                _items.Enqueue(item);
                Weigh(item, 1);
            }

            wake = _readable;
            _readable = null;
        }

        wake?.TrySetResult();
        return true;
    }

    public bool TryDequeue(out T item)
    {
        TaskCompletionSource? wake;
        lock (_gate)
        {
            if (!_items.TryDequeue(out item!))
            {
                return false;
            }

            Weigh(item, -1);

            wake = _writable;
            _writable = null;
        }

        wake?.TrySetResult();
        return true;
    }

    /// <summary>Moves up to <paramref name="max"/> items into <paramref name="destination"/>; returns how many.</summary>
    public int DrainTo(List<T> destination, int max)
    {
        TaskCompletionSource? wake;
        int moved = 0;
        lock (_gate)
        {
            while (moved < max && _items.TryDequeue(out var item))
            {
                Weigh(item, -1);
                destination.Add(item);
                moved++;
            }

            if (moved == 0)
            {
                return 0;
            }

            wake = _writable;
            _writable = null;
        }

        wake?.TrySetResult();
        return moved;
    }

    /// <summary>Completes when an item is available (true) or the queue is completed and empty (false).</summary>
    public async ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task wait;
            lock (_gate)
            {
                if (_items.Count > 0)
                {
                    return true;
                }

                if (_completed)
                {
                    return false;
                }

                _readable ??= new TaskCompletionSource(_readerContinuations);
                wait = _readable.Task;
            }

            await wait.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>A task that completes on the next enqueue or completion (for polling several queues at once).</summary>
    public Task ReadableSignal()
    {
        lock (_gate)
        {
            if (_items.Count > 0 || _completed)
            {
                return Task.CompletedTask;
            }

            _readable ??= new TaskCompletionSource(_readerContinuations);
            return _readable.Task;
        }
    }

    /// <summary>A task that completes when there is room (or on completion).</summary>
    public Task WritableSignal()
    {
        lock (_gate)
        {
            if (_completed || !IsFull)
            {
                return Task.CompletedTask;
            }

            _writable ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _writable.Task;
        }
    }

    /// <summary>Wakes whoever waits for items without adding one (they re-check their own conditions).</summary>
    public void Poke()
    {
        TaskCompletionSource? wake;
        lock (_gate)
        {
            wake = _readable;
            _readable = null;
        }

        wake?.TrySetResult();
    }

    /// <summary>Refuses further items and wakes every waiter. Items already queued stay readable.</summary>
    public void Complete()
    {
        TaskCompletionSource? readable;
        TaskCompletionSource? writable;
        lock (_gate)
        {
            _completed = true;
            readable = _readable;
            writable = _writable;
            _readable = _writable = null;
        }

        readable?.TrySetResult();
        writable?.TrySetResult();
    }

    /// <summary>Removes every queued item and returns how many there were.</summary>
    public int Clear()
    {
        TaskCompletionSource? wake;
        int count;
        lock (_gate)
        {
            count = _items.Count;
            _items.Clear();
            _weight = 0;
            _weights.Clear();
            wake = _writable;
            _writable = null;
        }

        wake?.TrySetResult();
        return count;
    }

    /// <summary>At the item capacity or the weight capacity; under the lock.</summary>
    private bool IsFull => (_capacity > 0 && _items.Count >= _capacity) || (_weigh is not null && _weight >= _weightCapacity);

    /// <summary>Adds (sign 1) an item's weight, or removes (sign -1) that of the item just dequeued; under the lock.</summary>
    private void Weigh(T item, int sign)
    {
        if (_weigh is null)
        {
            return;
        }

        if (sign > 0)
        {
            long weight = _weigh(item);
            _weights.Enqueue(weight);
            _weight += weight;
        }
        else
        {
            _weight -= _weights.Dequeue();
        }
    }
}
