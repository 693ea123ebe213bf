using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Reliability.Mdp.Protocol;
using Reliability.Patterns.LazyPirate;
using Reliability.Transport;

namespace Reliability.Mdp.Client;

/// <summary>
/// A synchronous-style Majordomo client (RFC 7 / RFC 18 client side, zguide mdcliapi): one request at a
/// time, each waited for with a timeout and resent a bounded number of times (the Lazy Pirate policy)
/// before it is abandoned with <see cref="MdpRequestFailedException"/>.
/// </summary>
/// <remarks>
/// <para>
/// After an attempt times out, its socket is closed with linger 0 and the next attempt uses a new one
/// (PROTOCOLS.md §5 pitfall 1): a REQ socket whose reply never came cannot send again, and on a fresh
/// socket a late reply to the abandoned attempt can never be taken for the answer to a later one.
/// </para>
/// <para>
/// Timeouts and retries are a Polly pipeline, by default the one the Lazy Pirate client uses
/// (<see cref="LazyPiratePipelineExtensions.AddLazyPirate"/>); pass your own in
/// <see cref="MajordomoClientOptions.Pipeline"/> to add a circuit breaker, back-off or telemetry.
/// </para>
/// <para>Thread-safe: concurrent calls are served one after another. For many outstanding requests use <see cref="MajordomoAsyncClient"/>.</para>
/// </remarks>
public sealed class MajordomoClient : IAsyncDisposable, IDisposable
{
    private readonly ILogger _logger;
    private readonly ILoggerFactory? _loggerFactory;
    private readonly TimeProvider _time;
    private readonly ResiliencePipeline _pipeline;
    private readonly SocketOptions _socketOptions;
    private readonly SemaphoreSlim _oneAtATime = new(1, 1);
    private readonly CancellationTokenSource _lifetime = new();
    private readonly string _socketTypeName;
    private ZmqSocket? _socket;
    private long _socketId;
    private long _requests;
    private long _succeeded;
    private long _retries;
    private long _abandoned;
    private long _cancelled;
    private long _socketsOpened;
    private long _invalidReplies;
    private long _nextRequestId;
    private int _disposed;

    /// <summary>Creates the client. No socket is opened until the first request.</summary>
    /// <param name="options">Settings; validated here.</param>
    /// <param name="loggerFactory">Logging for the client and its sockets; none when null.</param>
    /// <param name="timeProvider">Clock for the default pipeline's timeouts and delays and for the sockets; <see cref="TimeProvider.System"/> when null.</param>
    /// <exception cref="ArgumentException"><paramref name="options"/> is invalid.</exception>
    public MajordomoClient(MajordomoClientOptions options, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        _loggerFactory = loggerFactory;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<MajordomoClient>();
        _time = timeProvider ?? TimeProvider.System;
        _socketOptions = options.Socket with { Linger = TimeSpan.Zero };
        _socketTypeName = options.SocketType == MdpClientSocket.Req ? "REQ" : "DEALER";
        _pipeline = options.Pipeline ?? new ResiliencePipelineBuilder { TimeProvider = _time }
            .AddLazyPirate(new LazyPirateOptions
            {
                Endpoints = [options.BrokerEndpoint],
                RequestTimeout = options.Timeout,
                Attempts = options.Retries + 1,
                RetryDelay = options.RetryDelay,
            })
            .Build();
    }

    /// <summary>The settings the client was created with.</summary>
    public MajordomoClientOptions Options { get; }

    /// <summary>Counts since the client was created (each counter read atomically; not one snapshot across them).</summary>
    public MajordomoClientStatistics Statistics => new(
        Interlocked.Read(ref _requests),
        Interlocked.Read(ref _succeeded),
        Interlocked.Read(ref _retries),
        Interlocked.Read(ref _abandoned),
        Interlocked.Read(ref _cancelled),
        Interlocked.Read(ref _socketsOpened),
        Interlocked.Read(ref _invalidReplies));

