using Reliability.Patterns.BinaryStar;

namespace Reliability.Mdp.Broker;

/// <summary>The Binary Star settings of the schema (<see cref="BrokerOptions.BinaryStar"/>).</summary>
public static partial class BrokerSettings
{
    /// <summary><see cref="BinaryStarOptions.Role"/>: <c>primary</c> or <c>backup</c>. Makes the broker one node of a Binary Star pair; needs <see cref="HaLocal"/> and <see cref="HaRemote"/>.</summary>
    public const string HaRole = "HaRole";

    /// <summary><see cref="BinaryStarOptions.LocalEndpoint"/>: where this broker publishes its state to its peer, e.g. <c>tcp://*:5003</c>.</summary>
    public const string HaLocal = "HaLocal";

    /// <summary><see cref="BinaryStarOptions.RemoteEndpoint"/>: the peer's state endpoint, e.g. <c>tcp://10.0.0.2:5004</c>.</summary>
    public const string HaRemote = "HaRemote";

    /// <summary><see cref="BinaryStarOptions.Heartbeat"/> in milliseconds (default 1000; the same on both brokers of the pair).</summary>
    public const string HaHeartbeatMs = "HaHeartbeatMs";

    /// <summary>
    /// Applies the Ha* settings found in <paramref name="pair"/> (canonical key → value) on top of
    /// <paramref name="options"/>. A role without both endpoints, endpoints without a role and an
    /// unknown role are problems of their own; the endpoints' shape and the heartbeat's range are
    /// checked with the rest of the options.
    /// </summary>
    private static BrokerOptions WithBinaryStar(BrokerOptions options, Dictionary<string, string> pair, List<string> problems)
    {
        if (pair.Count == 0)
        {
            return options;
        }

        var node = options.BinaryStar;
        if (pair.TryGetValue(HaRole, out var roleText))
        {
            BinaryStarRole? role = IsWord(roleText, "primary") ? BinaryStarRole.Primary
                : IsWord(roleText, "backup") ? BinaryStarRole.Backup
                : null;
            if (role is null)
            {
                problems.Add($"{HaRole}: '{roleText}' is not primary or backup");
                return options;
            }

            node = (node ?? new BinaryStarOptions()) with { Role = role.Value };
        }
        else if (node is null)
        {
            problems.Add($"{string.Join(", ", pair.Keys.Order(StringComparer.Ordinal))} given without {HaRole}: set {HaRole} (primary or backup) to run the broker as one node of a Binary Star pair");
            return options;
        }

        if (pair.TryGetValue(HaLocal, out var local))
        {
            node = node with { LocalEndpoint = local };
        }

        if (pair.TryGetValue(HaRemote, out var remote))
        {
            node = node with { RemoteEndpoint = remote };
        }

        if (pair.TryGetValue(HaHeartbeatMs, out var heartbeatText))
        {
            node = node with { Heartbeat = ParseMs(HaHeartbeatMs, heartbeatText, problems) ?? node.Heartbeat };
        }

        var missing = new List<string>();
        if (string.IsNullOrEmpty(node.LocalEndpoint))
        {
            missing.Add($"{HaLocal} (where this broker publishes its state)");
        }

        if (string.IsNullOrEmpty(node.RemoteEndpoint))
        {
            missing.Add($"{HaRemote} (the peer's state endpoint)");
        }

        if (missing.Count > 0)
        {
            string role = node.Role == BinaryStarRole.Primary ? "primary" : "backup";
            problems.Add($"{HaRole} {role} needs {string.Join(" and ", missing)}");
            return options;
        }

        return options with { BinaryStar = node };
    }

    private static bool IsWord(string text, string word) => string.Equals(text, word, StringComparison.OrdinalIgnoreCase);
}
