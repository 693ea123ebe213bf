using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Reliability.Transport;

namespace Reliability.Patterns.BinaryStar;

/// <summary>
/// A request-reply server that is one node of a Binary Star pair (the zguide's <c>bstarsrv</c> shape):
/// a ROUTER frontend for REQ clients, a <see cref="BinaryStarNode"/> beside it, and a handler that
/// turns each request the node allows into a reply. A request the node rejects is dropped
/// unanswered: the client times out, moves to the other node and resends.
/// </summary>
/// <remarks>
/// Requests are handled one at a time, in arrival order. A message without the REQ envelope (no
/// empty delimiter frame after the client's routing id) is dropped and counted.
/// Thread-safe; dispose it to stop.
/// </remarks>
public sealed class BinaryStarServer : IAsyncDisposable
{
    private readonly string _frontendAddress;
    private readonly Func<Message, CancellationToken, ValueTask<Message>> _handler;
    private readonly ILogger _logger;
    private readonly RouterSocket _frontend;
    private readonly CancellationTokenSource _stop = new();
    private long _served;
    private long _invalidRequests;
    private int _started;
    private Task? _run;

    /// <summary>Creates the server; nothing is bound until <see cref="Bind"/> or <see cref="RunAsync"/>.</summary>
    /// <param name="options">The pair's settings; validated here.</param>
    /// <param name="frontendEndpoint">Where clients connect, e.g. <c>tcp://*:5001</c>.</param>
    /// <param name="handler">Makes the reply to a request (its frames without the envelope).</param>
    /// <param name="loggerFactory">Logging for the server, its node and its sockets; none when null.</param>
    /// <param name="timeProvider">Clock for the node; <see cref="TimeProvider.System"/> when null.</param>
    /// <exception cref="ArgumentException"><paramref name="options"/> or <paramref name="frontendEndpoint"/> is invalid.</exception>
    public BinaryStarServer(
        BinaryStarOptions options,
        string frontendEndpoint,
        Func<Message, CancellationToken, ValueTask<Message>> handler,
        ILoggerFactory? loggerFactory = null,
        TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var problems = new List<string>();
        OptionChecks.Endpoint(frontendEndpoint, nameof(frontendEndpoint), problems);
        if (problems.Count > 0)
        {
            throw new ArgumentException(problems[0] + ".", nameof(frontendEndpoint));
        }

        Node = new BinaryStarNode(options, loggerFactory, timeProvider);
        _frontendAddress = frontendEndpoint;
        _handler = handler;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<BinaryStarServer>();

        // Linger 0: replies are only worth sending while this node is the active one.
        _frontend = new RouterSocket(new SocketOptions { Linger = TimeSpan.Zero }, loggerFactory, timeProvider);
    }

    /// <summary>The node that votes on every request.</summary>
    public BinaryStarNode Node { get; }

    /// <summary>The frontend's bound endpoint; null until bound.</summary>
    public string? FrontendEndpoint { get; private set; }

    /// <summary>Requests answered (replies handed to the frontend).</summary>
    public long Served => Interlocked.Read(ref _served);

    /// <summary>Frontend messages without a REQ envelope, dropped.</summary>
    public long InvalidRequests => Interlocked.Read(ref _invalidRequests);

    /// <summary>Binds the frontend and the node's state publisher (those not bound yet).</summary>
    /// <exception cref="EndpointException">An endpoint cannot be bound.</exception>
    /// <exception cref="ObjectDisposedException">The server was disposed.</exception>
    public void Bind()
    {
        ObjectDisposedException.ThrowIf(_stop.IsCancellationRequested, this);
        FrontendEndpoint ??= _frontend.Bind(_frontendAddress);
        Node.Bind();
    }

    /// <summary>Binds (unless done), then serves until cancelled or disposed. Allowed once.</summary>
    /// <param name="cancellationToken">Stops the server, as <see cref="DisposeAsync"/> does.</param>
    /// <returns>A task that completes when the server is stopped.</returns>
    /// <exception cref="SplitBrainException">The node found its peer in its own state; the server stopped.</exception>
    /// <exception cref="EndpointException">An endpoint cannot be bound.</exception>
    /// <exception cref="InvalidOperationException">The server is already running or has run.</exception>
    public Task RunAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _started, 1) != 0)
        {
            throw new InvalidOperationException("The Binary Star server is already running or has run.");
        }

        Bind();
        _run = RunCoreAsync(Node.RunAsync(cancellationToken), cancellationToken);
        return _run;
    }

    /// <summary>Stops serving and the node, and closes every socket. Idempotent.</summary>
    /// <returns>A task that completes when everything is closed.</returns>
    public async ValueTask DisposeAsync()
    {
        await BinaryStarNode.StopAsync(_stop, _run).ConfigureAwait(false);
        await CloseAsync().ConfigureAwait(false);
    }

    private async Task CloseAsync()
    {
        await Node.DisposeAsync().ConfigureAwait(false);
        await _frontend.DisposeAsync().ConfigureAwait(false);
    }

    private async Task RunCoreAsync(Task node, CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        var serving = ServeAsync(linked.Token);

        // Whichever ends first ends both: a split brain stops serving, a stop stops the node.
        await Task.WhenAny(node, serving).ConfigureAwait(false);
        await linked.CancelAsync().ConfigureAwait(false);
        await CloseAsync().ConfigureAwait(false);
        await serving.ConfigureAwait(false);
        await node.ConfigureAwait(false);
    }

    private async Task ServeAsync(CancellationToken token)
    {
        try
        {
            // Bounded by the server's lifetime.
            while (true)
            {
                var request = await _frontend.ReceiveAsync(token).ConfigureAwait(false);
                int delimiter = request.IndexOfEmptyFrame();
                if (delimiter < 1)
                {
                    Interlocked.Increment(ref _invalidRequests);
                    BinaryStarMetrics.InvalidMessages.Add(1, BinaryStarMetrics.Tags(Node.Options.Role));
                    BinaryStarLog.InvalidRequest(_logger, request.Count);
                    continue;
                }

                if (!Node.AllowClientRequest())
                {
                    continue;
                }

                var body = new Message(request.Skip(delimiter + 1));
                var reply = await _handler(body, token).ConfigureAwait(false);
                var envelope = new Message(request.Take(delimiter + 1));
                foreach (var frame in reply)
                {
                    envelope.Append(frame);
                }

                // Counted before the send, so a client holding its reply also sees it counted. A client
                // that gave up and closed its socket is gone: the ROUTER drops the reply.
                Interlocked.Increment(ref _served);
                await _frontend.SendAsync(envelope, token).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Normal shutdown.
        }
    }
}
