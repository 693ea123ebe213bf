using Reliability.Patterns;

namespace Reliability.Mdp;

/// <summary>
/// The broker endpoint settings every Majordomo options record has: one <c>BrokerEndpoint</c>, or
/// several <c>BrokerEndpoints</c> (the brokers of a Binary Star pair, docs/patterns/binary-star.md §8).
/// One set of checks and one resolution for the worker and both clients.
/// </summary>
internal static class BrokerEndpointList
{
    /// <summary>Most brokers one worker or client is given.</summary>
    public const int MaxBrokers = 16;

    /// <summary>The brokers to use: the list when it is not empty, else the single endpoint.</summary>
    public static IReadOnlyList<string> Resolve(string single, IReadOnlyList<string>? several) =>
        several is { Count: > 0 } ? several : [single];

    /// <summary>Adds the problems of the pair of settings: exactly one of them set, each endpoint well formed, none repeated.</summary>
    public static void Check(string single, IReadOnlyList<string>? several, List<string> problems)
    {
        if (several is not { Count: > 0 })
        {
            OptionChecks.Endpoint(single, "BrokerEndpoint", problems);
            return;
        }

        if (!string.IsNullOrEmpty(single))
        {
            problems.Add("BrokerEndpoint and BrokerEndpoints are both set: name the brokers in one of them");
        }

        OptionChecks.EndpointList(several, "BrokerEndpoints", "broker", MaxBrokers, problems);
    }
}
