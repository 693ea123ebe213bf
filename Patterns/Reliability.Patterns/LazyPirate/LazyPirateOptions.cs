using Reliability.Transport;

namespace Reliability.Patterns.LazyPirate;

/// <summary>
/// Settings of a <see cref="LazyPirateClient"/>: where the server is, how long to wait for a reply
/// and how often to try (zguide <c>lpclient</c>: <c>REQUEST_TIMEOUT</c> 2500 ms, <c>REQUEST_RETRIES</c> 3).
/// Validated once when the client is created; every problem is reported together.
/// </summary>
public sealed record LazyPirateOptions
{
    /// <summary>Largest accepted <see cref="Attempts"/> (100).</summary>
    public const int MaxAttempts = 100;

    /// <summary>Largest accepted number of <see cref="Endpoints"/> (64).</summary>
    public const int MaxEndpoints = 64;

    /// <summary>Largest accepted <see cref="RequestTimeout"/>, <see cref="RetryDelay"/> and <see cref="RetryDelayMax"/> (1 hour).</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromHours(1);

    /// <summary>
    /// Servers to connect to (required; at least one). Any REP server or ROUTER-based queue will do.
    /// With several, each fresh socket connects to all of them, starting with the next one in turn,
    /// so a retry goes to a different server than the attempt that timed out.
    /// </summary>
    public IReadOnlyList<string> Endpoints { get; init; } = [];

    /// <summary>
    /// When true, each fresh socket connects to ONE endpoint only, the next in turn: an attempt that
    /// timed out closes its socket and the retry goes to the following server, after
    /// <see cref="RetryDelay"/> (the settle delay). This is the Binary Star client (docs/patterns/binary-star.md §5):
    /// list the pair's two nodes, and a REQ socket never sends a request to the passive node
    /// while the active one answers. Default false: every socket connects to every endpoint.
    /// </summary>
    public bool Failover { get; init; }

    /// <summary>
    /// How long one attempt waits for its reply (default 2500 ms). Must be longer than the server's
    /// normal work time, or healthy but slow requests are retried.
    /// </summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMilliseconds(2500);

    /// <summary>
    /// Total number of tries per request, the first included (default 3, like the zguide's
    /// <c>REQUEST_RETRIES</c>, which counts sends). 1 means no retry. Range 1..<see cref="MaxAttempts"/>.
    /// </summary>
    public int Attempts { get; init; } = 3;

    /// <summary>Pause before each retry (default zero: retry at once, as the zguide does).</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.Zero;

    /// <summary>
    /// When greater than <see cref="RetryDelay"/>, the pause doubles after each retry up to this
    /// cap (exponential back-off); default zero = a constant <see cref="RetryDelay"/>.
    /// </summary>
    public TimeSpan RetryDelayMax { get; init; } = TimeSpan.Zero;

    /// <summary>
    /// Settings of the REQ sockets the client opens. <see cref="SocketOptions.Linger"/> is always
    /// replaced by zero: a socket is only closed when its request is abandoned, and an abandoned
    /// request must not be delivered later or hold up the close (docs/wire/zmtp.md §14).
    /// <see cref="SocketOptions.SendTimeout"/> and <see cref="SocketOptions.ReceiveTimeout"/> are not
    /// used: waiting is bounded by <see cref="RequestTimeout"/>. REQ relaxed/correlate modes are rejected,
    /// because the client relies on replacing its socket instead.
    /// </summary>
    public SocketOptions Socket { get; init; } = new() { Linger = TimeSpan.Zero };

    /// <summary>
    /// Called when an attempt after the first starts, on the thread that runs the request (keep it
    /// short; an exception it throws is logged and ignored). Default none.
    /// </summary>
    public Action<RetryArguments>? OnRetry { get; init; }

    /// <summary>Checks every setting and reports all problems together.</summary>
    /// <exception cref="ArgumentException">One or more settings are out of range.</exception>
    public void Validate()
    {
        var problems = new List<string>();
        OptionChecks.EndpointList(Endpoints, "Endpoints", "server", MaxEndpoints, problems);

        if (RequestTimeout <= TimeSpan.Zero || RequestTimeout > MaxDuration)
        {
            problems.Add($"RequestTimeout must be positive and at most {MaxDuration} (was {RequestTimeout})");
        }

        if (Attempts is < 1 or > MaxAttempts)
        {
            problems.Add($"Attempts must be 1..{MaxAttempts} (was {Attempts})");
        }

        if (RetryDelay < TimeSpan.Zero || RetryDelay > MaxDuration)
        {
            problems.Add($"RetryDelay must be between zero and {MaxDuration} (was {RetryDelay})");
        }

        if (RetryDelayMax < TimeSpan.Zero || RetryDelayMax > MaxDuration)
        {
            problems.Add($"RetryDelayMax must be between zero and {MaxDuration} (was {RetryDelayMax})");
        }
        else if (RetryDelayMax > TimeSpan.Zero && RetryDelayMax < RetryDelay)
        {
            problems.Add($"RetryDelayMax must be zero (constant delay) or at least RetryDelay (was {RetryDelayMax} < {RetryDelay})");
        }

        if (OptionChecks.Socket(Socket, problems) && (Socket.RequestRelaxed || Socket.RequestCorrelate))
        {
            problems.Add("Socket.RequestRelaxed and Socket.RequestCorrelate are not supported: the client replaces its socket after a timeout instead");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid Lazy Pirate options: " + string.Join("; ", problems) + ".");
        }
    }

    /// <summary>The socket settings actually used (linger forced to zero).</summary>
    internal SocketOptions EffectiveSocketOptions => Socket with { Linger = TimeSpan.Zero };
}
