using Reliability.Patterns.LazyPirate;
using Reliability.Transport;

namespace Reliability.Patterns.Freelance;

/// <summary>How a Freelance client chooses the servers a request goes to (docs/patterns/freelance.md §3).</summary>
public enum FreelanceStrategy
{
    /// <summary>
    /// Model 3 (the default): one ROUTER connected to every server; servers are pinged and known to be
    /// alive or dead, each request goes to the first live server and, after each try timeout, to the next one.
    /// </summary>
    Router,

    /// <summary>Model 2: every try goes to every server at once (over the model 3 ROUTER); the first reply wins, the others are dropped.</summary>
    Shotgun,
}

/// <summary>
/// Settings of a Freelance client. Defaults are the zguide's (flcliapi: ping every 2000 ms,
/// a server is dead after 6000 ms of silence, a request gives up after 3000 ms). Validated once when the
/// client is created; every problem is reported together.
/// </summary>
public sealed record FreelanceOptions
{
    /// <summary>Largest accepted number of <see cref="Endpoints"/> (64).</summary>
    public const int MaxEndpoints = 64;

    /// <summary>Largest accepted duration setting (1 hour).</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromHours(1);

    /// <summary>Shortest accepted <see cref="PingInterval"/> (10 ms): pings must not flood the servers.</summary>
    public static readonly TimeSpan MinPingInterval = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// The servers (required, 1..<see cref="MaxEndpoints"/>, no repeats). With the router and shotgun
    /// strategies each string must also be the server's identity, as a Freelance server's is its endpoint;
    /// the order is the order of preference.
    /// </summary>
    public IReadOnlyList<string> Endpoints { get; init; } = [];

    /// <summary>Which of the brokerless models to use (model 1, one server at a time, is <see cref="LazyPirateOptions.Failover"/>) (default <see cref="FreelanceStrategy.Router"/>).</summary>
    public FreelanceStrategy Strategy { get; init; } = FreelanceStrategy.Router;

    /// <summary>
    /// How long a request may take in all, from the call to the reply, over every server tried (default
    /// 3000 ms, the zguide's GLOBAL_TIMEOUT). Then it fails with <see cref="RequestFailedException"/>.
    /// </summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMilliseconds(3000);

    /// <summary>
    /// How long one try waits before the request is sent to the next server (default 1000 ms, the
    /// zguide's model 1 REQUEST_TIMEOUT). At most <see cref="RequestTimeout"/>; set it longer than the
    /// servers' normal work time, or slow requests are sent twice.
    /// </summary>
    public TimeSpan TryTimeout { get; init; } = TimeSpan.FromMilliseconds(1000);

    /// <summary>Router and shotgun: each server is pinged this often (default 2000 ms).</summary>
    public TimeSpan PingInterval { get; init; } = TimeSpan.FromMilliseconds(2000);

    /// <summary>
    /// Router and shotgun: a server that sent nothing for this long is dead until it answers again
    /// (default 6000 ms). At least twice <see cref="PingInterval"/>, so one lost pong does not kill a server.
    /// </summary>
    public TimeSpan ServerTtl { get; init; } = TimeSpan.FromMilliseconds(6000);

    /// <summary>
    /// Settings of the client's ROUTER. <see cref="SocketOptions.Linger"/> is always replaced by zero and
    /// <see cref="SocketOptions.RouterMandatory"/> and <see cref="SocketOptions.ReceivePeerEvents"/> by true
    /// (the core must know which servers it can reach). <see cref="SocketOptions.RoutingId"/> is rejected:
    /// servers tell clients apart by the ids their ROUTERs generate.
    /// </summary>
    public SocketOptions Socket { get; init; } = new() { Linger = TimeSpan.Zero };

    /// <summary>
    /// Called when a request goes to another try (after a try timeout or the loss of its server), on the
    /// client's thread (keep it short; an exception it throws is logged and ignored). Default none.
    /// </summary>
    public Action<RetryArguments>? OnRetry { get; init; }

    /// <summary>
    /// Router and shotgun: called when a server becomes alive (it answered) or dead (silent past
    /// <see cref="ServerTtl"/>, or its connection ended), on the client's thread. Default none.
    /// </summary>
    public Action<FreelanceServerArguments>? OnServerChanged { get; init; }

    /// <summary>Checks every setting and reports all problems together.</summary>
    /// <exception cref="ArgumentException">One or more settings are out of range.</exception>
    public void Validate()
    {
        var problems = new List<string>();
        OptionChecks.EndpointList(Endpoints, "Endpoints", "server", MaxEndpoints, problems);
        if (!Enum.IsDefined(Strategy))
        {
            problems.Add($"Strategy must be Router or Shotgun (was {(int)Strategy})");
        }

        FreelanceOptionChecks.Duration(problems, RequestTimeout, nameof(RequestTimeout), TimeSpan.Zero, MaxDuration);
        FreelanceOptionChecks.Duration(problems, TryTimeout, nameof(TryTimeout), TimeSpan.Zero, MaxDuration);
        if (TryTimeout > RequestTimeout)
        {
            problems.Add($"TryTimeout must be at most RequestTimeout (was {TryTimeout} > {RequestTimeout})");
        }

        FreelanceOptionChecks.Duration(problems, PingInterval, nameof(PingInterval), MinPingInterval, MaxDuration);
        FreelanceOptionChecks.Duration(problems, ServerTtl, nameof(ServerTtl), MinPingInterval, MaxDuration);
        if (ServerTtl < PingInterval * 2)
        {
            problems.Add($"ServerTtl must be at least twice PingInterval (was {ServerTtl} < 2 x {PingInterval})");
        }

        if (OptionChecks.Socket(Socket, problems) && !Socket.RoutingId.IsEmpty)
        {
            problems.Add("Socket.RoutingId must be empty: servers tell clients apart by the ids their ROUTERs generate");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid Freelance options: " + string.Join("; ", problems) + ".");
        }
    }

    /// <summary>The socket settings actually used.</summary>
    internal SocketOptions EffectiveSocketOptions => Socket with { Linger = TimeSpan.Zero, RouterMandatory = true, ReceivePeerEvents = true };
}

/// <summary>Passed to <see cref="FreelanceOptions.OnServerChanged"/>: a server became alive or dead for the client.</summary>
/// <param name="Endpoint">The server's endpoint (its identity).</param>
/// <param name="Alive">True when it answered again, false when it was given up.</param>
/// <param name="Reason"><c>answered</c>, <c>silent</c> (no traffic within the TTL) or <c>disconnected</c> (its connection ended).</param>
public readonly record struct FreelanceServerArguments(string Endpoint, bool Alive, string Reason);

/// <summary>Option checks; each adds to the caller's list of problems.</summary>
internal static class FreelanceOptionChecks
{
    public static void Duration(List<string> problems, TimeSpan value, string name, TimeSpan min, TimeSpan max)
    {
        if (value <= TimeSpan.Zero || value < min || value > max)
        {
            string lower = min > TimeSpan.Zero ? $"between {min} and" : "positive and at most";
            problems.Add($"{name} must be {lower} {max} (was {value})");
        }
    }
}