    /// <summary>
    /// Sends <paramref name="body"/> to <paramref name="service"/> and returns the reply, resending on a fresh
    /// socket after each attempt that got no reply in time.
    /// </summary>
    /// <param name="service">The service name (1 to 255 UTF-8 bytes, no control characters).</param>
    /// <param name="body">The request frames (zero or more); the message is not modified.</param>
    /// <param name="cancellationToken">Abandons the request at once (its socket is closed; nothing is resent).</param>
    /// <returns>The reply.</returns>
    /// <exception cref="MdpRequestFailedException">No valid reply on any attempt (or the pipeline gave up).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
    public async Task<MdpReply> RequestAsync(string service, Message body, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(body);
        var request = new ClientRequest(service, body);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        cancellationToken.ThrowIfCancellationRequested();

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _lifetime.Token);
        await _oneAtATime.WaitAsync(linked.Token).ConfigureAwait(false);
        var state = new RequestState(this, request, Interlocked.Increment(ref _nextRequestId), cancellationToken);
        Interlocked.Increment(ref _requests);
        ClientMetrics.Requests.Add(1, ClientMetrics.Sync);
        try
        {
            var reply = await _pipeline.ExecuteAsync(static (s, token) => s.Client.AttemptAsync(s, token), state, linked.Token)
                .ConfigureAwait(false);
            Interlocked.Increment(ref _succeeded);
            return reply;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Interlocked.Increment(ref _cancelled);
            throw;
        }
        catch (OperationCanceledException ex) when (_lifetime.IsCancellationRequested)
        {
            throw new ObjectDisposedException($"The {nameof(MajordomoClient)} was disposed while request {state.Id} was in flight.", ex);
        }
        catch (ExecutionRejectedException ex)
        {
            // Timeout, open circuit, rate limit...: the pipeline gave up on this request.
            Interlocked.Increment(ref _abandoned);
            ClientMetrics.Abandoned.Add(1, ClientMetrics.Sync);
            LogAbandoned(state, ex);
            string reason = Options.Pipeline is null
                ? $"no reply within {Options.Timeout.TotalMilliseconds} ms on any of {Options.Retries + 1} attempt(s)"
                : $"the resilience pipeline gave up ({ex.GetType().Name})";
            throw new MdpRequestFailedException(request.Service, state.Attempts, Options.BrokerEndpoint, reason, ex);
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    /// <summary>Synchronous <see cref="RequestAsync"/>.</summary>
    /// <param name="service">The service name.</param>
    /// <param name="body">The request frames; not modified.</param>
    /// <param name="cancellationToken">Abandons the request.</param>
    /// <returns>The reply.</returns>
    /// <exception cref="MdpRequestFailedException">No valid reply on any attempt.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
    public MdpReply Request(string service, Message body, CancellationToken cancellationToken = default) =>
        RequestAsync(service, body, cancellationToken).GetAwaiter().GetResult();

    /// <summary>
    /// Asks the broker's MMI whether <paramref name="service"/> has a worker (RFC 8 <c>mmi.service</c>),
    /// with the same timeout and retries as any request.
    /// </summary>
    /// <param name="service">The service to look up.</param>
    /// <param name="cancellationToken">Abandons the lookup.</param>
    /// <returns>The status code: <c>"200"</c> (has workers), <c>"404"</c> (none), <c>"501"</c> (lookup not implemented), or what the broker sent.</returns>
    /// <exception cref="MdpRequestFailedException">The broker did not answer.</exception>
    public async Task<string> QueryServiceAsync(string service, CancellationToken cancellationToken = default)
    {
        var lookup = Mmi.CreateLookup(service);
        var reply = await RequestAsync(lookup.Service, new Message(lookup.Body), cancellationToken).ConfigureAwait(false);
        return Mmi.ReadStatus(reply.Body) ?? string.Empty;
    }

    /// <summary>Closes the socket (linger 0) and ends a request in flight with <see cref="ObjectDisposedException"/>.</summary>
    /// <returns>A task that completes when the socket is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _lifetime.CancelAsync().ConfigureAwait(false);

        // Waits for a request in flight to unwind (it closes its socket on the way out); bounded because
        // every wait in an attempt observes _lifetime.
        await _oneAtATime.WaitAsync().ConfigureAwait(false);
        try
        {
            await CloseSocketAsync().ConfigureAwait(false);
        }
        finally
        {
            _oneAtATime.Release();
        }
    }

    /// <summary>Synchronous <see cref="DisposeAsync"/>.</summary>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private async ValueTask<MdpReply> AttemptAsync(RequestState state, CancellationToken token)
    {
        int attempt = Interlocked.Increment(ref state.AttemptCount);
        if (attempt > 1)
        {
            Interlocked.Increment(ref _retries);
            ClientMetrics.Retries.Add(1, ClientMetrics.Sync);
            ClientLog.Retrying(_logger, state.Id, state.Request.Service, attempt);
        }

        token.ThrowIfCancellationRequested();
        var socket = _socket ??= OpenSocket();
        long socketId = _socketId;
        bool answered = false;
        try
        {
            var message = MdpCodec.BuildFromClient(state.Request, Options.Version, Options.SocketType);

            // Infinite socket-level waits: the pipeline's token bounds the attempt.
            await socket.TrySendAsync(message, System.Threading.Timeout.InfiniteTimeSpan, token).ConfigureAwait(false);
            var reply = await ReceiveReplyAsync(socket, socketId, state, token).ConfigureAwait(false);
            answered = true;
            return reply;
        }
        catch (OperationCanceledException) when (!state.Caller.IsCancellationRequested && !_lifetime.IsCancellationRequested)
        {
            ClientLog.AttemptAbandoned(_logger, state.Id, state.Request.Service, attempt, socketId);
            throw;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            ClientLog.AttemptFailed(_logger, state.Id, state.Request.Service, attempt, socketId, ex);
            throw;
        }
        finally
        {
            if (!answered)
            {
                // The socket may still get the reply to this attempt, late: never reuse it.
                await CloseSocketAsync().ConfigureAwait(false);
            }
        }
    }

