using Microsoft.Extensions.Logging;
using Reliability.Patterns.Heartbeating;
using Reliability.Patterns.LazyPirate;
using Reliability.Transport;

namespace Reliability.Patterns.Freelance;

/// <summary>What happened to a message the core tried to send.</summary>
internal enum FreelanceSendResult
{
    /// <summary>Queued for the server.</summary>
    Sent,

    /// <summary>No connected server has that identity yet (or any more).</summary>
    Unreachable,

    /// <summary>The server's queue is full; the core never waits, so the message was not sent.</summary>
    QueueFull,
}

/// <summary>The core's only way out: a non-blocking send of <c>[server-id][frames…]</c> on the client's ROUTER.</summary>
internal interface IFreelanceSender
{
    /// <summary>Sends without waiting; never throws for an unreachable or slow server.</summary>
    FreelanceSendResult TrySend(Message message);
}

/// <summary>
/// The sans-IO Freelance client (model 3, docs/patterns/freelance.md §3-4): server liveness by ping,
/// requests numbered and tried on the first live server, then the next one after each try timeout,
/// until their deadline. Inputs are requests, messages, peer events and timer ticks; outputs are sends,
/// completed request tasks and <see cref="NextDeadline"/>. Not thread-safe: its driver calls it from one
/// place at a time; it reads time from the <see cref="TimeProvider"/> it was given.
/// </summary>
internal sealed partial class FreelanceCore
{
    private readonly FreelanceOptions _options;
    private readonly IFreelanceSender _sender;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly FreelanceMetrics _metrics;
    private readonly Server[] _servers;
    private readonly Dictionary<long, FreelancePending> _pending = [];

    // Lazily pruned: an entry is stale when its request is gone or has been retried since (version).
    private readonly PriorityQueue<(FreelancePending Request, int Version), long> _timers = new();
    private readonly long _tryUnits;
    private readonly long _requestUnits;
    private readonly long _pingUnits;
    private readonly long _ttlUnits;
    private readonly bool _broadcast;
    private long _sequence;
    private bool _stopped;

    public FreelanceCore(FreelanceOptions options, IFreelanceSender sender, TimeProvider time, ILogger logger, FreelanceMetrics metrics)
    {
        _options = options;
        _sender = sender;
        _time = time;
        _logger = logger;
        _metrics = metrics;
        _broadcast = options.Strategy == FreelanceStrategy.Shotgun;
        long frequency = time.TimestampFrequency;
        _tryUnits = Timestamps.ToUnits(options.TryTimeout, frequency);
        _requestUnits = Timestamps.ToUnits(options.RequestTimeout, frequency);
        _pingUnits = Timestamps.ToUnits(options.PingInterval, frequency);
        _ttlUnits = Timestamps.ToUnits(options.ServerTtl, frequency);
        long now = time.GetTimestamp();

        // Nobody is known to be alive before it answers: a ROUTER cannot tell a server it has not heard
        // from yet (still connecting) from one that is not there. The first ping goes out at once.
        _servers = [.. options.Endpoints.Select(e => new Server(e, System.Text.Encoding.UTF8.GetBytes(e), now))];
    }

    /// <summary>Counts since the core was created.</summary>
    public FreelanceStatistics Statistics { get; private set; }

    /// <summary>Requests waiting for a reply.</summary>
    public int Outstanding => _pending.Count;

    /// <summary>Servers currently believed alive.</summary>
    public int LiveServers => _servers.Count(s => s.Alive);

    /// <summary>Whether the server named <paramref name="endpoint"/> is believed alive.</summary>
    public bool IsAlive(string endpoint) => _servers.Any(s => s.Alive && s.Endpoint == endpoint);

    /// <summary>The earliest timestamp at which <see cref="OnTimer"/> has something to do.</summary>
    public long NextDeadline
    {
        get
        {
            long next = _timers.TryPeek(out _, out long due) ? due : long.MaxValue;
            foreach (var server in _servers)
            {
                next = Math.Min(next, server.PingAt);
                if (server.Alive)
                {
                    next = Math.Min(next, server.ExpiresAt);
                }
            }

            return next;
        }
    }

    /// <summary>Time from now to <see cref="NextDeadline"/>.</summary>
    public TimeSpan NextDeadlineIn => Timestamps.Until(_time.GetTimestamp(), NextDeadline, _time.TimestampFrequency);

