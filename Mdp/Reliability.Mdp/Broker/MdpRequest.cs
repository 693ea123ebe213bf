using Reliability.Mdp.Protocol;

namespace Reliability.Mdp.Broker;

/// <summary>
/// What the broker keeps of a client request (the bookkeeping is in
/// <see cref="Reliability.Patterns.Queueing.PendingRequest{T}"/>): the client's version and the body.
/// </summary>
/// <param name="ClientVersion">The client's MDP version: replies go back in it, whatever the worker speaks.</param>
/// <param name="Body">The body frames (received frames are owned by the message, not pooled, so keeping them is safe).</param>
/// <param name="TraceFrame">The client's trace frame, taken out of the body (MDP/0.2 only, docs/wire/mdp.md §18); empty when none came.</param>
internal readonly record struct MdpRequest(MdpVersion ClientVersion, IReadOnlyList<ReadOnlyMemory<byte>> Body, ReadOnlyMemory<byte> TraceFrame = default);
