using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Reliability.Mdp.Protocol;
using Reliability.Patterns;
using Reliability.Patterns.Sessions;
using Reliability.Transport;

namespace Reliability.Mdp.Worker;

/// <summary>What the application asks of a worker's session: send a reply, or re-register after a failed handler.</summary>
internal abstract record WorkerCommand;

/// <summary>Send <paramref name="Body"/> as the (partial or final) reply to <paramref name="Request"/>; the outcome completes <paramref name="Done"/>.</summary>
internal sealed record ReplyCommand(MdpRequest Request, Message Body, bool Final, TaskCompletionSource<bool> Done, CancellationToken CancellationToken) : WorkerCommand;

/// <summary>The handler of a request that arrived on connection <paramref name="ConnectionId"/> failed: re-register if that connection is still current.</summary>
internal sealed record ReconnectCommand(long ConnectionId) : WorkerCommand;

/// <summary>
/// The Majordomo worker's decisions (docs/wire/mdp.md §7–§8, §12) with no I/O: READY on each connection,
/// HEARTBEAT when nothing else went out for an interval, the broker declared dead after heartbeat × liveness of
/// silence, requests handed to the application, replies only on the connection their request came on, and
/// the reconnect delay after each kind of ending. Driven by <see cref="SessionDriver{TCommand}"/>.
/// </summary>
internal sealed class WorkerCore : ISessionCore<WorkerCommand>
{
    private readonly WorkerOptions _options;
    private readonly ILogger _logger;
    private readonly WorkerLiveness _liveness;
    private readonly Action<long, WorkerRequest, MdpVersion> _deliver;
    private readonly TagList _tags;
    private readonly string _version;
    private readonly TimeSpan _replySendTimeout;
    private readonly Action<object?, SendOutcome> _replySent;
    private long _connections;
    private long _reconnects;
    private long _requestsReceived;
    private long _repliesSent;
    private long _partialsSent;
    private long _heartbeatsSent;
    private long _heartbeatsReceived;
    private long _brokerDisconnects;
    private long _brokerSilences;
    private long _handlerFailures;
    private long _staleReplies;
    private long _invalidMessages;

    /// <param name="options">Validated settings.</param>
    /// <param name="timeProvider">Clock for heartbeats, liveness and back-off.</param>
    /// <param name="logger">Where the session's events are logged.</param>
    /// <param name="deliver">Hands a request to the application, with the connection it came on.</param>
    public WorkerCore(WorkerOptions options, TimeProvider timeProvider, ILogger logger, Action<long, WorkerRequest, MdpVersion> deliver)
    {
        _options = options;
        _logger = logger;
        _deliver = deliver;
        _liveness = new WorkerLiveness(options, timeProvider);
        _tags = WorkerMetrics.Tags(options.Service);
        _version = options.Version.Number();

        // A reply may wait for room in a full outbound queue, but not past the point where the broker
        // would be declared dead anyway.
        _replySendTimeout = options.Heartbeat * options.Liveness;
        _replySent = (state, outcome) => ReplySent((ReplyCommand)state!, outcome);
    }

    /// <summary>The counters so far; each read atomically (the session loop writes them).</summary>
    public WorkerStatistics Statistics => new(
        Interlocked.Read(ref _connections),
        Interlocked.Read(ref _reconnects),
        Interlocked.Read(ref _requestsReceived),
        Interlocked.Read(ref _repliesSent),
        Interlocked.Read(ref _partialsSent),
        Interlocked.Read(ref _heartbeatsSent),
        Interlocked.Read(ref _heartbeatsReceived),
        Interlocked.Read(ref _brokerDisconnects),
        Interlocked.Read(ref _brokerSilences),
        Interlocked.Read(ref _handlerFailures),
        Interlocked.Read(ref _staleReplies),
        Interlocked.Read(ref _invalidMessages));

    public TimeSpan NextDeadlineIn => _liveness.WaitTimeout;

