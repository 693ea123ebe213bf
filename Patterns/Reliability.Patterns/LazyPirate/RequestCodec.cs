using Reliability.Transport;

namespace Reliability.Patterns.LazyPirate;

/// <summary>
/// How a client built on <see cref="LazyPirateCore{TRequest, TReply}"/> puts its requests on the
/// wire and reads its replies back: plain frames for the Lazy Pirate client, MDP commands for the
/// Majordomo client. Pure functions of the messages: no I/O, no waiting.
/// </summary>
/// <typeparam name="TRequest">What the caller asks for.</typeparam>
/// <typeparam name="TReply">What the caller gets back.</typeparam>
internal interface IRequestCodec<in TRequest, TReply>
{
    /// <summary>The message one attempt sends; a new one each time, because sending hands it over.</summary>
    Message Encode(TRequest request);

    /// <summary>
    /// Starts reading the reply to attempt <paramref name="attempt"/> of <paramref name="request"/>,
    /// sent on connection <paramref name="connectionId"/>: the reader is given every message that
    /// connection receives until it returns <see cref="ReplyStep{TReply}.Done"/> or a failure.
    /// </summary>
    IReplyReader<TReply> StartReply(TRequest request, int attempt, long connectionId);
}

/// <summary>Reads the messages of one attempt's reply (a protocol may need several: partials, strays to skip).</summary>
/// <typeparam name="TReply">What the caller gets back.</typeparam>
internal interface IReplyReader<TReply>
{
    /// <summary>Takes the next message the attempt's connection received.</summary>
    ReplyStep<TReply> Read(Message message);
}

/// <summary>What one received message did to an attempt: nothing yet (keep reading), answered it, or failed it.</summary>
/// <typeparam name="TReply">What the caller gets back.</typeparam>
internal readonly struct ReplyStep<TReply>
{
    private ReplyStep(bool done, TReply? reply, Exception? error)
    {
        IsDone = done;
        Reply = reply;
        Error = error;
    }

    /// <summary>Keep reading: the message was skipped or is part of a longer reply.</summary>
    public static ReplyStep<TReply> More => default;

    /// <summary>True when the attempt is answered with <see cref="Reply"/>.</summary>
    public bool IsDone { get; }

    /// <summary>The reply, when <see cref="IsDone"/>.</summary>
    public TReply? Reply { get; }

    /// <summary>Why the attempt failed (not retried; the caller gets this exception), or null.</summary>
    public Exception? Error { get; }

    /// <summary>The attempt is answered.</summary>
    public static ReplyStep<TReply> Done(TReply reply) => new(true, reply, null);

    /// <summary>The attempt failed with <paramref name="error"/>, which the caller is thrown.</summary>
    public static ReplyStep<TReply> Fail(Exception error) => new(false, default, error);
}

/// <summary>
/// What a client built on <see cref="LazyPirateRequester{TRequest, TReply}"/> logs and measures, and
/// the exception its callers get when a request is given up. The core keeps the counts itself.
/// Called by the driver outside the core's lock, in the order the core decided.
/// </summary>
/// <typeparam name="TRequest">What the caller asks for.</typeparam>
internal interface IRequestEvents<in TRequest>
{
    /// <summary>A request passed its checks and goes to the core.</summary>
    void Started();

    /// <summary>A new connection was opened (there was no idle one to reuse).</summary>
    void SocketOpened(long socketId);

    /// <summary>An attempt after the first starts.</summary>
    void Retrying(long requestId, TRequest request, int attempt);

    /// <summary>An attempt got no reply in time; its connection is closed.</summary>
    void AttemptAbandoned(long requestId, TRequest request, int attempt, long socketId);

    /// <summary>An attempt failed with <paramref name="error"/>; its connection is closed.</summary>
    void AttemptFailed(long requestId, TRequest request, int attempt, long socketId, Exception error);

    /// <summary>The request was answered on its <paramref name="attempts"/>-th attempt.</summary>
    void Answered(long requestId, TRequest request, int attempts)
    {
    }

    /// <summary>The caller's token ended the request.</summary>
    void Cancelled(long requestId, TRequest request, int attempts)
    {
    }

    /// <summary>No attempt got a reply in time (<paramref name="reason"/>); returns what the caller is thrown.</summary>
    Exception Abandoned(long requestId, TRequest request, int attempts, TimeoutException reason);

    /// <summary>The requester was disposed and closed <paramref name="sockets"/> connection(s).</summary>
    void Disposed(int sockets)
    {
    }
}
