namespace Reliability.Mdp.Worker;

/// <summary>Counts of one <see cref="MajordomoWorker"/> since it was created.</summary>
/// <param name="Connections">Sockets opened (each sent READY): 1 plus the reconnects.</param>
/// <param name="Reconnects">Connections replaced by a fresh socket, for any reason.</param>
/// <param name="RequestsReceived">REQUEST commands received.</param>
/// <param name="RepliesSent">Final replies (MDP/0.1 REPLY, MDP/0.2 FINAL) sent.</param>
/// <param name="PartialsSent">MDP/0.2 PARTIAL replies sent.</param>
/// <param name="HeartbeatsSent">HEARTBEAT commands sent (only when nothing else went out for an interval).</param>
/// <param name="HeartbeatsReceived">HEARTBEAT commands received from the broker.</param>
/// <param name="BrokerDisconnects">DISCONNECT commands received from the broker (each followed by re-registering).</param>
/// <param name="BrokerSilences">Times the broker was declared dead after heartbeat × liveness of silence.</param>
/// <param name="HandlerFailures">Requests whose handler threw (answered with a failure reply, or followed by DISCONNECT and re-registering: <see cref="WorkerOptions.OnHandlerFailure"/>).</param>
/// <param name="StaleReplies">Replies dropped because their connection had been replaced.</param>
/// <param name="InvalidMessages">Messages from the broker that were not valid MDP worker commands of our version.</param>
public readonly record struct WorkerStatistics(
    long Connections,
    long Reconnects,
    long RequestsReceived,
    long RepliesSent,
    long PartialsSent,
    long HeartbeatsSent,
    long HeartbeatsReceived,
    long BrokerDisconnects,
    long BrokerSilences,
    long HandlerFailures,
    long StaleReplies,
    long InvalidMessages);
