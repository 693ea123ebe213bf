using System.Diagnostics;
using Reliability.Mdp.Protocol;
using Reliability.Patterns.Queueing;

namespace Reliability.Mdp.Broker;

internal sealed partial class BrokerCore
{
    /// <summary>
    /// The body a request is dispatched with when it is traced: records the broker's span (receipt to
    /// hand-over, the client's span as parent) and gives <paramref name="worker"/> a trace frame if its READY
    /// asked for one (docs/wire/mdp.md §18). Only called when someone listens or the client sent a trace frame.
    /// </summary>
    private IReadOnlyList<ReadOnlyMemory<byte>> TraceDispatch(ServiceEntry service, WorkerEntry worker, PendingRequest<MdpRequest> request)
    {
        var trace = request.Payload.TraceFrame;
        ActivityContext parent = default;
        if (!trace.IsEmpty && MdpTelemetry.Broker.HasListeners())
        {
            TraceFrame.TryDecode(trace.Span, out parent);
        }

        long now = Now;
        var receivedAt = _time.GetUtcNow() - Elapsed(request.ReceivedAt, now);
        using var activity = MdpTelemetry.Start(MdpTelemetry.Broker, "dispatch", ActivityKind.Server, service.Name, request.Payload.ClientVersion, parent, receivedAt);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("messaging.majordomo.queue_wait", Elapsed(request.QueuedAt, now).TotalSeconds);
            activity.SetTag("messaging.majordomo.requeues", request.Requeues);
            activity.SetTag("messaging.majordomo.worker.protocol_version", worker.Version.Number());
        }

        if (!worker.TraceContext)
        {
            return request.Payload.Body;
        }

        // A broker nobody traces passes the client's context on unchanged.
        var frame = activity is not null ? TraceFrame.Encode(activity.Context) : trace;
        return frame.IsEmpty ? request.Payload.Body : TraceFrame.Prepend(frame, request.Payload.Body);
    }

    private TimeSpan Elapsed(long since, long now) => _time.GetElapsedTime(since, now);
}
