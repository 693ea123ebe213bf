using System.Diagnostics;

namespace Reliability.Mdp;

/// <summary>
/// The names a tracing or metrics pipeline listens to: one <see cref="ActivitySource"/> per component
/// (client, broker, worker) and the assembly's meter. Spans and attributes: docs/telemetry.md.
/// </summary>
public static class MdpTelemetry
{
    /// <summary><c>Reliability.Mdp.Client</c>: one span per client request, retries as events.</summary>
    public const string ClientSourceName = "Reliability.Mdp.Client";

    /// <summary><c>Reliability.Mdp.Broker</c>: one span per dispatch, from receipt to hand-over (queue wait included).</summary>
    public const string BrokerSourceName = "Reliability.Mdp.Broker";

    /// <summary><c>Reliability.Mdp.Worker</c>: one span per request a worker's handler runs.</summary>
    public const string WorkerSourceName = "Reliability.Mdp.Worker";

    /// <summary><c>Reliability.Mdp</c>: the meter of brokers, clients and workers.</summary>
    public const string MeterName = MdpMeter.Name;

    /// <summary>Every activity source name above.</summary>
    public static IReadOnlyList<string> SourceNames { get; } = [ClientSourceName, BrokerSourceName, WorkerSourceName];

    internal static readonly ActivitySource Client = new(ClientSourceName, "1.0");

    internal static readonly ActivitySource Broker = new(BrokerSourceName, "1.0");

    internal static readonly ActivitySource Worker = new(WorkerSourceName, "1.0");

    /// <summary>
    /// Starts a span with the messaging attributes every component sets, or returns null at once when nobody
    /// listens (the request path allocates nothing for tracing then).
    /// </summary>
    internal static Activity? Start(
        ActivitySource source, string operation, ActivityKind kind, string service, Protocol.MdpVersion version, ActivityContext parent = default, DateTimeOffset startTime = default)
    {
        if (!source.HasListeners())
        {
            return null;
        }

        var activity = source.StartActivity(operation + " " + service, kind, parent, startTime: startTime);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("messaging.system", "majordomo");
            activity.SetTag("messaging.operation.name", operation);
            activity.SetTag("messaging.destination.name", service);
            activity.SetTag("network.protocol.name", "mdp");
            activity.SetTag("network.protocol.version", Protocol.MdpVersions.Number(version));
        }

        return activity;
    }

    /// <summary>
    /// A client request's span and the request to send: with a trace frame first when the client is told to
    /// carry trace context (MDP/0.2 only, docs/wire/mdp.md §18) and there is a context to carry.
    /// </summary>
    internal static Activity? StartClientRequest(ref Protocol.ClientRequest request, Protocol.MdpVersion version, bool traceContext)
    {
        var activity = Start(Client, "request", ActivityKind.Client, request.Service, version);
        if (traceContext && version == Protocol.MdpVersion.V02 && (activity ?? Activity.Current) is { } current)
        {
            request = new Protocol.ClientRequest(request.Service, Protocol.TraceFrame.Prepend(Protocol.TraceFrame.Encode(current.Context), request.Body));
        }

        return activity;
    }

    /// <summary>Records a resend as an event of the client span it belongs to, if that span is the current one.</summary>
    internal static void Retry(Activity? activity, int attempt)
    {
        if (activity is { IsAllDataRequested: true } && activity.Source == Client)
        {
            activity.AddEvent(new ActivityEvent("retry", tags: new ActivityTagsCollection { ["messaging.majordomo.attempt"] = attempt }));
        }
    }

    /// <summary>Marks a client span failed with the exception's type, as the OpenTelemetry conventions ask.</summary>
    internal static void Fail(Activity? activity, Exception error)
    {
        if (activity is not null)
        {
            activity.SetStatus(ActivityStatusCode.Error, error.Message);
            activity.SetTag("error.type", error.GetType().FullName);
        }
    }
}
