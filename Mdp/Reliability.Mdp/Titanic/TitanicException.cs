using Reliability.Transport;

namespace Reliability.Mdp.Titanic;

/// <summary>
/// Titanic answered with a status other than the one the call needs: <see cref="Tsp.Error"/> (failed or
/// full: retry later) or <see cref="Tsp.Unknown"/> (the id is unknown or the request malformed).
/// </summary>
public sealed class TitanicException : ReliabilityException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="service">The Titanic service that answered (<c>titanic.request</c>, …).</param>
    /// <param name="status">The status code it answered with (empty when the reply had none).</param>
    public TitanicException(string service, string status)
        : base($"Titanic service '{service}' answered status '{status}'" + Explain(status))
    {
        Service = service;
        Status = status;
    }

    /// <summary>The Titanic service that answered.</summary>
    public string Service { get; }

    /// <summary>The status code (see <see cref="Tsp"/>).</summary>
    public string Status { get; }

    /// <summary>Whether asking again later may succeed (status 500, or no status).</summary>
    public bool IsTransient => Status != Tsp.Unknown;

    private static string Explain(string status) => status switch
    {
        Tsp.Error => ": it failed or is full; retry later.",
        Tsp.Unknown => ": unknown request id or malformed request.",
        _ => ".",
    };
}
