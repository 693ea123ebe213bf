namespace Reliability.Transport.Internal;

/// <summary>
/// Counted prefix subscriptions (docs/wire/zmtp.md §10): subscribing to "A" twice needs two cancels;
/// the empty topic matches everything. A plain list: publishers rarely hold more than a handful
/// of topics per peer, and the cap keeps a hostile peer from growing it without bound.
/// </summary>
internal sealed class SubscriptionSet
{
    /// <summary>Most distinct topics one set holds; further subscriptions are refused.</summary>
    public const int MaxTopics = 10_000;

    private readonly List<(byte[] Topic, int Count)> _topics = [];

    public int Count => _topics.Count;

    public IEnumerable<byte[]> Topics => _topics.Select(t => t.Topic);

    /// <summary>Adds one subscription. Returns the new count for the topic, or 0 when refused (cap reached).</summary>
    public int Add(ReadOnlySpan<byte> topic)
    {
        int index = IndexOf(topic);
        if (index >= 0)
        {
            var entry = _topics[index];
            _topics[index] = (entry.Topic, entry.Count + 1);
            return entry.Count + 1;
        }

        if (_topics.Count >= MaxTopics)
        {
            return 0;
        }

        _topics.Add((topic.ToArray(), 1));
        return 1;
    }

    /// <summary>Removes one subscription. Returns the remaining count, or -1 when the topic was not subscribed.</summary>
    public int Remove(ReadOnlySpan<byte> topic)
    {
        int index = IndexOf(topic);
        if (index < 0)
        {
            return -1;
        }

        var entry = _topics[index];
        if (entry.Count == 1)
        {
            _topics.RemoveAt(index);
            return 0;
        }

        _topics[index] = (entry.Topic, entry.Count - 1);
        return entry.Count - 1;
    }

    /// <summary>Whether any subscribed topic is a prefix of <paramref name="data"/>.</summary>
    public bool Matches(ReadOnlySpan<byte> data)
    {
        foreach (var (topic, _) in _topics)
        {
            if (data.StartsWith(topic))
            {
                return true;
            }
        }

        return false;
    }

    public void Clear() => _topics.Clear();

    private int IndexOf(ReadOnlySpan<byte> topic)
    {
        for (int i = 0; i < _topics.Count; i++)
        {
            if (topic.SequenceEqual(_topics[i].Topic))
            {
                return i;
            }
        }

        return -1;
    }
}
