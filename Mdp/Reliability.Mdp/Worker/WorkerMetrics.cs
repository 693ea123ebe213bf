using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Reliability.Mdp.Worker;

/// <summary>
/// Worker instruments on the Majordomo meter. Each measurement carries a <c>service</c> tag (one
/// per worker; a small, fixed set per process).
/// </summary>
internal static class WorkerMetrics
{
    private static readonly Meter Meter = MdpMeter.Shared;

    public static readonly Counter<long> Requests =
        Meter.CreateCounter<long>("reliability.mdp.worker.requests", "{request}", "Requests received by workers from the broker.");

    public static readonly Counter<long> Replies =
        Meter.CreateCounter<long>("reliability.mdp.worker.replies", "{reply}", "Final replies (REPLY or FINAL) sent by workers.");

    public static readonly Counter<long> Reconnects =
        Meter.CreateCounter<long>("reliability.mdp.worker.reconnects", "{connection}", "Worker connections replaced by a fresh socket (broker silent, DISCONNECT, handler failure).");

    public static readonly Counter<long> StaleReplies =
        Meter.CreateCounter<long>("reliability.mdp.worker.replies.stale", "{reply}", "Replies dropped because the connection their request came on had been replaced.");

    public static readonly Counter<long> HandlerFailures =
        Meter.CreateCounter<long>("reliability.mdp.worker.handler_failures", "{request}", "Requests whose handler threw; the worker re-registered so the broker can requeue them.");

    public static readonly Counter<long> InvalidMessages =
        Meter.CreateCounter<long>("reliability.mdp.worker.invalid_messages", "{message}", "Messages from the broker that were not valid MDP worker commands; dropped.");

    public static TagList Tags(string service) => new() { { "service", service } };
}
