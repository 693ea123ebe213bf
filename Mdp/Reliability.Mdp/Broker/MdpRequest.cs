using Reliability.Mdp.Protocol;

namespace Reliability.Mdp.Broker;

/// <summary>
/// What the broker keeps of a client request (the bookkeeping is in
/// <see cref="Reliability.Patterns.Queueing.PendingRequest{T}"/>): the client's version and the body.
/// </summary>
/// <param name="ClientVersion">The client's MDP version: replies go back in it, whatever the worker speaks.</param>
/// <param name="Body">The body frames (received frames are owned by the message, not pooled, so keeping them is safe).</param>
internal readonly record struct MdpRequest(MdpVersion ClientVersion, IReadOnlyList<ReadOnlyMemory<byte>> Body);
