using Reliability.Transport.Internal;
using Reliability.Patterns.Heartbeating;
using Reliability.Patterns.Sessions;

namespace Reliability.Mdp.Worker;

/// <summary>
/// The worker's heartbeat, liveness and reconnect decisions, separated from the socket loop so
/// they can be tested on a manual clock: when to send HEARTBEAT, when the broker is dead, and how
/// long to wait before the next fresh connection.
/// </summary>
/// <remarks>
/// Part of <see cref="WorkerCore"/>, so it is only ever called from the session driver's loop, one input at a
/// time; <see cref="IsBusy"/> and the timestamps underneath may be read from other threads.
/// </remarks>
internal sealed class WorkerLiveness
{
    private readonly PeerLiveness _broker;
    private readonly Backoff _backoff;
    private readonly bool _expireWhileBusy;
    private bool _brokerAnswered;
    private volatile bool _busy;

    public WorkerLiveness(WorkerOptions options, TimeProvider timeProvider)
    {
        var heartbeat = options.HeartbeatOptions;
        _broker = new PeerLiveness(heartbeat, timeProvider);
        _backoff = heartbeat.CreateBackoff();
        _expireWhileBusy = options.BrokerHeartbeatsBusyWorkers;
    }

    /// <summary>Whether a request is being worked on (between REQUEST and the final reply).</summary>
    public bool IsBusy => _busy;

    /// <summary>Whether the broker has sent a REQUEST or HEARTBEAT on the current connection, i.e. it knows us.</summary>
    public bool BrokerAnswered => _brokerAnswered;

    /// <summary>How long the loop may wait for input before it must act (send a heartbeat or check expiry).</summary>
    public TimeSpan WaitTimeout => ExpirySuspended ? _broker.Heartbeat.DueIn : _broker.NextDeadlineIn;

    /// <summary>Whether the broker has been silent for heartbeat × liveness (never while expiry is suspended for a busy worker).</summary>
    public bool BrokerDead => !ExpirySuspended && _broker.IsExpired;

    // zguide-style brokers heartbeat only idle workers: a worker busy for longer than the expiry would
    // otherwise declare a healthy broker dead and drop its reply.
    private bool ExpirySuspended => _busy && !_expireWhileBusy;

    /// <summary>A fresh socket was connected and READY sent: a new liveness period starts.</summary>
    public void Connected()
    {
        _broker.Restart();
        _brokerAnswered = false;
        _busy = false;
    }

    /// <summary>A REQUEST arrived: the worker is busy until <see cref="FinalReplySent"/>.</summary>
    public void RequestStarted() => _busy = true;

    /// <summary>
    /// The final reply went out: the worker is idle. When expiry was suspended during the request, the
    /// broker gets a full expiry period from now to show that it is alive, rather than being judged by the
    /// silence it kept while we were busy.
    /// </summary>
    public void FinalReplySent()
    {
        if (ExpirySuspended)
        {
            _broker.MessageReceived();
        }

        _busy = false;
        _broker.MessageSent();
    }

    /// <summary>
    /// A valid command arrived from the broker. Every command counts as a heartbeat (RFC 7); a REQUEST or
    /// HEARTBEAT also proves that the broker accepted our READY, which ends the reconnect back-off.
    /// </summary>
    public void Received(bool provesRegistration)
    {
        _broker.MessageReceived();
        if (provesRegistration)
        {
            _brokerAnswered = true;
            _backoff.Reset();
        }
    }

    /// <summary>Something (READY, a reply, a heartbeat) was sent: the next heartbeat is due one interval later.</summary>
    public void MessageSent() => _broker.MessageSent();

    /// <summary>If a heartbeat is due, reschedules the next one and returns true: the caller sends HEARTBEAT.</summary>
    public bool TryFireHeartbeat() => _broker.Heartbeat.TryFire();

    /// <summary>
    /// How long to wait before the next connection after one ended for <paramref name="end"/>. A DISCONNECT
    /// or a lost connection from a broker that had accepted us is how a broker restart shows itself, so
    /// re-register at once (the fresh socket waits for the broker to listen again); the same right after
    /// READY (the broker refuses us or keeps dropping us), silence and handler failures back off.
    /// </summary>
    public TimeSpan ReconnectDelay(SessionEnd end)
    {
        if ((end is SessionEnd.PeerDisconnected or SessionEnd.ConnectionLost) && _brokerAnswered)
        {
            _backoff.Reset();
            return TimeSpan.Zero;
        }

        if (end == SessionEnd.HandlerFailed && _brokerAnswered)
        {
            // The broker is fine; only the request was bad. Come back at once so the service keeps its capacity.
            return TimeSpan.Zero;
        }

        return _backoff.NextDelay();
    }
}
