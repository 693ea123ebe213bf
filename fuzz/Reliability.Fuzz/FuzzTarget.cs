using Reliability.Transport;

namespace Reliability.Fuzz;

/// <summary>
/// One decoder under fuzzing. <see cref="Run"/> feeds it one input; it may return or throw a
/// <see cref="ProtocolException"/> (the decoder's documented refusal of bad input) — any other
/// exception is a crash. An input that takes longer than the runner's hang limit is a hang, and one
/// that makes the decoder allocate more than <see cref="AllocationAllowance"/> plus
/// <see cref="AllocationPerInputOctet"/> per input octet is an unbounded allocation.
/// </summary>
internal sealed record FuzzTarget(string Name, string Description, Action<byte[]> Run, Func<IEnumerable<byte[]>> Seeds)
{
    /// <summary>Octets a single input may make the target allocate regardless of its length (buffers, keys, the message limit).</summary>
    public long AllocationAllowance { get; init; } = 256 * 1024;

    /// <summary>Octets a target may allocate per input octet: copies of it, and the objects a message of tiny frames is made of.</summary>
    public int AllocationPerInputOctet { get; init; } = 16;
}

/// <summary>A property of the target's output that does not hold for some input (a round trip, an invariant).</summary>
internal sealed class PropertyViolationException(string message) : Exception(message);
