using Reliability.Transport;

namespace Reliability.Patterns;

/// <summary>
/// The checks every options record of the patterns and of Majordomo applies to its endpoint and socket
/// settings. Each adds its problems to the caller's list instead of throwing, so an options record reports
/// all its problems together.
/// </summary>
internal static class OptionChecks
{
    /// <summary>Adds a problem unless <paramref name="endpoint"/> looks like <c>transport://address</c>.</summary>
    public static void Endpoint(string? endpoint, string name, List<string> problems)
    {
        int separator = endpoint?.IndexOf("://", StringComparison.Ordinal) ?? -1;
        if (string.IsNullOrWhiteSpace(endpoint) || separator <= 0 || separator + 3 >= endpoint.Length)
        {
            problems.Add($"{name} must look like transport://address (was '{endpoint}'), e.g. tcp://127.0.0.1:5555");
        }
    }

    /// <summary>
    /// Adds the problems of a list of endpoints named <paramref name="name"/>: empty, longer than
    /// <paramref name="max"/>, an entry that is not an endpoint, or an entry repeated. <paramref name="noun"/>
    /// says what each endpoint is (server, broker) in the messages.
    /// </summary>
    public static void EndpointList(IReadOnlyList<string>? endpoints, string name, string noun, int max, List<string> problems)
    {
        if (endpoints is null || endpoints.Count == 0)
        {
            problems.Add($"{name} must name at least one {noun}");
            return;
        }

        if (endpoints.Count > max)
        {
            problems.Add($"{name} may name at most {max} {noun}s (was {endpoints.Count})");
        }

        for (int i = 0; i < endpoints.Count; i++)
        {
            Endpoint(endpoints[i], $"{name}[{i}]", problems);
        }

        if (endpoints.Distinct(StringComparer.Ordinal).Count() != endpoints.Count)
        {
            problems.Add($"{name} must not repeat a {noun}");
        }
    }

    /// <summary>Adds the socket options' own problems, prefixed; returns false when there are none to look at further (null).</summary>
    public static bool Socket(SocketOptions? socket, List<string> problems)
    {
        if (socket is null)
        {
            problems.Add("Socket must not be null");
            return false;
        }

        try
        {
            socket.Validate();
        }
        catch (ArgumentException ex)
        {
            problems.Add("Socket: " + ex.Message);
        }

        return true;
    }
}
