using Reliability.Transport;

namespace Reliability.Patterns.BinaryStar;

/// <summary>
/// A Binary Star node heard its peer in its own state (both active or both passive): the pair is
/// broken, and the node stops rather than risk two nodes serving the same clients.
/// </summary>
public sealed class SplitBrainException : ReliabilityException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="state">The state both nodes are in.</param>
    public SplitBrainException(BinaryStarState state)
        : base($"Split brain: this node and its peer are both {state.ToString().ToLowerInvariant()}; stopping.")
    {
        State = state;
    }

    /// <summary>The state both nodes were in.</summary>
    public BinaryStarState State { get; }
}
