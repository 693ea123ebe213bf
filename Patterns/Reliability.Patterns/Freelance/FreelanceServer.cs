using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Reliability.Transport;

namespace Reliability.Patterns.Freelance;

/// <summary>
/// A Freelance (model 3) server, docs/patterns/freelance.md §2: a ROUTER bound to its endpoint whose
/// routing identity is that endpoint string, so clients can address it before hearing from it. Answers
/// <c>PING</c> with <c>PONG</c> and <c>[sequence][body…]</c> with <c>[sequence][reply…]</c> through the handler;
/// a REQ client's <c>[""][body…]</c> (model 1) gets <c>[""][reply…]</c>.
/// </summary>
public sealed class FreelanceServer : IAsyncDisposable
{
    private readonly Func<Message, CancellationToken, ValueTask<Message>> _handler;
    private readonly ILogger _logger;
    private readonly RouterSocket _socket;
    private readonly CancellationTokenSource _stop = new();
    private long _served;
    private long _invalid;
    private int _disposed;

    /// <summary>Creates the server and binds <paramref name="endpoint"/>, which must name a concrete port (not 0): it is also the identity.</summary>
    public FreelanceServer(string endpoint, Func<Message, CancellationToken, ValueTask<Message>> handler, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var problems = new List<string>();
        OptionChecks.EndpointList([endpoint], "Endpoints", "server", 1, problems);
        if (endpoint is not null && endpoint.EndsWith(":0", StringComparison.Ordinal))
        {
            problems.Add($"Endpoints[0] must name a concrete port, as it is also the server's identity (was '{endpoint}')");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid Freelance server endpoint: " + string.Join("; ", problems) + ".", nameof(endpoint));
        }

        _handler = handler;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<FreelanceServer>();
        Endpoint = endpoint!;
        _socket = new RouterSocket(new SocketOptions { RoutingId = Encoding.UTF8.GetBytes(Endpoint), Linger = TimeSpan.Zero }, loggerFactory, timeProvider);
        _socket.Bind(Endpoint);
    }

    /// <summary>The endpoint bound, which is also the identity.</summary>
    public string Endpoint { get; }

    /// <summary>Requests answered.</summary>
    public long Served => Interlocked.Read(ref _served);

    /// <summary>Messages dropped for breaking the wire.</summary>
    public long Invalid => Interlocked.Read(ref _invalid);

    /// <summary>Serves until <paramref name="cancellationToken"/> or disposal.</summary>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
        var token = linked.Token;
        try
        {
            // Bounded by the server's lifetime.
            while (true)
            {
                var message = await _socket.ReceiveAsync(token).ConfigureAwait(false);
                var reply = await AnswerAsync(message, token).ConfigureAwait(false);
                if (reply is not null)
                {
                    // A client that went away is unknown to the ROUTER by now: the reply is dropped there.
                    await _socket.SendAsync(reply, token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            // Normal shutdown.
        }
    }

    /// <summary>Stops serving and closes the socket.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        await _socket.DisposeAsync().ConfigureAwait(false);
        _stop.Dispose();
    }

    private async ValueTask<Message?> AnswerAsync(Message message, CancellationToken token)
    {
        switch (FreelanceProtocol.Classify(message, 1, out _))
        {
            case FreelanceFrame.Ping when message.Count == 2:
                return new Message(2).Append(message[0]).Append(FreelanceProtocol.Pong.ToArray());
            // Model 3 echoes the sequence frame; model 1 (REQ clients) the empty delimiter: both are frame 1.
            case FreelanceFrame.Sequence or FreelanceFrame.Delimiter:
                var reply = await _handler(new Message(message.Skip(2)), token).ConfigureAwait(false);
                var envelope = new Message(reply.Count + 2).Append(message[0]).Append(message[1]);
                foreach (var frame in reply)
                {
                    envelope.Append(frame);
                }

                Interlocked.Increment(ref _served);
                return envelope;
            default:
                Interlocked.Increment(ref _invalid);
                FreelanceLog.InvalidMessage(_logger, message.Count, "a server expects PING or [sequence][body…]");
                return null;
        }
    }
}
