using Reliability.Patterns.Heartbeating;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Reliability.Patterns.ParanoidPirate;
using Reliability.Transport;

namespace Reliability.Patterns.SimplePirate;

/// <summary>
/// A Simple Pirate worker (zguide spworker): a REQ socket with a random printable identity that
/// sends READY (<c>01</c>) and then answers each request with a handler.
/// </summary>
/// <remarks>
/// <para>The handler receives the request body (after the client's envelope) and returns the reply
/// body; the worker puts the envelope back. There are no heartbeats: if the queue restarts, the
/// worker waits forever (use <see cref="ParanoidPirateWorker"/> where that matters).</para>
/// <para>A REQ socket must answer before it can receive again, so when the handler throws (or a
/// malformed request arrives) the worker drops the request and reconnects on a fresh socket that
/// sends READY again; the client's retry recovers the request.</para>
/// </remarks>
public sealed class SimplePirateWorker
{
    private readonly Func<Message, CancellationToken, ValueTask<Message>> _handler;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private long _replies;
    private int _started;

    /// <summary>Creates a worker; nothing connects until <see cref="RunAsync"/>.</summary>
    /// <param name="handler">Turns a request body into a reply body; should honour the token.</param>
    /// <param name="options">Settings; <see langword="null"/> for the defaults.</param>
    /// <param name="loggerFactory">Logging; none when <see langword="null"/>.</param>
    /// <param name="timeProvider">Clock for the socket; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="options"/> is invalid.</exception>
    public SimplePirateWorker(
        Func<Message, CancellationToken, ValueTask<Message>> handler,
        SimplePirateWorkerOptions? options = null,
        ILoggerFactory? loggerFactory = null,
        TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        options ??= new SimplePirateWorkerOptions();
        options.Validate();
        Options = options;
        _handler = handler;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger<SimplePirateWorker>();
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The settings in use.</summary>
    public SimplePirateWorkerOptions Options { get; }

    /// <summary>Replies sent so far.</summary>
    public long RepliesSent => Interlocked.Read(ref _replies);

    /// <summary>Serves until <paramref name="cancellationToken"/> is cancelled, then closes its socket and returns. Can be called once.</summary>
    /// <exception cref="InvalidOperationException">Already started.</exception>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("The worker is already running or has run.");
        }

        try
        {
            // Bounded by cancellation: a pass only ends early after a failed request.
            while (!cancellationToken.IsCancellationRequested)
            {
                await RunSessionAsync(cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Normal shutdown.
        }

        SimplePirateLog.WorkerStopped(_logger, RepliesSent);
    }

    private async Task RunSessionAsync(CancellationToken cancellationToken)
    {
        var identity = Options.RoutingId.IsEmpty ? PirateProtocol.RandomIdentity() : Options.RoutingId;
        var name = new RoutingKey(identity);
        await using var socket = new RequestSocket(new SocketOptions { RoutingId = identity, Linger = TimeSpan.Zero }, _loggerFactory, _time);
        SimplePirateLog.WorkerConnecting(_logger, name, Options.Endpoint);
        socket.Connect(Options.Endpoint);
        await socket.SendAsync(PirateProtocol.Ready(), cancellationToken).ConfigureAwait(false);

        // Bounded by cancellation (or a failed request, which ends the session).
        while (true)
        {
            var request = await socket.ReceiveAsync(cancellationToken).ConfigureAwait(false);
            int delimiter = PirateProtocol.FindDelimiter(request, 0);
            if (delimiter < 0)
            {
                SimplePirateLog.InvalidRequest(_logger, name, request.Count);
                PirateMetrics.InvalidMessages.Add(1, PirateMetrics.Queue(PirateMetrics.Simple, "source", "queue"));
                return;
            }

            var (envelope, body) = PirateProtocol.Split(request, delimiter);
            Message result;
            try
            {
                result = await _handler(body, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
            {
                SimplePirateLog.HandlerFailed(_logger, name, ex);
                PirateMetrics.WorkerRequests.Add(1, new System.Diagnostics.TagList { { "outcome", "failed" } });
                return;
            }

            await socket.SendAsync(PirateProtocol.BuildReply(envelope, result ?? new Message()), cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _replies);
            PirateMetrics.WorkerRequests.Add(1, new System.Diagnostics.TagList { { "outcome", "ok" } });
        }
    }
}
