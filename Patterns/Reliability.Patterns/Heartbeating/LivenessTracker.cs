using System.Runtime.InteropServices;

namespace Reliability.Patterns.Heartbeating;

/// <summary>
/// Expiry deadlines for many peers (the workers of a queue or broker), each refreshed by any
/// inbound message. <see cref="CollectExpired"/> finds every expired peer wherever it sits, so
/// an expired worker behind a live one is never missed (zguide#91), and busy workers are tracked
/// like idle ones (majordomo#45): the tracker knows nothing of worker states.
/// </summary>
/// <remarks>
/// <para>A dictionary holds each peer's current deadline; a priority queue ordered by deadline
/// holds one entry per peer whose priority may be older than the current deadline.
/// <see cref="Touch"/> only updates the dictionary entry (O(1), no allocation for a known peer);
/// a stale queue entry is re-ranked when it reaches the head. Removed peers leave entries that are
/// skipped when popped, and the queue is rebuilt when they outnumber the live ones.</para>
/// <para>Not thread-safe: owned by the loop that receives the peers' messages. Timestamps are in
/// <see cref="TimeProvider.GetTimestamp"/> units of the injected clock.</para>
/// </remarks>
/// <typeparam name="TKey">Peer id, e.g. <see cref="RoutingKey"/>.</typeparam>
internal sealed class LivenessTracker<TKey>
    where TKey : notnull
{
    // Rebuild the queue when it holds more than twice the live peers plus this many entries.
    private const int CompactionSlack = 32;

    private readonly Dictionary<TKey, Entry> _entries;
    private readonly PriorityQueue<Entry, long> _queue = new();
    private readonly TimeProvider _time;
    private readonly long _timeoutUnits;

    /// <summary>Creates a tracker in which a peer expires <paramref name="expiryTimeout"/> after its last message.</summary>
    /// <param name="expiryTimeout">Silence after which a peer is dead; must be positive.</param>
    /// <param name="timeProvider">Clock; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="comparer">Key comparer; the default comparer when null.</param>
    public LivenessTracker(TimeSpan expiryTimeout, TimeProvider? timeProvider = null, IEqualityComparer<TKey>? comparer = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(expiryTimeout, TimeSpan.Zero);
        _time = timeProvider ?? TimeProvider.System;
        ExpiryTimeout = expiryTimeout;
        _timeoutUnits = Timestamps.ToUnits(expiryTimeout, _time.TimestampFrequency);
        _entries = new Dictionary<TKey, Entry>(comparer);
    }

    /// <summary>Creates a tracker in which a peer expires after <see cref="HeartbeatOptions.ExpiryTimeout"/> (interval × liveness).</summary>
    /// <param name="options">Validated on construction.</param>
    /// <param name="timeProvider">Clock; <see cref="TimeProvider.System"/> when null.</param>
    /// <param name="comparer">Key comparer; the default comparer when null.</param>
    /// <exception cref="ArgumentException"><paramref name="options"/> is invalid.</exception>
    public LivenessTracker(HeartbeatOptions options, TimeProvider? timeProvider = null, IEqualityComparer<TKey>? comparer = null)
        : this(ValidatedExpiry(options), timeProvider, comparer)
    {
    }

    /// <summary>Silence after which a peer is dead.</summary>
    public TimeSpan ExpiryTimeout { get; }

    /// <summary>Number of peers tracked.</summary>
    public int Count => _entries.Count;

    /// <summary>
    /// Earliest deadline among the tracked peers, or null when none is tracked. Amortised
    /// O(log n): re-ranks queue entries made stale by <see cref="Touch"/>.
    /// </summary>
    public long? NextExpiry
    {
        get
        {
            // Bounded: each pass either drops an entry or gives it its current deadline, after
            // which it can only be at the head with an up-to-date priority.
            while (_queue.TryPeek(out Entry? entry, out long queuedDeadline))
            {
                if (entry.Removed)
                {
                    _queue.Dequeue();
                }
                else if (entry.Deadline > queuedDeadline)
                {
                    _queue.Dequeue();
                    _queue.Enqueue(entry, entry.Deadline);
                }
                else
                {
                    return queuedDeadline;
                }
            }

            return null;
        }
    }

    /// <summary>
    /// Time until <see cref="NextExpiry"/> (<see cref="TimeSpan.Zero"/> if it has passed), or null
    /// when no peer is tracked: a bound for the loop's poll timeout.
    /// </summary>
    public TimeSpan? NextExpiryIn =>
        NextExpiry is long next ? Timestamps.Until(_time.GetTimestamp(), next, _time.TimestampFrequency) : null;

    /// <summary>
    /// Records a message from <paramref name="key"/>: starts tracking it, or moves its deadline to
    /// <see cref="ExpiryTimeout"/> from now. Call it for every inbound message, heartbeat or not.
    /// </summary>
    /// <returns>True if the peer was not tracked before.</returns>
    public bool Touch(TKey key)
    {
        long deadline = _time.GetTimestamp() + _timeoutUnits;
        ref Entry? slot = ref CollectionsMarshal.GetValueRefOrAddDefault(_entries, key, out bool exists);
        if (exists)
        {
            // The monotonic clock only moves deadlines later, so the queued priority stays a lower
            // bound and the entry is re-ranked lazily.
            slot!.Deadline = deadline;
            return false;
        }

        slot = new Entry(key, deadline);
        _queue.Enqueue(slot, deadline);
        return true;
    }

    /// <summary>Stops tracking <paramref name="key"/> (e.g. after it sent DISCONNECT).</summary>
    /// <returns>True if the peer was tracked.</returns>
    public bool Remove(TKey key)
    {
        if (!_entries.Remove(key, out Entry? entry))
        {
            return false;
        }

        entry.Removed = true;
        if (_queue.Count > (2 * _entries.Count) + CompactionSlack)
        {
            _queue.Clear();
            foreach (Entry live in _entries.Values)
            {
                _queue.Enqueue(live, live.Deadline);
            }
        }

        return true;
    }

    /// <summary>Whether <paramref name="key"/> is tracked (expired peers stay tracked until collected).</summary>
    public bool Contains(TKey key) => _entries.ContainsKey(key);

    /// <summary>Gets the deadline of <paramref name="key"/>, if tracked.</summary>
    public bool TryGetExpiresAt(TKey key, out long expiresAt)
    {
        if (_entries.TryGetValue(key, out Entry? entry))
        {
            expiresAt = entry.Deadline;
            return true;
        }

        expiresAt = 0;
        return false;
    }

    /// <summary>
    /// Removes and returns every peer whose deadline has passed (deadline ≤ now), in no particular
    /// order. Returns an empty list without allocating when none has expired.
    /// </summary>
    public IReadOnlyList<TKey> CollectExpired()
    {
        long now = _time.GetTimestamp();
        List<TKey>? expired = null;

        // Bounded: each pass dequeues an entry whose priority is ≤ now, and a re-queued entry gets a
        // priority > now, so every entry is visited at most once.
        while (_queue.TryPeek(out Entry? entry, out long queuedDeadline) && queuedDeadline <= now)
        {
            _queue.Dequeue();
            if (entry.Removed)
            {
                continue;
            }

            if (entry.Deadline > now)
            {
                _queue.Enqueue(entry, entry.Deadline);
                continue;
            }

            _entries.Remove(entry.Key);
            entry.Removed = true;
            (expired ??= []).Add(entry.Key);
        }

        return expired ?? (IReadOnlyList<TKey>)[];
    }

    /// <summary>Stops tracking every peer.</summary>
    public void Clear()
    {
        _entries.Clear();
        _queue.Clear();
    }

    private static TimeSpan ValidatedExpiry(HeartbeatOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return options.ExpiryTimeout;
    }

    private sealed class Entry(TKey key, long deadline)
    {
        public TKey Key { get; } = key;

        public long Deadline { get; set; } = deadline;

        public bool Removed { get; set; }
    }
}
