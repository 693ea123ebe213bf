using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Reliability.Patterns.Heartbeating;
using Reliability.Patterns.Sessions;
using Reliability.Transport;

namespace Reliability.Patterns.ParanoidPirate;

/// <summary>
/// A Paranoid Pirate worker (PPP, RFC 6; zguide ppworker): a DEALER that announces itself with
/// READY, answers requests with a handler, heartbeats the queue and reconnects when the queue
/// falls silent. Wire-compatible with the zguide's ppqueue and with <see cref="ParanoidPirateQueue"/>.
/// </summary>
/// <remarks>
/// <para>The handler receives the request body (the frames after the client's envelope) and
/// returns the reply body; the worker puts the envelope back. The handler runs on the thread pool
/// while the worker's loop keeps receiving and heartbeating, so a long request never makes the
/// queue think the worker died (docs/wire/ppp.md §8).</para>
/// <para>Liveness and heartbeats start when the connection's handshake succeeds: until the queue
/// is reachable the worker only waits (the transport retries the connection every 100 ms), so a
/// worker started before its queue, or waiting for a restarted one, joins it as soon as it is up.
/// Once connected, when nothing has arrived from the queue for interval × liveness, the worker closes its
/// socket without lingering (queued heartbeats and READYs are discarded, docs/wire/ppp.md §11), waits
/// (<see cref="HeartbeatOptions.ReconnectInitial"/> doubling to <see cref="HeartbeatOptions.ReconnectMax"/>, reset by any message from the queue), and connects
/// a fresh socket that sends READY. A request being handled at that moment is cancelled: its reply
/// could no longer reach the client.</para>
/// <para>The handler should be asynchronous: one that blocks its thread for a long time takes a
/// thread-pool thread away from the loop and the transport, and on a small pool (two cores means
/// two threads before the pool grows, about twice a second) that can delay heartbeats past the
/// queue's expiry.</para>
/// <para>If the handler throws, the worker sends READY again instead of a reply, so the queue
/// knows it is free (our queue then requeues or drops the request; the client's retry recovers it).
/// The handler should honour its cancellation token: shutdown and reconnects wait for it.</para>
/// </remarks>
public sealed class ParanoidPirateWorker
{
    private readonly PirateWorkerCore _core;
    private readonly SessionDriver<HandlerDone> _session;
    private int _started;

    /// <summary>Creates a worker; nothing connects until <see cref="RunAsync"/>.</summary>
    /// <param name="handler">Turns a request body into a reply body; should honour the token.</param>
    /// <param name="options">Settings; <see langword="null"/> for the defaults.</param>
    /// <param name="loggerFactory">Logging; none when <see langword="null"/>.</param>
    /// <param name="timeProvider">Clock for heartbeats, liveness and back-off; <see cref="TimeProvider.System"/> when <see langword="null"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="options"/> is invalid.</exception>
    public ParanoidPirateWorker(
        Func<Message, CancellationToken, ValueTask<Message>> handler,
        ParanoidPirateWorkerOptions? options = null,
        ILoggerFactory? loggerFactory = null,
        TimeProvider? timeProvider = null)
        : this(handler, options, loggerFactory, timeProvider, null)
    {
    }

    internal ParanoidPirateWorker(
        Func<Message, CancellationToken, ValueTask<Message>> handler,
        ParanoidPirateWorkerOptions? options,
        ILoggerFactory? loggerFactory,
        TimeProvider? timeProvider,
        Random? random)
    {
        ArgumentNullException.ThrowIfNull(handler);
        options ??= new ParanoidPirateWorkerOptions();
        options.Validate();
        Options = options;
        loggerFactory ??= NullLoggerFactory.Instance;
        var time = timeProvider ?? TimeProvider.System;
        _core = new PirateWorkerCore(options, handler, done => _session!.Post(done), time, loggerFactory.CreateLogger<ParanoidPirateWorker>(), random);

        // A fresh socket per connection, closed without linger: nothing queued for a dead queue (heartbeats,
        // READY, a reply) is ever flushed into the next one (docs/wire/ppp.md §11). Peer events tell the
        // session when the handshake succeeded (liveness starts) and when the connection ended.
        _session = new SessionDriver<HandlerDone>(
            _core,
            () => new DealerSocket(
                new SocketOptions { RoutingId = _core.NextIdentity(), Linger = TimeSpan.Zero, ReceivePeerEvents = true, InlineReceiveContinuations = true },
                loggerFactory,
                time),
            options.Endpoint,
            time,
            abandon: static _ => { });
    }

    /// <summary>The settings in use.</summary>
    public ParanoidPirateWorkerOptions Options { get; }

    /// <summary>Replies sent so far.</summary>
    public long RepliesSent => _core.RepliesSent;

    /// <summary>Connections made so far (1 + reconnects after the queue fell silent).</summary>
    public int Sessions => _core.Sessions;

    /// <summary>Raised with the identity of each new connection, after its READY was queued (for tests).</summary>
    internal event Action<ReadOnlyMemory<byte>>? SessionStarted
    {
        add => _core.SessionStarted += value;
        remove => _core.SessionStarted -= value;
    }

    /// <summary>
    /// Serves until <paramref name="cancellationToken"/> is cancelled, reconnecting as often as needed,
    /// then closes its socket and returns. Can be called once.
    /// </summary>
    /// <exception cref="InvalidOperationException">Already started.</exception>
    public Task RunAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("The worker is already running or has run.");
        }

        return _session.RunAsync(cancellationToken);
    }
}
