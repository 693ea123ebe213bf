namespace Reliability.Mdp.Titanic;

/// <summary>Settings of a <see cref="TitanicClient"/>.</summary>
public sealed record TitanicClientOptions
{
    /// <summary>Largest accepted <see cref="PollInterval"/> and <see cref="PollIntervalMax"/> (1 minute).</summary>
    public static readonly TimeSpan MaxPollInterval = TimeSpan.FromMinutes(1);

    /// <summary>
    /// First wait of <see cref="TitanicClient.WaitForReplyAsync"/> between two <c>titanic.reply</c> polls that
    /// found the reply pending (default 50 ms); it doubles after each, up to <see cref="PollIntervalMax"/>.
    /// </summary>
    public TimeSpan PollInterval { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Longest wait between two polls (default 1 s; the zguide's ticlient waits 5 s).</summary>
    public TimeSpan PollIntervalMax { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Checks every setting and reports all problems together.</summary>
    /// <exception cref="ArgumentException">One or more settings are out of range.</exception>
    public void Validate()
    {
        var problems = new List<string>();
        if (PollInterval <= TimeSpan.Zero || PollInterval > MaxPollInterval)
        {
            problems.Add($"PollInterval must be positive and at most {MaxPollInterval} (was {PollInterval})");
        }

        if (PollIntervalMax < PollInterval || PollIntervalMax > MaxPollInterval)
        {
            problems.Add($"PollIntervalMax must be between PollInterval and {MaxPollInterval} (was {PollIntervalMax})");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid Titanic client options: " + string.Join("; ", problems) + ".");
        }
    }
}
