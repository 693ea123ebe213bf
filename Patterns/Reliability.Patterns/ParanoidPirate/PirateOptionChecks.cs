using Reliability.Patterns.Heartbeating;

namespace Reliability.Patterns.ParanoidPirate;

/// <summary>
/// Checks the Simple and Paranoid Pirate options records share. Each adds its problems to the
/// caller's list instead of throwing, so an options record reports all its problems together.
/// </summary>
internal static class PirateOptionChecks
{
    /// <summary>An endpoint setting must be given.</summary>
    public static void Required(List<string> problems, string? endpoint, string name)
    {
        if (string.IsNullOrWhiteSpace(endpoint))
        {
            problems.Add(name + " is required");
        }
    }

    /// <summary>Heartbeat settings must be given and valid.</summary>
    public static void Heartbeat(List<string> problems, HeartbeatOptions? heartbeat)
    {
        if (heartbeat is null)
        {
            problems.Add("Heartbeat is required");
            return;
        }

        try
        {
            heartbeat.Validate();
        }
        catch (ArgumentException ex)
        {
            problems.Add(ex.Message);
        }
    }

    /// <summary>A fixed worker identity: at most 255 octets, and not starting with 0 (ZMTP reserves those for ids the ROUTER generates).</summary>
    public static void RoutingId(List<string> problems, ReadOnlyMemory<byte> routingId)
    {
        if (routingId.Length > 255)
        {
            problems.Add($"RoutingId must be at most 255 octets (was {routingId.Length})");
        }
        else if (routingId.Length > 0 && routingId.Span[0] == 0)
        {
            problems.Add("RoutingId must not start with a zero octet (reserved for generated ids)");
        }
    }
}