    public void OnOpened(ISessionLink link)
    {
        Interlocked.Increment(ref _connections);
        WorkerLog.Connecting(_logger, _options.Service, _options.BrokerEndpoint, _version, link.Id);
        _liveness.Connected();

        // A fresh socket queues READY until the TCP connection is up (no wait needed).
        TrySendControl(link, new WorkerReady(_options.Service) { TraceContext = _options.TraceContext }, "READY");
    }

    public void OnMessage(ISessionLink link, Message message)
    {
        switch (message.PeerEvent)
        {
            case PeerEventKind.Connected:
                return;
            case PeerEventKind.Disconnected:
                // The broker knows a worker by its connection: once that ends (after whatever it delivered),
                // waiting for DISCONNECT or for silence only delays the fresh registration that follows anyway.
                link.End(SessionEnd.ConnectionLost);
                return;
        }

        var parsed = MdpCodec.ParseAtWorker(message);
        string? problem = parsed.IsSuccess
            ? parsed.Version == _options.Version ? null : $"{parsed.Version.DisplayName()} command on an {_options.Version.DisplayName()} worker"
            : parsed.Error;
        if (problem is not null)
        {
            // Invalid input is not a sign of life from a broker speaking our protocol: it does not count as a heartbeat.
            Interlocked.Increment(ref _invalidMessages);
            WorkerMetrics.InvalidMessages.Add(1, _tags);
            WorkerLog.InvalidMessage(_logger, _options.Service, problem);
            return;
        }

        switch (parsed.Command)
        {
            case WorkerRequest request:
                _liveness.Received(provesRegistration: true);
                _liveness.RequestStarted();
                Interlocked.Increment(ref _requestsReceived);
                WorkerMetrics.Requests.Add(1, _tags);
                WorkerLog.RequestReceived(_logger, _options.Service, link.Id, request.Body.Count);
                _deliver(link.Id, request, parsed.Version);
                return;

            case WorkerHeartbeat:
                _liveness.Received(provesRegistration: true);
                Interlocked.Increment(ref _heartbeatsReceived);
                return;

            case WorkerDisconnect:
                // DISCONNECT is not a heartbeat: the broker has dropped us.
                link.End(SessionEnd.PeerDisconnected);
                return;
        }

        // ParseAtWorker yields only the three commands a broker may send.
    }

    public void OnTimer(ISessionLink link)
    {
        if (_liveness.BrokerDead)
        {
            link.End(SessionEnd.PeerSilent);
            return;
        }

        if (_liveness.TryFireHeartbeat() && TrySendControl(link, WorkerHeartbeat.Instance, "HEARTBEAT"))
        {
            Interlocked.Increment(ref _heartbeatsSent);
        }
    }

    public void OnCommand(ISessionLink link, WorkerCommand command)
    {
        switch (command)
        {
            case ReconnectCommand reconnect when reconnect.ConnectionId == link.Id:
                link.End(SessionEnd.HandlerFailed);
                return;

            case ReplyCommand reply when reply.Request.ConnectionId != link.Id:
                DropStale(reply, link.Id);
                return;

            case ReplyCommand reply:
                MdpWorkerCommand frame = _options.Version == MdpVersion.V01
                    ? new WorkerReply(reply.Request.ClientAddress, reply.Body)
                    : reply.Final ? new WorkerFinal(reply.Request.ClientAddress, reply.Body) : new WorkerPartial(reply.Request.ClientAddress, reply.Body);
                link.SendWaiting(MdpCodec.BuildFromWorker(frame, _options.Version), _replySendTimeout, _replySent, reply, reply.CancellationToken);
                return;
        }

        // A reconnect request from a connection that has already been replaced: nothing to do.
    }

