namespace Reliability.Patterns.BinaryStar;

/// <summary>
/// The state of one node of a Binary Star pair. The numbers are the wire values: every heartbeat a
/// node publishes its state as one frame holding the decimal digit (docs/patterns/binary-star.md §2).
/// </summary>
public enum BinaryStarState
{
    /// <summary>Configured primary, waiting for its peer (or for a client after the peer stayed silent).</summary>
    Primary = 1,

    /// <summary>Configured backup, waiting for the primary to become active.</summary>
    Backup = 2,

    /// <summary>Serving clients.</summary>
    Active = 3,

    /// <summary>Standing by: the peer is active; client requests are not answered.</summary>
    Passive = 4,
}

/// <summary>The role a node is configured with; it decides which node becomes active when both start together.</summary>
public enum BinaryStarRole
{
    /// <summary>Becomes active when it meets a waiting backup.</summary>
    Primary = 1,

    /// <summary>Becomes passive when it meets an active primary.</summary>
    Backup = 2,
}

/// <summary>Passed to <see cref="BinaryStarOptions.OnStateChanged"/>: the node moved from one state to another.</summary>
/// <param name="From">The state before.</param>
/// <param name="To">The state now.</param>
/// <param name="Cause">What caused it: <c>peer-primary</c>, <c>peer-backup</c>, <c>peer-active</c>, <c>peer-passive</c> or <c>client-request</c>.</param>
public readonly record struct BinaryStarStateChange(BinaryStarState From, BinaryStarState To, string Cause);
