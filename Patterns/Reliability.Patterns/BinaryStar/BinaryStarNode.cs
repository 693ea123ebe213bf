using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Reliability.Transport;

namespace Reliability.Patterns.BinaryStar;

/// <summary>
/// One node of a Binary Star pair (zguide ch. 4, docs/patterns/binary-star.md): publishes its state
/// to the peer every heartbeat, follows the peer's state, and tells the server it is part of whether
/// it may serve a client request (<see cref="AllowClientRequest"/>). Any server plugs in: it asks
/// before answering each request and leaves rejected ones unanswered, so the client fails over.
/// </summary>
/// <remarks>
/// <para>
/// Wire (docs/patterns/binary-star.md §2): a PUB bound on <see cref="BinaryStarOptions.LocalEndpoint"/>
/// and a SUB (subscribed to everything) connected to <see cref="BinaryStarOptions.RemoteEndpoint"/>;
/// each message is one frame holding the state's decimal digit. That is what the zguide's
/// <c>bstar</c> reactor sends, so a node of either kind can be the other's peer.
/// </para>
/// <para>
/// Split brain (the peer in the same active or passive state) ends <see cref="RunAsync"/> with
/// <see cref="SplitBrainException"/>; from then on every request is rejected. The server should stop.
/// </para>
/// <para>Thread-safe: the vote may be asked from any thread while <see cref="RunAsync"/> runs.</para>
/// </remarks>
public sealed class BinaryStarNode : IAsyncDisposable
{
    private readonly ILogger _logger;
    private readonly ILoggerFactory? _loggerFactory;
    private readonly TimeProvider _time;
    private readonly BinaryStarCore _core;
    private readonly object _gate = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly PublisherSocket _publisher;
    private readonly SubscriberSocket _subscriber;
    private long _invalidPeerMessages;
    private long _rejectedRequests;
    private int _started;
    private Task? _run;

    /// <summary>Creates the node in its role's state. Nothing is bound until <see cref="Bind"/> or <see cref="RunAsync"/>.</summary>
    /// <param name="options">Settings; validated here.</param>
    /// <param name="loggerFactory">Logging for the node and its sockets; none when null.</param>
    /// <param name="timeProvider">Clock for the heartbeat and the peer's expiry; <see cref="TimeProvider.System"/> when null.</param>
    /// <exception cref="ArgumentException"><paramref name="options"/> is invalid.</exception>
    public BinaryStarNode(BinaryStarOptions options, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        _loggerFactory = loggerFactory;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<BinaryStarNode>();
        _time = timeProvider ?? TimeProvider.System;
        _core = new BinaryStarCore(options.Role, options.Heartbeat, _time.GetTimestamp(), _time.TimestampFrequency);

        // Linger 0: a state is worth nothing once the node stops, and closing must not wait for a gone peer.
        var socketOptions = new SocketOptions { Linger = TimeSpan.Zero };
        _publisher = new PublisherSocket(socketOptions, loggerFactory, _time);
        _subscriber = new SubscriberSocket(socketOptions, loggerFactory, _time);
    }

    /// <summary>The settings the node was created with.</summary>
    public BinaryStarOptions Options { get; }

    /// <summary>Where the state publisher is bound; null until <see cref="Bind"/> (or <see cref="RunAsync"/>) has bound it.</summary>
    public string? BoundEndpoint { get; private set; }

    /// <summary>The node's current state.</summary>
    public BinaryStarState State
    {
        get
        {
            lock (_gate)
            {
                return _core.State;
            }
        }
    }

    /// <summary>Messages from the peer that were not a state and were dropped.</summary>
    public long InvalidPeerMessages => Interlocked.Read(ref _invalidPeerMessages);

    /// <summary>Client requests the vote refused.</summary>
    public long RejectedRequests => Interlocked.Read(ref _rejectedRequests);

    /// <summary>
    /// The vote: call it for every client request before serving it. True when this node is active,
    /// or becomes active now because the peer has been silent for two heartbeats; false when the
    /// request must be left unanswered (the peer is active, or may still be, or the pair split).
    /// </summary>
    /// <returns>Whether to serve the request.</returns>
    public bool AllowClientRequest()
    {
        BinaryStarStep step;
        lock (_gate)
        {
            step = _core.OnClientRequest(_time.GetTimestamp());
        }

        Report(step, "client-request");
        if (step.Outcome == BinaryStarOutcome.Accepted)
        {
            return true;
        }

        Interlocked.Increment(ref _rejectedRequests);
        BinaryStarMetrics.RejectedRequests.Add(1, BinaryStarMetrics.Tags(Options.Role));
        BinaryStarLog.RequestRejected(_logger, Options.Role, step.To);
        return false;
    }

