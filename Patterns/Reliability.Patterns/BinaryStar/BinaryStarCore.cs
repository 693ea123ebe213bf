using Reliability.Patterns.Heartbeating;

namespace Reliability.Patterns.BinaryStar;

/// <summary>What one input did to a <see cref="BinaryStarCore"/>.</summary>
internal enum BinaryStarOutcome
{
    /// <summary>Handled; for a client request: serve it.</summary>
    Accepted,

    /// <summary>A client request that must not be answered (this node is not, or may not become, active).</summary>
    Rejected,

    /// <summary>Both nodes are active or both passive: the pair is broken and this node must stop.</summary>
    SplitBrain,
}

/// <summary>The result of one input: the outcome and the states before and after.</summary>
internal readonly record struct BinaryStarStep(BinaryStarOutcome Outcome, BinaryStarState From, BinaryStarState To)
{
    public bool Changed => From != To;
}

/// <summary>
/// The Binary Star state machine (docs/patterns/binary-star.md §3), without sockets or clocks: the
/// driver hands in the peer's published states and the server's client requests, each with the
/// current timestamp, and acts on the outcome.
/// </summary>
/// <remarks>
/// The peer counts as gone once <c>now ≥ peer_expiry</c>, where <c>peer_expiry</c> is the time of the
/// last state heard from it plus two heartbeats (set from the start time before anything is heard).
/// Silence alone never makes a node active: it takes a client request after the expiry. When only
/// the link between the nodes fails, clients still reach the active one, so the passive one hears
/// no request and stays passive — which is what keeps the pair from having two actives.
/// Single-threaded: the driver serialises calls.
/// </remarks>
internal sealed class BinaryStarCore
{
    private readonly long _expiryUnits;
    private bool _failed;

    /// <summary>Creates a node in its configured role's state.</summary>
    /// <param name="role">Primary or backup.</param>
    /// <param name="heartbeat">The interval at which both nodes publish their state.</param>
    /// <param name="now">The start time, in <paramref name="frequency"/> units.</param>
    /// <param name="frequency">Timestamp units per second (<see cref="TimeProvider.TimestampFrequency"/>).</param>
    public BinaryStarCore(BinaryStarRole role, TimeSpan heartbeat, long now, long frequency)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(heartbeat, TimeSpan.Zero);
        State = role == BinaryStarRole.Primary ? BinaryStarState.Primary : BinaryStarState.Backup;
        _expiryUnits = Timestamps.ToUnits(heartbeat * 2, frequency);
        PeerExpiry = now + _expiryUnits;
    }

    /// <summary>The node's current state (what it publishes).</summary>
    public BinaryStarState State { get; private set; }

    /// <summary>When the peer counts as gone if nothing more is heard from it.</summary>
    public long PeerExpiry { get; private set; }

    /// <summary>True once a split brain was found; every later input is answered with <see cref="BinaryStarOutcome.SplitBrain"/>.</summary>
    public bool Failed => _failed;

    /// <summary>The peer published <paramref name="peer"/> at <paramref name="now"/>.</summary>
    public BinaryStarStep OnPeerState(BinaryStarState peer, long now)
    {
        var from = State;
        if (_failed)
        {
            return new(BinaryStarOutcome.SplitBrain, from, from);
        }

        PeerExpiry = now + _expiryUnits;
        switch (State, peer)
        {
            case (BinaryStarState.Primary, BinaryStarState.Backup):
                State = BinaryStarState.Active;
                break;
            case (BinaryStarState.Primary, BinaryStarState.Active):
            case (BinaryStarState.Backup, BinaryStarState.Active):
                State = BinaryStarState.Passive;
                break;
            case (BinaryStarState.Active, BinaryStarState.Active):
            case (BinaryStarState.Passive, BinaryStarState.Passive):
                _failed = true;
                return new(BinaryStarOutcome.SplitBrain, from, from);
            case (BinaryStarState.Passive, BinaryStarState.Primary):
            case (BinaryStarState.Passive, BinaryStarState.Backup):
                // The active peer restarted (it comes back in its configured role): take over.
                State = BinaryStarState.Active;
                break;
        }

        return new(BinaryStarOutcome.Accepted, from, State);
    }

    /// <summary>A client request arrived at <paramref name="now"/>: may this node serve it?</summary>
    public BinaryStarStep OnClientRequest(long now)
    {
        var from = State;
        if (_failed)
        {
            return new(BinaryStarOutcome.SplitBrain, from, from);
        }

        switch (State)
        {
            case BinaryStarState.Active:
                return new(BinaryStarOutcome.Accepted, from, from);
            case BinaryStarState.Primary:
            case BinaryStarState.Passive:
                // A primary waits as a passive does: its backup may be active after a failover, and the
                // primary must not serve until the backup has been silent for the expiry.
                if (now >= PeerExpiry)
                {
                    State = BinaryStarState.Active;
                    return new(BinaryStarOutcome.Accepted, from, State);
                }

                return new(BinaryStarOutcome.Rejected, from, from);
            default:
                return new(BinaryStarOutcome.Rejected, from, from);
        }
    }
}
