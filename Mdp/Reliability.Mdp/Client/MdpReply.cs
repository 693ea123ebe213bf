using Reliability.Mdp.Protocol;
using Reliability.Transport;

namespace Reliability.Mdp.Client;

/// <summary>The answer to a Majordomo request: the final reply's body, and under MDP/0.2 the partial replies that came before it.</summary>
public sealed class MdpReply
{
    /// <summary>Creates a reply; the clients make these, and so can a stand-in for <see cref="IMajordomoClient"/> in tests.</summary>
    /// <param name="service">The service that answered.</param>
    /// <param name="body">The final reply's body frames.</param>
    /// <param name="partials">The MDP/0.2 partial replies before it, in arrival order; none when null.</param>
    /// <param name="version">The protocol version of the reply.</param>
    public MdpReply(string service, Message body, IReadOnlyList<Message>? partials = null, MdpVersion version = MdpVersion.V01)
    {
        ArgumentNullException.ThrowIfNull(service);
        ArgumentNullException.ThrowIfNull(body);
        Service = service;
        Body = body;
        Partials = partials ?? [];
        Version = version;
    }

    /// <summary>The service that answered (the one the request was sent to).</summary>
    public string Service { get; }

    /// <summary>The body frames of the final reply (MDP/0.1 REPLY, MDP/0.2 FINAL).</summary>
    public Message Body { get; }

    /// <summary>The bodies of the MDP/0.2 PARTIAL replies, in arrival order; empty under MDP/0.1.</summary>
    public IReadOnlyList<Message> Partials { get; }

    /// <summary>The protocol version of the reply.</summary>
    public MdpVersion Version { get; }

    /// <summary>The service and a body summary.</summary>
    public override string ToString() =>
        $"MDP reply from '{Service}': {Body.Count} frame(s), {Body.TotalLength} bytes" + (Partials.Count > 0 ? $", after {Partials.Count} partial(s)" : string.Empty);
}
