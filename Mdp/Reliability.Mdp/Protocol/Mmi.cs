using System.Text;

namespace Reliability.Mdp.Protocol;

/// <summary>
/// Majordomo Management Interface (RFC 8): services whose name starts with <c>mmi.</c> are answered
/// by the broker itself. The reply body is one frame holding a status code.
/// </summary>
public static class Mmi
{
    /// <summary>Prefix of every MMI service name (case-sensitive).</summary>
    public const string Prefix = "mmi.";

    /// <summary>The mandatory lookup service: request body = a service name.</summary>
    public const string ServiceLookup = "mmi.service";

    /// <summary>Status: the service has at least one registered worker.</summary>
    public const string Found = "200";

    /// <summary>Status: the service has no registered worker.</summary>
    public const string NotFound = "404";

    /// <summary>Status: the MMI service is not implemented by this broker.</summary>
    public const string NotImplemented = "501";

    private static readonly ReadOnlyMemory<byte> FoundFrame = "200"u8.ToArray();
    private static readonly ReadOnlyMemory<byte> NotFoundFrame = "404"u8.ToArray();
    private static readonly ReadOnlyMemory<byte> NotImplementedFrame = "501"u8.ToArray();

    /// <summary>
    /// Whether <paramref name="service"/> is an MMI service. The broker handles these itself and
    /// must disconnect a worker that tries to register one (RFC 8). Check the service frame of a
    /// client REQUEST or of a worker READY, never a routing id (the zguide C broker's bug).
    /// </summary>
    public static bool IsMmiService(string service)
    {
        ArgumentNullException.ThrowIfNull(service);
        return service.StartsWith(Prefix, StringComparison.Ordinal);
    }

    /// <summary>
    /// The status code for an MMI request. For <c>mmi.service</c>: "200" when <paramref name="hasWorkers"/> says the
    /// service named by the first body frame has live workers, otherwise "404" (also for a missing or invalid name).
    /// Any other <c>mmi.*</c> service: "501".
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="request"/> is not an MMI request.</exception>
    internal static string Evaluate(ClientRequest request, Func<string, bool> hasWorkers)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(hasWorkers);
        if (!IsMmiService(request.Service))
        {
            throw new ArgumentException($"'{request.Service}' is not an MMI service.", nameof(request));
        }

        if (request.Service != ServiceLookup)
        {
            return NotImplemented;
        }

        // The name comes from the network: judge it with the same rules as any service name, never throw.
        if (request.Body.Count == 0 || MdpFrames.CheckServiceName(request.Body[0].Span) is not null)
        {
            return NotFound;
        }

        return hasWorkers(Encoding.UTF8.GetString(request.Body[0].Span)) ? Found : NotFound;
    }

    /// <summary>
    /// The reply to an MMI request: the same service name, body = the status code (on the wire in
    /// MDP/0.1: <c>"" MDPC01 mmi.service 200</c>). Build MDP/0.2 replies with <see cref="CreateFinal"/>.
    /// </summary>
    internal static ClientReply CreateReply(ClientRequest request, string status)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new ClientReply(request.Service, StatusFrame(status));
    }

    /// <summary>The MDP/0.2 form of <see cref="CreateReply"/>: one FINAL with the status code.</summary>
    internal static ClientFinal CreateFinal(ClientRequest request, string status)
    {
        ArgumentNullException.ThrowIfNull(request);
        return new ClientFinal(request.Service, StatusFrame(status));
    }

    /// <summary>A client's <c>mmi.service</c> lookup for <paramref name="service"/>.</summary>
    internal static ClientRequest CreateLookup(string service)
    {
        MdpFrames.ValidateServiceName(service, nameof(service));
        return new ClientRequest(ServiceLookup, Encoding.UTF8.GetBytes(service));
    }

    /// <summary>The status code in an MMI reply body (first frame), or null when the body is empty. Never throws on peer data.</summary>
    public static string? ReadStatus(IReadOnlyList<ReadOnlyMemory<byte>> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (body.Count == 0)
        {
            return null;
        }

        var frame = body[0].Span;
        if (frame.SequenceEqual(FoundFrame.Span))
        {
            return Found;
        }

        if (frame.SequenceEqual(NotFoundFrame.Span))
        {
            return NotFound;
        }

        if (frame.SequenceEqual(NotImplementedFrame.Span))
        {
            return NotImplemented;
        }

        return Encoding.UTF8.GetString(frame.Length > 16 ? frame[..16] : frame);
    }

    /// <summary>The shared frame for a status code (no allocation for the three RFC 8 codes).</summary>
    /// <exception cref="ArgumentException"><paramref name="status"/> is not "200", "404" or "501".</exception>
    internal static ReadOnlyMemory<byte> StatusFrame(string status) => status switch
    {
        Found => FoundFrame,
        NotFound => NotFoundFrame,
        NotImplemented => NotImplementedFrame,
        _ => throw new ArgumentException($"Unknown MMI status '{status}'; RFC 8 defines 200, 404 and 501.", nameof(status)),
    };
}