    /// <summary>
    /// Binds the state publisher on <see cref="BinaryStarOptions.LocalEndpoint"/> unless bound
    /// already (<see cref="RunAsync"/> does it too). Call it first to learn the endpoint bound for a
    /// wildcard or port 0, or to report a bind failure before serving.
    /// </summary>
    /// <returns>The bound endpoint, e.g. <c>tcp://127.0.0.1:5003</c>.</returns>
    /// <exception cref="EndpointException">The local endpoint cannot be bound.</exception>
    /// <exception cref="ObjectDisposedException">The node was disposed.</exception>
    public string Bind()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_stop.IsCancellationRequested, this);
            return BoundEndpoint ??= _publisher.Bind(Options.LocalEndpoint);
        }
    }

    /// <summary>
    /// Binds (unless done), connects to the peer and runs until cancelled or disposed: publishes the
    /// state every heartbeat and feeds the peer's states to the state machine. Allowed once.
    /// </summary>
    /// <param name="cancellationToken">Stops the node, as <see cref="DisposeAsync"/> does.</param>
    /// <returns>A task that completes when the node is stopped.</returns>
    /// <exception cref="SplitBrainException">The peer is in the same active or passive state as this node.</exception>
    /// <exception cref="EndpointException">The local endpoint cannot be bound or the remote one is invalid.</exception>
    /// <exception cref="InvalidOperationException">The node is already running or has run.</exception>
    public Task RunAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("The Binary Star node is already running or has run.");
        }

        string local = Bind();
        _subscriber.Subscribe(string.Empty);
        _subscriber.Connect(Options.RemoteEndpoint);
        BinaryStarLog.Started(_logger, Options.Role, local, Options.RemoteEndpoint, Options.Heartbeat.TotalMilliseconds);
        _run = RunCoreAsync(cancellationToken);
        return _run;
    }

    /// <summary>Stops the node (if running), waits for it and closes both sockets. Idempotent.</summary>
    /// <returns>A task that completes when the sockets are closed.</returns>
    public async ValueTask DisposeAsync()
    {
        await StopAsync(_stop, _run).ConfigureAwait(false);
        await CloseSocketsAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// The first half of disposing a node or a server: signals <paramref name="stop"/> and waits for
    /// <paramref name="run"/> (if started). A split brain was already reported to whoever awaits the
    /// run, so disposal does not throw it again.
    /// </summary>
    internal static async Task StopAsync(CancellationTokenSource stop, Task? run)
    {
        if (!stop.IsCancellationRequested)
        {
            await stop.CancelAsync().ConfigureAwait(false);
        }

        if (run is null)
        {
            return;
        }

        try
        {
            await run.ConfigureAwait(false);
        }
        catch (SplitBrainException)
        {
            // Reported by RunAsync.
        }
    }

    private async Task CloseSocketsAsync()
    {
        await _publisher.DisposeAsync().ConfigureAwait(false);
        await _subscriber.DisposeAsync().ConfigureAwait(false);
    }

    private async Task RunCoreAsync(CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        var token = linked.Token;
        var publishing = PublishLoopAsync(token);
        try
        {
            await ReceiveLoopAsync(token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Normal shutdown.
        }
        finally
        {
            await linked.CancelAsync().ConfigureAwait(false);
            try
            {
                await publishing.ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // The publisher stops with the node.
            }

            await CloseSocketsAsync().ConfigureAwait(false);
        }
    }

    private async Task PublishLoopAsync(CancellationToken token)
    {
        // Bounded by the node's lifetime; a PUB never blocks (it drops when the peer is slow or gone).
        while (true)
        {
            string state = ((int)State).ToString(CultureInfo.InvariantCulture);
            await _publisher.SendAsync(Message.FromStrings(state), token).ConfigureAwait(false);
            await Task.Delay(Options.Heartbeat, _time, token).ConfigureAwait(false);
        }
    }

    private async Task ReceiveLoopAsync(CancellationToken token)
    {
        // Bounded by the node's lifetime: ends when stopped or on split brain.
        while (true)
        {
            var message = await _subscriber.ReceiveAsync(token).ConfigureAwait(false);
            if (!TryParseState(message, out var peer))
            {
                Interlocked.Increment(ref _invalidPeerMessages);
                BinaryStarMetrics.InvalidMessages.Add(1, BinaryStarMetrics.Tags(Options.Role));
                BinaryStarLog.InvalidPeerMessage(_logger, Options.Role, message.ToString());
                continue;
            }

            BinaryStarStep step;
            lock (_gate)
            {
                step = _core.OnPeerState(peer, _time.GetTimestamp());
            }

            if (step.Outcome == BinaryStarOutcome.SplitBrain)
            {
                BinaryStarMetrics.SplitBrains.Add(1, BinaryStarMetrics.Tags(Options.Role));
                BinaryStarLog.SplitBrain(_logger, Options.Role, step.From);
                throw new SplitBrainException(step.From);
            }

            Report(step, "peer-" + peer.ToString().ToLowerInvariant());
        }
    }

    /// <summary>A state message is one frame holding one digit 1 to 4 (docs/patterns/binary-star.md §2).</summary>
    internal static bool TryParseState(Message message, out BinaryStarState state)
    {
        state = default;
        if (message.Count != 1)
        {
            return false;
        }

        var frame = message[0].Span;
        if (frame.Length != 1 || frame[0] < (byte)'1' || frame[0] > (byte)'4')
        {
            return false;
        }

        state = (BinaryStarState)(frame[0] - '0');
        return true;
    }

    private void Report(BinaryStarStep step, string cause)
    {
        if (!step.Changed)
        {
            return;
        }

        var tags = BinaryStarMetrics.Tags(Options.Role);
        tags.Add("state", step.To.ToString().ToLowerInvariant());
        tags.Add("cause", cause);
        BinaryStarMetrics.StateChanges.Add(1, tags);
        BinaryStarLog.StateChanged(_logger, Options.Role, step.From, step.To, cause);
        Callback.Invoke(Options.OnStateChanged, new BinaryStarStateChange(step.From, step.To, cause), _logger, nameof(Options.OnStateChanged));
    }
}
