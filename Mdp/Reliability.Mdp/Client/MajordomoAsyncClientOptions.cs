using Reliability.Patterns;
using Reliability.Mdp.Protocol;
using Reliability.Mdp.Worker;
using Reliability.Transport;

namespace Reliability.Mdp.Client;

/// <summary>Settings of a <see cref="MajordomoAsyncClient"/>.</summary>
public sealed record MajordomoAsyncClientOptions
{
    /// <summary>Largest accepted <see cref="MaxConnections"/>.</summary>
    public const int MaxConnectionsLimit = 4096;

    /// <summary>Largest accepted <see cref="Timeout"/> (1 hour).</summary>
    public static readonly TimeSpan MaxTimeout = TimeSpan.FromHours(1);

    /// <summary>Largest accepted <see cref="Retries"/>.</summary>
    public const int MaxRetries = 1000;

    /// <summary>The broker, e.g. <c>tcp://127.0.0.1:5555</c> (required unless <see cref="BrokerEndpoints"/> names the brokers).</summary>
    public string BrokerEndpoint { get; init; } = string.Empty;

    /// <summary>
    /// Several brokers, e.g. the two of a Binary Star pair, to fail over between (default none:
    /// <see cref="BrokerEndpoint"/> is the one broker). New connections go to the current broker, the
    /// first one to begin with. When a request times out on a connection to the current broker, the
    /// client moves on to the next broker: every connection to the old one takes no new requests (each
    /// is closed once its requests are done), and the timed-out request is resent, if
    /// <see cref="Retries"/> allows, on a connection to the new broker after <see cref="SettleDelay"/>.
    /// At most 16, none repeated; leave <see cref="BrokerEndpoint"/> empty when set.
    /// </summary>
    public IReadOnlyList<string> BrokerEndpoints { get; init; } = [];

    /// <summary>
    /// Resends of a request whose attempt timed out, each on a fresh connection and with a fresh
    /// timeout (default 0: a timed-out request fails; 0..<see cref="MaxRetries"/>). Set it with several
    /// <see cref="BrokerEndpoints"/>, so that a request the dying broker held is resent to the next one.
    /// </summary>
    public int Retries { get; init; }

    /// <summary>
    /// With several <see cref="BrokerEndpoints"/>: the pause before a timed-out request is resent to the
    /// next broker (default 2000 ms, as the zguide's <c>bstarcli</c>); with one broker a resend goes out at
    /// once. Range zero..<see cref="MaxTimeout"/>.
    /// </summary>
    public TimeSpan SettleDelay { get; init; } = TimeSpan.FromMilliseconds(2000);

    /// <summary>Protocol version (default MDP/0.1). The client always uses DEALER sockets, as RFC 18 requires.</summary>
    public MdpVersion Version { get; init; } = MdpVersion.V01;

    /// <summary>
    /// MDP/0.2 only, off by default: each request carries the current trace context as a first frame, so the broker's and the worker's spans join the client's trace (our extension, docs/wire/mdp.md §18). Turn it on only with
    /// Reliability's broker: another MDP/0.2 broker would pass the frame on to the worker as part of the body.
    /// </summary>
    public bool TraceContext { get; init; }

    /// <summary>Default per-request timeout (default 2500 ms), counted from the call (from each resend, with <see cref="Retries"/>) and including any wait for a free connection.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromMilliseconds(2500);

    /// <summary>
    /// Most DEALER connections to the broker (default 64). Each connection carries at most one outstanding
    /// request per service, which is how every reply is matched to its request without changing the
    /// message (see <see cref="MajordomoAsyncClient"/>), so this is also the most requests outstanding for one
    /// service; more wait, in call order, for a connection to become free. Range 1..<see cref="MaxConnectionsLimit"/>.
    /// </summary>
    public int MaxConnections { get; init; } = 64;

    /// <summary>
    /// Settings of the DEALER sockets. <see cref="SocketOptions.Linger"/> is always replaced by zero: a
    /// connection is only closed after a timeout, and what it still had queued must not reach the broker later.
    /// <see cref="SocketOptions.InlineReceiveContinuations"/> is always on: the client's own receive loops never block.
    /// </summary>
    public SocketOptions Socket { get; init; } = new() { Linger = TimeSpan.Zero };

    /// <summary>
    /// When true, a request's task completes on the I/O thread that received its reply, and the code
    /// awaiting it resumes there without a thread hop (default false: it resumes on the thread pool).
    /// Timeouts, cancellations and disposal still complete it on the thread pool.
    /// Saves a thread wake-up per request (about a fifth of the broker benchmark's client CPU), but only
    /// for callers that never block after the await: a blocking wait there (for example on another
    /// request's task) stalls every connection that thread serves and can deadlock the client. As
    /// ASP.NET Core's <c>UnsafePreferInlineScheduling</c>, hence the name.
    /// </summary>
    public bool UnsafeInlineCompletions { get; init; }

    /// <summary>Checks every setting and reports all problems together.</summary>
    /// <exception cref="ArgumentException">One or more settings are out of range.</exception>
    public void Validate()
    {
        var problems = new List<string>();
        BrokerEndpointList.Check(BrokerEndpoint, BrokerEndpoints, problems);
        if (Retries is < 0 or > MaxRetries)
        {
            problems.Add($"Retries must be 0..{MaxRetries} (was {Retries})");
        }

        if (SettleDelay < TimeSpan.Zero || SettleDelay > MaxTimeout)
        {
            problems.Add($"SettleDelay must be between zero and {MaxTimeout} (was {SettleDelay})");
        }

        if (Version is not (MdpVersion.V01 or MdpVersion.V02))
        {
            problems.Add($"Version must be V01 or V02 (was {Version})");
        }

        if (Timeout <= TimeSpan.Zero || Timeout > MaxTimeout)
        {
            problems.Add($"Timeout must be positive and at most {MaxTimeout} (was {Timeout})");
        }

        if (MaxConnections is < 1 or > MaxConnectionsLimit)
        {
            problems.Add($"MaxConnections must be 1..{MaxConnectionsLimit} (was {MaxConnections})");
        }

        OptionChecks.Socket(Socket, problems);
        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid Majordomo async client options: " + string.Join("; ", problems) + ".");
        }
    }

    /// <summary>The brokers in use: <see cref="BrokerEndpoints"/>, or <see cref="BrokerEndpoint"/> alone.</summary>
    internal IReadOnlyList<string> Brokers => BrokerEndpointList.Resolve(BrokerEndpoint, BrokerEndpoints);

    /// <summary>The brokers for logs and exceptions, comma-separated.</summary>
    internal string BrokerNames => string.Join(",", Brokers);
}
