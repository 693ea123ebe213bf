namespace Reliability.Patterns;

/// <summary>The shape check every options record of this assembly applies to an endpoint setting.</summary>
internal static class EndpointCheck
{
    /// <summary>Adds a problem to <paramref name="problems"/> unless <paramref name="endpoint"/> looks like <c>transport://address</c>.</summary>
    public static void Shape(string? endpoint, string name, List<string> problems)
    {
        int separator = endpoint?.IndexOf("://", StringComparison.Ordinal) ?? -1;
        if (string.IsNullOrWhiteSpace(endpoint) || separator <= 0 || separator + 3 >= endpoint.Length)
        {
            problems.Add($"{name} must look like transport://address (was '{endpoint}')");
        }
    }
}
