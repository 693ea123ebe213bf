namespace Reliability.Mdp.Broker;

/// <summary>What a peer on the broker's port can make it hold (docs/security-limits.md).</summary>
public sealed partial record BrokerOptions
{
    // 1 KiB holds any MDP envelope; the cap is the largest array .NET allocates.
    private const long MinMessageSize = 1024;
    private const int MaxConnectionsCap = 1_000_000;
    private static readonly TimeSpan MinHandshakeTimeout = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxHandshakeTimeout = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Largest message a peer may send, in bytes over all its frames (default 1 MiB; 1 KiB..<see cref="Array.MaxLength"/>).
    /// Enforced from the frame header, before anything is allocated: a peer that announces more is
    /// disconnected, counted and logged. Replies are bounded by it too, since workers are peers.
    /// </summary>
    public long MaxMessageSize { get; init; } = 1L << 20;

    /// <summary>
    /// Time a new connection has to complete its ZMTP handshake (default 5 s, against libzmq's 30 s:
    /// an unauthenticated peer that says nothing is not worth holding longer; 100 ms..5 min).
    /// </summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>Most connections one bound endpoint holds at once; more are accepted and closed at once (default 10 000; 1..1 000 000).</summary>
    public int MaxConnections { get; init; } = 10_000;

    /// <summary>
    /// Most connections of one bound endpoint still in their handshake at once; more are accepted and
    /// closed at once, so silent connections cannot crowd out real peers for longer than
    /// <see cref="HandshakeTimeout"/> (default 1000; 1..1 000 000).
    /// </summary>
    public int MaxPendingHandshakes { get; init; } = 1000;

    /// <summary>
    /// The outbound queue limit per peer in bytes: two of the largest messages and some room for
    /// heartbeats, so a worker's queue always takes a heartbeat behind the largest REQUEST, while a client
    /// that does not read holds at most this in its queue (the rest waits, counted, in the reply backlog).
    /// </summary>
    internal long PeerSendBytes => (2 * MaxMessageSize) + (64 << 10);

    private void AddLimitProblems(List<string> problems)
    {
        CheckRange(problems, nameof(MaxMessageSize), MaxMessageSize, MinMessageSize, Array.MaxLength);
        CheckRange(problems, nameof(MaxConnections), MaxConnections, 1, MaxConnectionsCap);
        CheckRange(problems, nameof(MaxPendingHandshakes), MaxPendingHandshakes, 1, MaxConnectionsCap);
        if (HandshakeTimeout < MinHandshakeTimeout || HandshakeTimeout > MaxHandshakeTimeout)
        {
            problems.Add($"HandshakeTimeout must be between {Ms(MinHandshakeTimeout)} and {Ms(MaxHandshakeTimeout)} (was {Ms(HandshakeTimeout)})");
        }
    }
}