    private async ValueTask<MdpReply> ReceiveReplyAsync(ZmqSocket socket, long socketId, RequestState state, CancellationToken token)
    {
        string service = state.Request.Service;
        List<Message>? partials = null;

        // Bounded by the attempt's token; each pass consumes one message.
        while (true)
        {
            var message = await socket.TryReceiveAsync(System.Threading.Timeout.InfiniteTimeSpan, token).ConfigureAwait(false)
                ?? throw new InvalidOperationException("An infinite receive returned no message.");
            var parsed = MdpCodec.ParseAtClient(message, Options.SocketType);
            string? problem = ReplyCheck.Problem(parsed, Options.Version, service);
            if (problem is not null)
            {
                Interlocked.Increment(ref _invalidReplies);
                ClientMetrics.InvalidReplies.Add(1, ClientMetrics.Sync);
                ClientLog.InvalidReply(_logger, Options.BrokerEndpoint, socketId, problem);
                if (Options.SocketType == MdpClientSocket.Req)
                {
                    // A REQ socket delivers exactly one reply per request: this was it, and it is wrong.
                    throw new MdpRequestFailedException(service, state.Attempts, Options.BrokerEndpoint, $"the broker's reply was not valid ({problem})");
                }

                continue;
            }

            switch (parsed.Command)
            {
                case ClientPartial partial:
                    (partials ??= []).Add(new Message(partial.Body));
                    continue;
                default:
                    return new MdpReply(parsed.Command!.Service, new Message(parsed.Command.Body), partials, parsed.Version);
            }
        }
    }

    private ZmqSocket OpenSocket()
    {
        ZmqSocket socket = Options.SocketType == MdpClientSocket.Req
            ? new RequestSocket(_socketOptions, _loggerFactory, _time)
            : new DealerSocket(_socketOptions, _loggerFactory, _time);
        try
        {
            socket.Connect(Options.BrokerEndpoint);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        _socketId = Interlocked.Increment(ref _socketsOpened);
        ClientLog.SocketOpened(_logger, _socketTypeName, _socketId, Options.BrokerEndpoint);
        return socket;
    }

    private async ValueTask CloseSocketAsync()
    {
        var socket = _socket;
        _socket = null;
        if (socket is not null)
        {
            await socket.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void LogAbandoned(RequestState state, Exception exception) =>
        ClientLog.Abandoned(_logger, state.Id, state.Request.Service, state.Attempts, Options.BrokerEndpoint, exception);

    private sealed class RequestState(MajordomoClient client, ClientRequest request, long id, CancellationToken caller)
    {
        public int AttemptCount;

        public MajordomoClient Client { get; } = client;

        public ClientRequest Request { get; } = request;

        public long Id { get; } = id;

        public CancellationToken Caller { get; } = caller;

        public int Attempts => Volatile.Read(ref AttemptCount);
    }
}

/// <summary>Checks shared by both clients: is a parsed message a reply they can use?</summary>
internal static class ReplyCheck
{
    /// <summary>Why <paramref name="parsed"/> is not a reply of <paramref name="version"/> from <paramref name="service"/> (any service when null), or null when it is.</summary>
    public static string? Problem(MdpParseResult<MdpClientCommand> parsed, MdpVersion version, string? service)
    {
        if (!parsed.IsSuccess)
        {
            return parsed.Error;
        }

        if (parsed.Version != version)
        {
            return $"an MDP/{Name(parsed.Version)} reply to an MDP/{Name(version)} client";
        }

        if (service is not null && !string.Equals(parsed.Command.Service, service, StringComparison.Ordinal))
        {
            return $"a reply from service '{parsed.Command.Service}' while waiting for '{service}'";
        }

        return null;
    }

    public static string Name(MdpVersion version) => version == MdpVersion.V01 ? "0.1" : "0.2";
}
