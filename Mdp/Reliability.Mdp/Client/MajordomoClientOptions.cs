using Reliability.Patterns;
using Reliability.Patterns.LazyPirate;
using Reliability.Mdp.Protocol;
using Reliability.Mdp.Worker;
using Reliability.Transport;

namespace Reliability.Mdp.Client;

/// <summary>
/// Settings of a <see cref="MajordomoClient"/>. The defaults are the zguide's mdcliapi values
/// (docs/wire/mdp.md §15): 2.5 s timeout, three sends in all.
/// </summary>
public sealed record MajordomoClientOptions
{
    /// <summary>Largest accepted <see cref="Retries"/>.</summary>
    public const int MaxRetries = 1000;

    /// <summary>Largest accepted <see cref="Timeout"/> and <see cref="RetryDelay"/> (1 hour).</summary>
    public static readonly TimeSpan MaxDuration = TimeSpan.FromHours(1);

    /// <summary>The broker, e.g. <c>tcp://127.0.0.1:5555</c> (required unless <see cref="BrokerEndpoints"/> names the brokers).</summary>
    public string BrokerEndpoint { get; init; } = string.Empty;

    /// <summary>
    /// Several brokers, e.g. the two of a Binary Star pair, to fail over between (default none:
    /// <see cref="BrokerEndpoint"/> is the one broker). As the Lazy Pirate client with
    /// <c>LazyPirateOptions.Failover</c> (docs/patterns/binary-star.md §5): each socket connects to one
    /// broker, starting with the first; when an attempt times out its socket is closed and the resend
    /// goes to the next broker after <see cref="SettleDelay"/>. At most 16, none repeated; leave
    /// <see cref="BrokerEndpoint"/> empty when set.
    /// </summary>
    public IReadOnlyList<string> BrokerEndpoints { get; init; } = [];

    /// <summary>Protocol version (default MDP/0.1). MDP/0.2 requires <see cref="SocketType"/> = <see cref="MdpClientSocket.Dealer"/> (RFC 18).</summary>
    public MdpVersion Version { get; init; } = MdpVersion.V01;

    /// <summary>
    /// MDP/0.2 only, off by default: each request carries the current trace context as a first frame, so the broker's and the worker's spans join the client's trace (our extension, docs/wire/mdp.md §18). Turn it on only with
    /// Reliability's broker: another MDP/0.2 broker would pass the frame on to the worker as part of the body.
    /// </summary>
    public bool TraceContext { get; init; }

    /// <summary>
    /// The socket the client talks through (default REQ, as the zguide's mdcliapi). Either way one request
    /// is outstanding at a time and the socket is replaced after each timeout; a DEALER additionally
    /// skips stray messages instead of failing on them.
    /// </summary>
    public MdpClientSocket SocketType { get; init; } = MdpClientSocket.Req;

    /// <summary>How long one attempt waits for the reply (default 2500 ms). Must exceed the service's normal work time.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMilliseconds(2500);

    /// <summary>
    /// Resends after the first attempt timed out (default 2, i.e. three sends in all like the zguide's
    /// <c>REQUEST_RETRIES</c> = 3; 0 = no retry). Range 0..<see cref="MaxRetries"/>.
    /// </summary>
    public int Retries { get; init; } = 2;

    /// <summary>Pause before each resend to the one broker (default zero: resend at once, as the zguide does).</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.Zero;

    /// <summary>
    /// With several <see cref="BrokerEndpoints"/>: the pause before resending to the next broker, in place of
    /// <see cref="RetryDelay"/> (default 2000 ms, as the zguide's <c>bstarcli</c>), which gives a passive broker
    /// time to notice that its peer is gone. Range zero..<see cref="MaxDuration"/>.
    /// </summary>
    public TimeSpan SettleDelay { get; init; } = TimeSpan.FromMilliseconds(2000);

    /// <summary>
    /// Settings of the client's sockets. <see cref="SocketOptions.Linger"/> is always replaced by zero: a socket
    /// is only closed when its request is abandoned, and the abandoned request must not be delivered later
    /// (docs/wire/zmtp.md §13 and §14). REQ relaxed/correlate modes are rejected (the socket is replaced instead).
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
        BrokerEndpointList.Check(BrokerEndpoint, BrokerEndpoints, problems);
        if (Version is not (MdpVersion.V01 or MdpVersion.V02))
        {
            problems.Add($"Version must be V01 or V02 (was {Version})");
        }

        if (SocketType is not (MdpClientSocket.Req or MdpClientSocket.Dealer))
        {
            problems.Add($"SocketType must be Req or Dealer (was {SocketType})");
        }
        else if (Version == MdpVersion.V02 && SocketType == MdpClientSocket.Req)
        {
            problems.Add("MDP/0.2 clients must use a DEALER socket (RFC 18): set SocketType = Dealer");
        }

        if (Timeout <= TimeSpan.Zero || Timeout > MaxDuration)
        {
            problems.Add($"Timeout must be positive and at most {MaxDuration} (was {Timeout})");
        }

        if (Retries is < 0 or > MaxRetries)
        {
            problems.Add($"Retries must be 0..{MaxRetries} (was {Retries})");
        }

        if (RetryDelay < TimeSpan.Zero || RetryDelay > MaxDuration)
        {
            problems.Add($"RetryDelay must be between zero and {MaxDuration} (was {RetryDelay})");
        }

        if (SettleDelay < TimeSpan.Zero || SettleDelay > MaxDuration)
        {
            problems.Add($"SettleDelay must be between zero and {MaxDuration} (was {SettleDelay})");
        }

        OptionChecks.Socket(Socket, problems);
        if (Socket is { RequestRelaxed: true } or { RequestCorrelate: true })
        {
            problems.Add("Socket.RequestRelaxed and Socket.RequestCorrelate are not supported: the client replaces its socket after a timeout instead");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid Majordomo client options: " + string.Join("; ", problems) + ".");
        }
    }

    /// <summary>The brokers in use: <see cref="BrokerEndpoints"/>, or <see cref="BrokerEndpoint"/> alone.</summary>
    internal IReadOnlyList<string> Brokers => BrokerEndpointList.Resolve(BrokerEndpoint, BrokerEndpoints);

    /// <summary>The brokers for logs and exceptions, comma-separated.</summary>
    internal string BrokerNames => string.Join(",", Brokers);

    /// <summary>
    /// The Lazy Pirate settings the client's attempts follow: several brokers fail over (one broker per
    /// socket, <see cref="SettleDelay"/> before a resend to the next), one broker is retried after <see cref="RetryDelay"/>.
    /// </summary>
    internal LazyPirateOptions LazyPirate => new()
    {
        Endpoints = Brokers,
        Failover = Brokers.Count > 1,
        RequestTimeout = Timeout,
        Attempts = Retries + 1,
        RetryDelay = Brokers.Count > 1 ? SettleDelay : RetryDelay,
    };
}