    public SessionClosing OnClosed(SessionEnd end)
    {
        if (end == SessionEnd.Stopping)
        {
            WorkerLog.Stopped(_logger, _options.Service, _options.BrokerEndpoint);
            return new SessionClosing(MdpCodec.BuildFromWorker(WorkerDisconnect.Instance, _options.Version), TimeSpan.Zero);
        }

        TimeSpan delay = _liveness.ReconnectDelay(end);
        string? lost = null;
        switch (end)
        {
            case SessionEnd.PeerSilent:
                Interlocked.Increment(ref _brokerSilences);
                WorkerLog.BrokerSilent(_logger, _options.Service, _options.BrokerEndpoint, (_options.Heartbeat * _options.Liveness).TotalMilliseconds, delay.TotalMilliseconds);
                lost = "silent";
                break;
            case SessionEnd.PeerDisconnected:
                Interlocked.Increment(ref _brokerDisconnects);
                WorkerLog.BrokerDisconnected(_logger, _options.Service, _options.BrokerEndpoint, delay.TotalMilliseconds);
                lost = "disconnected";
                break;
            case SessionEnd.ConnectionLost or SessionEnd.HandshakeFailed:
                WorkerLog.ConnectionLost(_logger, _options.Service, _options.BrokerEndpoint, delay.TotalMilliseconds);
                lost = "connection_lost";
                break;
        }

        if (lost is not null)
        {
            Callback.Invoke(_options.OnPeerLost, new PeerLostArguments(_options.BrokerEndpoint, lost, delay), _logger, nameof(_options.OnPeerLost));
        }

        Interlocked.Increment(ref _reconnects);
        WorkerMetrics.Reconnects.Add(1, _tags);

        // After a handler failure the broker must hear DISCONNECT to requeue the request; after silence or a
        // DISCONNECT from the broker there is nobody to tell (RFC 7: send nothing more).
        var farewell = end == SessionEnd.HandlerFailed ? MdpCodec.BuildFromWorker(WorkerDisconnect.Instance, _options.Version) : null;
        return new SessionClosing(farewell, delay);
    }

    /// <summary>Counts a failed handler (the application's loop runs handlers; only it sees them fail).</summary>
    public void CountHandlerFailure()
    {
        Interlocked.Increment(ref _handlerFailures);
        WorkerMetrics.HandlerFailures.Add(1, _tags);
    }

    /// <summary>A reply posted after the session stopped: no connection will carry it.</summary>
    public void Abandon(WorkerCommand command)
    {
        if (command is ReplyCommand reply)
        {
            DropStale(reply, 0);
        }
    }

    /// <summary>The outcome of a reply's send (its request's connection is the one it was sent on).</summary>
    private void ReplySent(ReplyCommand reply, SendOutcome outcome)
    {
        long connection = reply.Request.ConnectionId;
        switch (outcome)
        {
            case SendOutcome.Sent:
                // Recorded before the loop takes its next input, so the next request finds the worker idle.
                if (reply.Final)
                {
                    _liveness.FinalReplySent();
                    Interlocked.Increment(ref _repliesSent);
                    WorkerMetrics.Replies.Add(1, _tags);
                }
                else
                {
                    _liveness.MessageSent();
                    Interlocked.Increment(ref _partialsSent);
                }

                reply.Done.TrySetResult(true);
                return;

            case SendOutcome.Cancelled:
                reply.Done.TrySetCanceled(reply.CancellationToken);
                return;

            case SendOutcome.Closed:
                DropStale(reply, connection);
                return;

            default:
                WorkerLog.SendDropped(_logger, _options.Service, reply.Final ? "a reply" : "a partial reply", _replySendTimeout.TotalMilliseconds);
                reply.Done.TrySetResult(false);
                return;
        }
    }

    private void DropStale(ReplyCommand reply, long connection)
    {
        Interlocked.Increment(ref _staleReplies);
        WorkerMetrics.StaleReplies.Add(1, _tags);
        WorkerLog.StaleReply(_logger, _options.Service, reply.Request.ConnectionId, connection);
        reply.Done.TrySetResult(false);
    }

    /// <summary>
    /// Sends a control command only if the socket can take it at once: when the queue to the broker is full,
    /// the broker is not reading, and a heartbeat more or less changes nothing.
    /// </summary>
    private bool TrySendControl(ISessionLink link, MdpWorkerCommand command, string name)
    {
        if (link.TrySend(MdpCodec.BuildFromWorker(command, _options.Version)))
        {
            _liveness.MessageSent();
            return true;
        }

        WorkerLog.SendDropped(_logger, _options.Service, name, 0);
        return false;
    }
}
