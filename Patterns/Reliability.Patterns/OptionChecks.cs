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
