using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Reliability.Patterns.ParanoidPirate;

/// <summary>
/// Instruments of the Simple and Paranoid Pirate queues and workers, in the assembly's
/// <c>Reliability.Patterns</c> meter (OpenTelemetry-style names; tag <c>pirate.queue</c> is
/// <c>simple</c> or <c>paranoid</c>).
/// </summary>
internal static class PirateMetrics
{
    public const string Simple = "simple";
    public const string Paranoid = "paranoid";

    private static readonly Meter Meter = PatternsMeter.Instance;

    public static readonly UpDownCounter<long> WorkersAlive =
        Meter.CreateUpDownCounter<long>("reliability.pirate.workers.alive", "{worker}", "Workers a Pirate queue currently knows (ready or busy).");

    public static readonly Counter<long> WorkersExpired =
        Meter.CreateCounter<long>("reliability.pirate.workers.expired", "{worker}", "Workers removed because their heartbeat deadline passed or they became unreachable.");

    public static readonly Counter<long> RequestsRouted =
        Meter.CreateCounter<long>("reliability.pirate.requests.routed", "{request}", "Client requests handed to a worker.");

    public static readonly Counter<long> RepliesRouted =
        Meter.CreateCounter<long>("reliability.pirate.replies.routed", "{reply}", "Worker replies handed to the frontend.");

    public static readonly Counter<long> RequestsRequeued =
        Meter.CreateCounter<long>("reliability.pirate.requests.requeued", "{request}", "Requests taken back from a dead or restarted worker to be given to another one.");

    public static readonly Counter<long> RequestsAbandoned =
        Meter.CreateCounter<long>("reliability.pirate.requests.abandoned", "{request}", "Requests dropped by the queue (their client's retry recovers them).");

    public static readonly Counter<long> RepliesDropped =
        Meter.CreateCounter<long>("reliability.pirate.replies.dropped", "{reply}", "Replies that could not be delivered (client gone, unexpected reply).");

    public static readonly Counter<long> InvalidMessages =
        Meter.CreateCounter<long>("reliability.pirate.messages.invalid", "{message}", "Malformed or unknown messages that were logged and ignored.");

    public static readonly Counter<long> WorkerRequests =
        Meter.CreateCounter<long>("reliability.pirate.worker.requests", "{request}", "Requests a worker handled (tag outcome = ok or failed).");

    public static readonly Counter<long> WorkerReconnects =
        Meter.CreateCounter<long>("reliability.pirate.worker.reconnects", "{reconnect}", "Times a worker declared its queue dead and reconnected on a fresh socket.");

    public static TagList Queue(string kind) => new() { { "pirate.queue", kind } };

    public static TagList Queue(string kind, string reasonKey, string reason) => new() { { "pirate.queue", kind }, { reasonKey, reason } };
}
