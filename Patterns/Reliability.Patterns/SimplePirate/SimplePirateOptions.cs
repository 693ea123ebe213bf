using Reliability.Patterns.ParanoidPirate;

namespace Reliability.Patterns.SimplePirate;

/// <summary>Settings of a <see cref="SimplePirateQueue"/>; validated when the queue is created.</summary>
public sealed record SimplePirateQueueOptions
{
    /// <summary>Endpoint the clients' side binds (default <c>tcp://127.0.0.1:5555</c>, as the zguide's spqueue).</summary>
    public string FrontendEndpoint { get; init; } = "tcp://127.0.0.1:5555";

    /// <summary>Endpoint the workers' side binds (default <c>tcp://127.0.0.1:5556</c>).</summary>
    public string BackendEndpoint { get; init; } = "tcp://127.0.0.1:5556";

    /// <summary>Checks every setting and reports all problems together.</summary>
    /// <exception cref="ArgumentException">One or more settings are out of range.</exception>
    public void Validate()
    {
        var problems = new List<string>();
        PirateOptionChecks.Required(problems, FrontendEndpoint, nameof(FrontendEndpoint));
        PirateOptionChecks.Required(problems, BackendEndpoint, nameof(BackendEndpoint));

        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid Simple Pirate queue options: " + string.Join("; ", problems) + ".");
        }
    }
}

/// <summary>Settings of a <see cref="SimplePirateWorker"/>; validated when the worker is created.</summary>
public sealed record SimplePirateWorkerOptions
{
    /// <summary>The queue's backend endpoint (default <c>tcp://127.0.0.1:5556</c>).</summary>
    public string Endpoint { get; init; } = "tcp://127.0.0.1:5556";

    /// <summary>
    /// Identity announced to the queue (1..255 octets, not starting with 0). Default empty: a random
    /// printable id <c>%04X-%04X</c> per connection, as the zguide's spworker.
    /// </summary>
    public ReadOnlyMemory<byte> RoutingId { get; init; }

    /// <summary>Checks every setting and reports all problems together.</summary>
    /// <exception cref="ArgumentException">One or more settings are out of range.</exception>
    public void Validate()
    {
        var problems = new List<string>();
        PirateOptionChecks.Required(problems, Endpoint, nameof(Endpoint));

        PirateOptionChecks.RoutingId(problems, RoutingId);

        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid Simple Pirate worker options: " + string.Join("; ", problems) + ".");
        }
    }
}
