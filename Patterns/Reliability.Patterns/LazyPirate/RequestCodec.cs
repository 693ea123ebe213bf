using Polly;
using Reliability.Transport;

namespace Reliability.Patterns.LazyPirate;

/// <summary>
/// How a client built on <see cref="LazyPirateRequester{TRequest, TReply}"/> puts its requests on
/// the wire and reads its replies back: plain frames for the Lazy Pirate client, MDP commands for
/// the Majordomo client.
/// </summary>
/// <typeparam name="TRequest">What the caller asks for.</typeparam>
/// <typeparam name="TReply">What the caller gets back.</typeparam>
internal interface IRequestCodec<in TRequest, TReply>
{
    /// <summary>The message one attempt sends; a new one each time, because sending hands it over.</summary>
    Message Encode(TRequest request);

    /// <summary>
    /// Reads the reply to <paramref name="request"/> from <paramref name="connection"/>, taking as many
    /// messages as the protocol needs (skipping strays, collecting partial replies). Throwing fails the
    /// attempt; the requester then closes the connection and lets the pipeline decide about a retry.
    /// </summary>
    /// <param name="connection">The connection the attempt's request went out on.</param>
    /// <param name="request">The request being answered.</param>
    /// <param name="attempt">The attempt's number, 1 for the first.</param>
    /// <param name="cancellationToken">Ends the attempt (its timeout, the caller, or disposal).</param>
    ValueTask<TReply> ReadReplyAsync(IRequestConnection connection, TRequest request, int attempt, CancellationToken cancellationToken);
}

/// <summary>
/// What a client built on <see cref="LazyPirateRequester{TRequest, TReply}"/> logs and measures, and
/// the exception its callers get when a request is given up. The requester keeps the counts itself.
/// </summary>
/// <typeparam name="TRequest">What the caller asks for.</typeparam>
internal interface IRequestEvents<in TRequest>
{
    /// <summary>A request passed its checks and goes to the pipeline.</summary>
    void Started();

    /// <summary>A new connection was opened (there was no idle one to reuse).</summary>
    void SocketOpened(long socketId);

    /// <summary>An attempt after the first starts.</summary>
    void Retrying(long requestId, TRequest request, int attempt);

    /// <summary>The pipeline cancelled an attempt (its timeout, or a lost hedging race); its connection is closed.</summary>
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

    /// <summary>The pipeline gave up on the request (<paramref name="reason"/>); returns what the caller is thrown.</summary>
    Exception Abandoned(long requestId, TRequest request, int attempts, ExecutionRejectedException reason);

    /// <summary>The requester was disposed and closed <paramref name="sockets"/> connection(s).</summary>
    void Disposed(int sockets)
    {
    }
}
