using System.Diagnostics;
using System.Diagnostics.Metrics;
using Reliability.Mdp.Protocol;

namespace Reliability.Mdp.Broker;

/// <summary>
/// The broker's instruments on the <c>Reliability.Mdp</c> meter (OpenTelemetry-style names). One
/// instance per broker, so that tests listen to exactly their own broker.
/// </summary>
internal sealed class BrokerMetrics : IDisposable
{
    private readonly Counter<long> _requestsReceived;
    private readonly Counter<long> _repliesSent;
    private readonly Counter<long> _requestsDispatched;
    private readonly Counter<long> _requestsRequeued;
    private readonly Counter<long> _requestsDropped;
    private readonly Counter<long> _repliesDropped;
    private readonly Counter<long> _workersExpired;
    private readonly Counter<long> _invalidMessages;
    private readonly Counter<long> _disconnectsSent;
    private readonly Counter<long> _clientsPaused;
    private readonly UpDownCounter<long> _queueDepth;
    private readonly UpDownCounter<long> _workers;
    private readonly bool _ownsMeter;

    /// <param name="meterFactory">The application's meter factory; without one the broker owns its meter.</param>
    public BrokerMetrics(IMeterFactory? meterFactory = null)
    {
        Meter = MdpMeter.Create(meterFactory);
        _ownsMeter = meterFactory is null;
        _requestsReceived = Meter.CreateCounter<long>("reliability.mdp.broker.requests.received", "{request}", "Client requests received (MMI included).");
        _repliesSent = Meter.CreateCounter<long>("reliability.mdp.broker.replies.sent", "{reply}", "Final replies (REPLY or FINAL) handed to clients, MMI answers included.");
        _requestsDispatched = Meter.CreateCounter<long>("reliability.mdp.broker.requests.dispatched", "{request}", "Requests sent to workers (requeued ones again).");
        _requestsRequeued = Meter.CreateCounter<long>("reliability.mdp.broker.requests.requeued", "{request}", "Requests given back to the queue because their worker died, expired or disconnected.");
        _requestsDropped = Meter.CreateCounter<long>("reliability.mdp.broker.requests.dropped", "{request}", "Requests dropped without a reply (expired, too many services, name too long, requeue limit, client gone, shutdown).");
        _repliesDropped = Meter.CreateCounter<long>("reliability.mdp.broker.replies.dropped", "{reply}", "Replies that could not be delivered (client gone, partial reply to an MDP/0.1 client).");
        _workersExpired = Meter.CreateCounter<long>("reliability.mdp.broker.workers.expired", "{worker}", "Workers removed other than by their own DISCONNECT (silent too long, unreachable, protocol violation).");
        _invalidMessages = Meter.CreateCounter<long>("reliability.mdp.broker.messages.invalid", "{message}", "Malformed messages dropped.");
        _disconnectsSent = Meter.CreateCounter<long>("reliability.mdp.broker.disconnects.sent", "{command}", "DISCONNECT commands sent to workers.");
        _clientsPaused = Meter.CreateCounter<long>("reliability.mdp.broker.clients.paused", "{pause}", "Times a client's reading was paused by flow control (a limit of queued requests or unread replies reached).");
        _queueDepth = Meter.CreateUpDownCounter<long>("reliability.mdp.broker.queue.depth", "{request}", "Requests waiting for a worker, per service.");
        _workers = Meter.CreateUpDownCounter<long>("reliability.mdp.broker.workers", "{worker}", "Registered workers, per service.");
    }

    public Meter Meter { get; }

    public void RequestReceived(MdpVersion version) => _requestsReceived.Add(1, new KeyValuePair<string, object?>("mdp.version", version.Number()));

    public void ReplySent() => _repliesSent.Add(1);

    public void ClientPaused() => _clientsPaused.Add(1);

    public void RequestDispatched() => _requestsDispatched.Add(1);

    public void RequestRequeued(string reason) => _requestsRequeued.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void RequestsDropped(string reason, long count = 1)
    {
        if (count > 0)
        {
            _requestsDropped.Add(count, new KeyValuePair<string, object?>("reason", reason));
        }
    }

    public void ReplyDropped(string reason, int count = 1) => _repliesDropped.Add(count, new KeyValuePair<string, object?>("reason", reason));

    public void WorkerExpired(string reason) => _workersExpired.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void InvalidMessage() => _invalidMessages.Add(1);

    public void DisconnectSent(string reason) => _disconnectsSent.Add(1, new KeyValuePair<string, object?>("reason", reason));

    public void QueueDepthChanged(string service, long delta)
    {
        if (delta != 0 && _queueDepth.Enabled)
        {
            _queueDepth.Add(delta, new TagList { { "mdp.service", service } });
        }
    }

    public void WorkersChanged(string service, long delta)
    {
        if (delta != 0 && _workers.Enabled)
        {
            _workers.Add(delta, new TagList { { "mdp.service", service } });
        }
    }

    /// <summary>Ends the broker's own meter; one from a factory lives as long as the factory.</summary>
    public void Dispose()
    {
        if (_ownsMeter)
        {
            Meter.Dispose();
        }
    }

}
