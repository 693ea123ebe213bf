using Reliability.Transport;

namespace Reliability.Mdp.Worker;

/// <summary>Validation shared by the worker and client option records (problems are collected, not thrown one by one).</summary>
internal static class OptionChecks
{
    /// <summary>Adds a problem unless <paramref name="endpoint"/> looks like <c>transport://address</c>.</summary>
    public static void Endpoint(string? endpoint, string name, List<string> problems)
    {
        int separator = endpoint?.IndexOf("://", StringComparison.Ordinal) ?? -1;
        if (string.IsNullOrWhiteSpace(endpoint) || separator <= 0 || separator + 3 >= endpoint.Length)
        {
            problems.Add($"{name} must look like transport://address, e.g. tcp://127.0.0.1:5555 (was '{endpoint}')");
        }
    }

    /// <summary>Adds the socket options' own problems, prefixed.</summary>
    public static void Socket(SocketOptions? socket, List<string> problems)
    {
        if (socket is null)
        {
            problems.Add("Socket must not be null");
            return;
        }

        try
        {
            socket.Validate();
        }
        catch (ArgumentException ex)
        {
            problems.Add("Socket: " + ex.Message);
        }
    }
}
