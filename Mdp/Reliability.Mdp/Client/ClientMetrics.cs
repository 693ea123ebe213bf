using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Reliability.Mdp.Client;

/// <summary>
/// Client instruments on the Majordomo meter. Each measurement carries a <c>client</c> tag,
/// <c>sync</c> (<see cref="MajordomoClient"/>) or <c>async</c> (<see cref="MajordomoAsyncClient"/>).
/// </summary>
internal static class ClientMetrics
{
    private static readonly Meter Meter = MdpMeter.Shared;

    public static readonly Counter<long> Requests =
        Meter.CreateCounter<long>("reliability.mdp.client.requests", "{request}", "Requests started by Majordomo clients.");

    public static readonly Counter<long> Retries =
        Meter.CreateCounter<long>("reliability.mdp.client.retries", "{retry}", "Attempts after the first of their request (synchronous client, each on a fresh socket).");

    public static readonly Counter<long> Abandoned =
        Meter.CreateCounter<long>("reliability.mdp.client.abandoned", "{request}", "Requests given up: retries exhausted (sync) or per-request timeout (async).");

    public static readonly Counter<long> LateReplies =
        Meter.CreateCounter<long>("reliability.mdp.client.replies.late", "{reply}", "Replies that arrived after their request had timed out; dropped, never given to another request.");

    public static readonly Counter<long> InvalidReplies =
        Meter.CreateCounter<long>("reliability.mdp.client.replies.invalid", "{reply}", "Messages from the broker that were not a valid reply of the client's MDP version, or answered no outstanding request.");

    public static readonly TagList Sync = new() { { "client", "sync" } };

    public static readonly TagList Async = new() { { "client", "async" } };
}
