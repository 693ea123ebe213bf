namespace Reliability.Mdp.Broker;

/// <summary>The resource-limit settings of the schema (docs/security-limits.md).</summary>
public static partial class BrokerSettings
{
    /// <summary><see cref="BrokerOptions.MaxMessageSize"/> in bytes.</summary>
    public const string MaxMessageSize = "MaxMessageSize";

    /// <summary><see cref="BrokerOptions.HandshakeTimeout"/> in milliseconds.</summary>
    public const string HandshakeTimeoutMs = "HandshakeTimeoutMs";

    /// <summary><see cref="BrokerOptions.MaxConnections"/>.</summary>
    public const string MaxConnections = "MaxConnections";

    /// <summary><see cref="BrokerOptions.MaxPendingHandshakes"/>.</summary>
    public const string MaxHandshakes = "MaxHandshakes";

    /// <summary>Applies one of the limit settings (<paramref name="canonical"/> is its key as declared here).</summary>
    private static BrokerOptions WithLimit(BrokerOptions options, string canonical, string key, string value, List<string> problems) => canonical switch
    {
        MaxMessageSize => options with { MaxMessageSize = ParseLong(key, value, problems) ?? options.MaxMessageSize },
        HandshakeTimeoutMs => options with { HandshakeTimeout = ParseMs(key, value, problems) ?? options.HandshakeTimeout },
        MaxConnections => options with { MaxConnections = ParseInt(key, value, problems) ?? options.MaxConnections },
        _ => options with { MaxPendingHandshakes = ParseInt(key, value, problems) ?? options.MaxPendingHandshakes },
    };
}
