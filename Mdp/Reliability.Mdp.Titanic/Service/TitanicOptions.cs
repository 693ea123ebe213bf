namespace Reliability.Mdp.Titanic.Service;

/// <summary>Settings of a <see cref="TitanicService"/>; every limit has a documented default and a hard cap.</summary>
internal sealed record TitanicOptions
{
    /// <summary>Largest <see cref="MaxRequests"/> (10 million rows).</summary>
    public const int MaxRequestsLimit = 10_000_000;

    /// <summary>Largest <see cref="RequestWorkers"/> and <see cref="DispatchWindow"/>.</summary>
    public const int MaxConcurrency = 1024;

    /// <summary>Longest <see cref="ReplyTtl"/> (30 days).</summary>
    public static readonly TimeSpan MaxReplyTtl = TimeSpan.FromDays(30);

    /// <summary>Longest <see cref="DispatchTimeout"/> (1 hour, the Majordomo client's own cap).</summary>
    public static readonly TimeSpan MaxDispatchTimeout = TimeSpan.FromHours(1);

    /// <summary>The broker to register with and send the stored requests through (required).</summary>
    public string BrokerEndpoint { get; init; } = string.Empty;

    /// <summary>Most requests held at once, pending and answered (default 100,000); beyond it <c>titanic.request</c> answers 500.</summary>
    public int MaxRequests { get; init; } = 100_000;

    /// <summary>How long a stored reply is kept when nobody closes it (default 1 hour).</summary>
    public TimeSpan ReplyTtl { get; init; } = TimeSpan.FromHours(1);

    /// <summary>
    /// How long one attempt at a stored request may take (default 10 s): a request its worker did not answer in
    /// that time (the worker died, or was too slow) is sent again, and one whose service had no worker is looked
    /// at again after that long.
    /// </summary>
    public TimeSpan DispatchTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How many <c>titanic.request</c> workers to register (default 32). Each answers one request at a time, so this
    /// is also how many submissions can share one group commit.
    /// </summary>
    public int RequestWorkers { get; init; } = 32;

    /// <summary>Most stored requests sent to their services at once (default 64).</summary>
    public int DispatchWindow { get; init; } = 64;

    /// <summary>Checks every setting and reports all problems together.</summary>
    /// <exception cref="ArgumentException">One or more settings are out of range.</exception>
    public void Validate()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(BrokerEndpoint))
        {
            problems.Add("BrokerEndpoint is required");
        }

        if (MaxRequests is < 1 or > MaxRequestsLimit)
        {
            problems.Add($"MaxRequests must be between 1 and {MaxRequestsLimit} (was {MaxRequests})");
        }

        if (ReplyTtl < TimeSpan.FromSeconds(1) || ReplyTtl > MaxReplyTtl)
        {
            problems.Add($"ReplyTtl must be between 1 s and {MaxReplyTtl} (was {ReplyTtl})");
        }

        if (DispatchTimeout < TimeSpan.FromMilliseconds(100) || DispatchTimeout > MaxDispatchTimeout)
        {
            problems.Add($"DispatchTimeout must be between 100 ms and {MaxDispatchTimeout} (was {DispatchTimeout})");
        }

        if (RequestWorkers is < 1 or > MaxConcurrency)
        {
            problems.Add($"RequestWorkers must be between 1 and {MaxConcurrency} (was {RequestWorkers})");
        }

        if (DispatchWindow is < 1 or > MaxConcurrency)
        {
            problems.Add($"DispatchWindow must be between 1 and {MaxConcurrency} (was {DispatchWindow})");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid Titanic options: " + string.Join("; ", problems) + ".");
        }
    }
}
