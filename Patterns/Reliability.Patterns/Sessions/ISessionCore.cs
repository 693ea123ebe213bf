using Reliability.Transport;

namespace Reliability.Patterns.Sessions;

/// <summary>
/// The decisions of a reconnecting, heartbeating session over one DEALER connection at a time (the
/// Majordomo worker, the Paranoid Pirate worker), with no I/O of its own: <see cref="SessionDriver{TCommand}"/>
/// owns the socket, the timer and the reconnects and calls these members one at a time from its loop, so a
/// core never sees two inputs at once and needs no locks for its own state.
/// </summary>
/// <typeparam name="TCommand">What the application asks of the session (a reply to send, a reconnect), posted through <see cref="SessionDriver{TCommand}.Post"/>.</typeparam>
internal interface ISessionCore<in TCommand>
{
    /// <summary>
    /// How long the driver may wait for input before it must call <see cref="OnTimer"/> (a heartbeat or an
    /// expiry check is due); <see cref="Timeout.InfiniteTimeSpan"/> when nothing is due.
    /// </summary>
    TimeSpan NextDeadlineIn { get; }

    /// <summary>A fresh socket was connected: a new liveness period starts (typically: send READY).</summary>
    void OnOpened(ISessionLink link);

    /// <summary>A message or peer event (<see cref="Message.PeerEvent"/>) arrived on the current connection.</summary>
    void OnMessage(ISessionLink link, Message message);

    /// <summary>The deadline from <see cref="NextDeadlineIn"/> has passed (possibly early or late).</summary>
    void OnTimer(ISessionLink link);

    /// <summary>The application posted <paramref name="command"/>; the core tells stale commands (from an earlier connection) by <see cref="ISessionLink.Id"/>.</summary>
    void OnCommand(ISessionLink link, TCommand command);

    /// <summary>
    /// The connection ended for <paramref name="end"/>: says what to send as a farewell (lingering for it to
    /// leave) or null to drop whatever is still queued, and how long to wait before the next connection.
    /// </summary>
    SessionClosing OnClosed(SessionEnd end);
}

/// <summary>What a core may do with the connection it is called for.</summary>
internal interface ISessionLink
{
    /// <summary>The connection's number (1 for the first, then one more for each reconnect).</summary>
    long Id { get; }

    /// <summary>Cancelled when this connection ends: work the core started for it (a handler) should stop.</summary>
    CancellationToken Closing { get; }

    /// <summary>Sends a control message if the socket can take it at once (never waits); false when its queue is full.</summary>
    bool TrySend(Message message);

    /// <summary>
    /// Sends an application message after the core returns, waiting up to <paramref name="maxWait"/> for room,
    /// in the order queued; <paramref name="done"/> is called on the driver's loop with <paramref name="state"/> and
    /// the outcome before any further input reaches the core. (A state argument rather than a closure: this is
    /// a request's path, and a core can keep one delegate for all its sends.)
    /// </summary>
    void SendWaiting(Message message, TimeSpan maxWait, Action<object?, SendOutcome> done, object? state, CancellationToken cancellationToken);

    /// <summary>Ends this connection once the current input is handled; the first reason given wins.</summary>
    void End(SessionEnd reason);
}

/// <summary>How a <see cref="ISessionLink.SendWaiting"/> send ended.</summary>
internal enum SendOutcome
{
    /// <summary>Handed to the connection.</summary>
    Sent,

    /// <summary>No room within the allowed wait: dropped.</summary>
    TimedOut,

    /// <summary>The caller's token was cancelled first: dropped.</summary>
    Cancelled,

    /// <summary>The connection ended before the message could be handed over: dropped.</summary>
    Closed,
}

/// <summary>How a connection is closed and when the next one opens.</summary>
/// <param name="Farewell">Sent before closing, lingering for it to leave; null closes at once and drops what is queued.</param>
/// <param name="ReconnectIn">Wait before the next connection (ignored when stopping).</param>
/// <param name="Quiesce">Work of the ended connection (a cancelled handler) to finish before the next connection opens or the session stops; null for none.</param>
internal readonly record struct SessionClosing(Message? Farewell, TimeSpan ReconnectIn, Task? Quiesce = null);
