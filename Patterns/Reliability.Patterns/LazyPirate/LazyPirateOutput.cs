using Reliability.Transport;

namespace Reliability.Patterns.LazyPirate;

/// <summary>What <see cref="LazyPirateCore{TRequest, TReply}"/> asks its driver to do, or tells it happened.</summary>
internal enum LazyPirateAction
{
    /// <summary>Open connection <c>ConnectionId</c>, connecting to endpoint <c>FirstEndpoint</c> first.</summary>
    Open,

    /// <summary>Send <c>Frames</c> on connection <c>ConnectionId</c>, then feed every message it receives back as a reply.</summary>
    Send,

    /// <summary>Close connection <c>ConnectionId</c> (linger 0) and stop reading it; a late reply on it must never be seen.</summary>
    Close,

    /// <summary>Attempt <c>Attempt</c> (the second or later) of request <c>RequestId</c> starts; for logs, metrics and the retry callback.</summary>
    Retrying,

    /// <summary>Attempt <c>Attempt</c> of request <c>RequestId</c> got no reply in time; its connection is being closed.</summary>
    AttemptTimedOut,

    /// <summary>Attempt <c>Attempt</c> of request <c>RequestId</c> failed with <c>Error</c>; its connection is being closed.</summary>
    AttemptFailed,

    /// <summary>Request <c>RequestId</c> is answered with <c>Reply</c> on its <c>Attempt</c>-th attempt.</summary>
    Answered,

    /// <summary>Request <c>RequestId</c> ended without a reply, for the reason in <c>Failure</c>.</summary>
    GaveUp,

    /// <summary>The core was disposed; every close it asked for precedes this output.</summary>
    Disposed,
}

/// <summary>Why a request ended without a reply.</summary>
internal enum LazyPirateFailure
{
    /// <summary>None of the allowed attempts got a reply within the request timeout.</summary>
    NoReply,

    /// <summary>An attempt failed for another reason (a send error, an unusable reply); such a failure is not retried.</summary>
    AttemptFailed,

    /// <summary>The caller cancelled the request.</summary>
    Cancelled,

    /// <summary>The core was disposed while the request was in flight.</summary>
    Disposed,
}

/// <summary>
/// One output of <see cref="LazyPirateCore{TRequest, TReply}"/>: a single flat record rather than a
/// type per action, so draining the outputs allocates nothing. Which fields are set depends on
/// <see cref="Action"/> (see <see cref="LazyPirateAction"/>).
/// </summary>
internal readonly record struct LazyPirateOutput<TRequest, TReply>(
    LazyPirateAction Action,
    long RequestId = 0,
    TRequest? Request = default,
    long ConnectionId = 0,
    int Attempt = 0,
    int FirstEndpoint = 0,
    Message? Frames = null,
    TReply? Reply = default,
    LazyPirateFailure Failure = LazyPirateFailure.NoReply,
    Exception? Error = null);