    /// <summary>Numbers <paramref name="request"/>, starts its deadline and sends it to the first live server (or keeps it until one is).</summary>
    public void Submit(FreelancePending request)
    {
        if (_stopped)
        {
            request.Fail(new ObjectDisposedException(nameof(FreelanceCore)));
            return;
        }

        long now = _time.GetTimestamp();
        request.Sequence = ++_sequence;
        request.SequenceFrame = FreelanceProtocol.SequenceFrame(request.Sequence);
        request.Deadline = now + (request.Timeout is { } timeout ? Timestamps.ToUnits(timeout, _time.TimestampFrequency) : _requestUnits);
        _pending.Add(request.Sequence, request);
        Statistics = Statistics with { Requests = Statistics.Requests + 1 };
        _metrics.Requests.Add(1, _metrics.Tags);
        Dispatch(request, now, after: -1);
    }

    /// <summary>Forgets <paramref name="request"/> (the caller cancelled it); a later reply to it is late.</summary>
    public void Cancel(FreelancePending request, CancellationToken token)
    {
        if (_pending.Remove(request.Sequence))
        {
            Statistics = Statistics with { Cancelled = Statistics.Cancelled + 1 };
            FreelanceLog.RequestCancelled(_logger, request.Sequence, request.Tries);
            request.Cancel(token);
        }
    }

    /// <summary>A message from a server: <c>[server-id][PONG]</c> or <c>[server-id][sequence][reply…]</c>.</summary>
    public void OnMessage(Message message)
    {
        var server = message.Count > 0 ? Find(message[0].Span) : null;
        if (server is null)
        {
            // Our ROUTER connects to nobody else, so this is a server answering under another identity.
            Invalid(message, "sender is not one of the configured servers");
            return;
        }

        long now = _time.GetTimestamp();
        Heard(server, now);
        switch (FreelanceProtocol.Classify(message, 1, out long sequence))
        {
            case FreelanceFrame.Pong:
                return;
            case FreelanceFrame.Sequence:
                Reply(server, sequence, message);
                return;
            default:
                Invalid(message, "neither PONG nor a sequence number");
                return;
        }
    }

    /// <summary>A server's connection completed its handshake: ping it now instead of at the next interval.</summary>
    public void OnPeerConnected(ReadOnlySpan<byte> id)
    {
        if (Find(id) is { } server)
        {
            Ping(server, _time.GetTimestamp());
        }
    }

    /// <summary>A server's connection ended: it is dead at once, and its tries move on.</summary>
    public void OnPeerDisconnected(ReadOnlySpan<byte> id)
    {
        if (Find(id) is { Alive: true } server)
        {
            Lose(server, _time.GetTimestamp(), "disconnected");
        }
    }

    /// <summary>Pings due servers, gives up silent ones, and moves on or fails the requests whose try or deadline passed.</summary>
    public void OnTimer()
    {
        if (_stopped)
        {
            return;
        }

        long now = _time.GetTimestamp();
        foreach (var server in _servers)
        {
            if (server.Alive && now >= server.ExpiresAt)
            {
                Lose(server, now, "silent");
            }

            if (now >= server.PingAt)
            {
                Ping(server, now);
            }
        }

        // Bounded: each pass removes one entry, and re-dispatched requests add entries due in the future.
        while (_timers.TryPeek(out var entry, out long due) && due <= now)
        {
            _timers.Dequeue();
            var request = entry.Request;
            if (entry.Version != request.Version || !_pending.ContainsKey(request.Sequence))
            {
                continue;
            }

            if (now >= request.Deadline)
            {
                Abandon(request);
            }
            else
            {
                Dispatch(request, now, after: request.Server);
            }
        }
    }

    /// <summary>Fails every outstanding request with <paramref name="reason"/>; later calls do nothing.</summary>
    public void Shutdown(Exception reason)
    {
        _stopped = true;
        var orphans = _pending.Values.ToArray();
        _pending.Clear();
        _timers.Clear();
        foreach (var request in orphans)
        {
            request.Fail(reason);
        }
    }

    private Server? Find(ReadOnlySpan<byte> id)
    {
        foreach (var server in _servers)
        {
            if (id.SequenceEqual(server.Id))
            {
                return server;
            }
        }

        return null;
    }

    private sealed class Server(string endpoint, byte[] id, long now)
    {
        public string Endpoint { get; } = endpoint;

        public byte[] Id { get; } = id;

        public bool Alive { get; set; }

        public long PingAt { get; set; } = now;

        public long ExpiresAt { get; set; } = long.MaxValue;
    }
}
