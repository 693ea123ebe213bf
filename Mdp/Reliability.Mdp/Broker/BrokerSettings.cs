using System.Globalization;

namespace Reliability.Mdp.Broker;

/// <summary>
/// The broker's settings as flat text key/value pairs, the form they take in a JSON configuration file,
/// in <c>MDBROKER_</c> environment variables and on a command line. One schema, parsed and validated in
/// one place for the <c>mdbroker</c> service and the <c>mdbroker</c> example alike. Keys are
/// case-insensitive; durations are whole milliseconds; an empty or null value means "use the default".
/// </summary>
public static partial class BrokerSettings
{
    /// <summary>Endpoints to bind: one value, a comma-separated list, or indexed keys <c>Bind:0</c>, <c>Bind:1</c>, ... (<see cref="BrokerOptions.Endpoints"/>).</summary>
    public const string Bind = "Bind";

    /// <summary><see cref="BrokerOptions.HeartbeatInterval"/> in milliseconds.</summary>
    public const string HeartbeatMs = "HeartbeatMs";

    /// <summary><see cref="BrokerOptions.Liveness"/>.</summary>
    public const string Liveness = "Liveness";

    /// <summary><see cref="BrokerOptions.RequestExpiry"/> in milliseconds.</summary>
    public const string RequestExpiryMs = "RequestExpiryMs";

    /// <summary><see cref="BrokerOptions.MaxRequeues"/>.</summary>
    public const string MaxRequeues = "MaxRequeues";

    /// <summary><see cref="BrokerOptions.MaxQueuedRequestsPerService"/>.</summary>
    public const string MaxQueuedRequestsPerService = "MaxQueuedRequestsPerService";

    /// <summary><see cref="BrokerOptions.MaxQueuedRequestsPerClient"/>.</summary>
    public const string MaxQueuedRequestsPerClient = "MaxQueuedRequestsPerClient";

    /// <summary><see cref="BrokerOptions.MaxQueuedRequests"/>.</summary>
    public const string MaxQueuedRequests = "MaxQueuedRequests";

    /// <summary><see cref="BrokerOptions.MaxQueuedBytesPerClient"/>.</summary>
    public const string MaxQueuedBytesPerClient = "MaxQueuedBytesPerClient";

    /// <summary><see cref="BrokerOptions.MaxQueuedBytesPerService"/>.</summary>
    public const string MaxQueuedBytesPerService = "MaxQueuedBytesPerService";

    /// <summary><see cref="BrokerOptions.MaxQueuedBytes"/>.</summary>
    public const string MaxQueuedBytes = "MaxQueuedBytes";

    /// <summary><see cref="BrokerOptions.MaxServices"/>.</summary>
    public const string MaxServices = "MaxServices";

    /// <summary><see cref="BrokerOptions.MaxWorkers"/>.</summary>
    public const string MaxWorkers = "MaxWorkers";

    /// <summary><see cref="BrokerOptions.MaxServiceNameLength"/>.</summary>
    public const string MaxServiceNameLength = "MaxServiceNameLength";

    /// <summary><see cref="BrokerOptions.ShutdownTimeout"/> in milliseconds.</summary>
    public const string ShutdownTimeoutMs = "ShutdownTimeoutMs";

    /// <summary>Every key this schema knows (<see cref="Bind"/> also in its indexed form).</summary>
    public static IReadOnlyList<string> Keys { get; } =
        [Bind, HeartbeatMs, Liveness, RequestExpiryMs, MaxRequeues, MaxQueuedRequestsPerService, MaxQueuedRequestsPerClient, MaxQueuedRequests,
         MaxQueuedBytesPerClient, MaxQueuedBytesPerService, MaxQueuedBytes, MaxServices, MaxWorkers, MaxServiceNameLength, ShutdownTimeoutMs,
         HaRole, HaLocal, HaRemote, HaHeartbeatMs, MaxMessageSize, HandshakeTimeoutMs, MaxConnections, MaxHandshakes, .. SecurityKeys];

    /// <summary>
    /// Builds broker options from <paramref name="settings"/> on top of <paramref name="defaults"/>
    /// (<see cref="BrokerOptions.Default"/> when null). Every problem is reported, not just the first:
    /// unknown keys, values that are not numbers, and values <see cref="BrokerOptions.Validate"/> rejects.
    /// </summary>
    /// <returns>True and the options when there are no problems; false and the problems otherwise.</returns>
    public static bool TryCreateOptions(
        IEnumerable<KeyValuePair<string, string?>> settings,
        BrokerOptions? defaults,
        out BrokerOptions options,
        out IReadOnlyList<string> problems)
    {
        ArgumentNullException.ThrowIfNull(settings);
        options = defaults ?? BrokerOptions.Default;
        var found = new List<string>();
        var endpoints = new SortedDictionary<int, string>();
        string? endpointList = null;
        var pair = new Dictionary<string, string>(StringComparer.Ordinal);
        var security = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        foreach (var (rawKey, rawValue) in settings)
        {
            string key = rawKey?.Trim() ?? string.Empty;
            string? value = string.IsNullOrWhiteSpace(rawValue) ? null : rawValue.Trim();
            if (TryTakeSecurity(key, value, security))
            {
                continue;
            }
            if (key.StartsWith(Bind + ":", StringComparison.OrdinalIgnoreCase))
            {
                if (!int.TryParse(key.AsSpan(Bind.Length + 1), NumberStyles.None, CultureInfo.InvariantCulture, out int index))
                {
                    found.Add($"unknown setting '{key}' (Bind takes indexed entries Bind:0, Bind:1, ...)");
                }
                else if (value is not null)
                {
                    endpoints[index] = value;
                }

                continue;
            }

            if (value is null)
            {
                // Unset (or a parent key, as configuration providers list them): keep the default.
                if (!IsKnown(key))
                {
                    found.Add($"unknown setting '{key}' (known: {string.Join(", ", Keys)})");
                }

                continue;
            }

            switch (Canonical(key))
            {
                case Bind:
                    endpointList = value;
                    break;
                case HeartbeatMs:
                    options = options with { HeartbeatInterval = ParseMs(key, value, found) ?? options.HeartbeatInterval };
                    break;
                case Liveness:
                    options = options with { Liveness = ParseInt(key, value, found) ?? options.Liveness };
                    break;
                case RequestExpiryMs:
                    options = options with { RequestExpiry = ParseMs(key, value, found) ?? options.RequestExpiry };
                    break;
                case MaxRequeues:
                    options = options with { MaxRequeues = ParseInt(key, value, found) ?? options.MaxRequeues };
                    break;
                case MaxQueuedRequestsPerService:
                    options = options with { MaxQueuedRequestsPerService = ParseInt(key, value, found) ?? options.MaxQueuedRequestsPerService };
                    break;
                case MaxQueuedRequestsPerClient:
                    options = options with { MaxQueuedRequestsPerClient = ParseInt(key, value, found) ?? options.MaxQueuedRequestsPerClient };
                    break;
                case MaxQueuedRequests:
                    options = options with { MaxQueuedRequests = ParseInt(key, value, found) ?? options.MaxQueuedRequests };
                    break;
                case MaxQueuedBytesPerClient:
                    options = options with { MaxQueuedBytesPerClient = ParseLong(key, value, found) ?? options.MaxQueuedBytesPerClient };
                    break;
                case MaxQueuedBytesPerService:
                    options = options with { MaxQueuedBytesPerService = ParseLong(key, value, found) ?? options.MaxQueuedBytesPerService };
                    break;
                case MaxQueuedBytes:
                    options = options with { MaxQueuedBytes = ParseLong(key, value, found) ?? options.MaxQueuedBytes };
                    break;
                case MaxServices:
                    options = options with { MaxServices = ParseInt(key, value, found) ?? options.MaxServices };
                    break;
                case MaxWorkers:
                    options = options with { MaxWorkers = ParseInt(key, value, found) ?? options.MaxWorkers };
                    break;
                case MaxServiceNameLength:
                    options = options with { MaxServiceNameLength = ParseInt(key, value, found) ?? options.MaxServiceNameLength };
                    break;
                case ShutdownTimeoutMs:
                    options = options with { ShutdownTimeout = ParseMs(key, value, found) ?? options.ShutdownTimeout };
                    break;
                case MaxMessageSize or HandshakeTimeoutMs or MaxConnections or MaxHandshakes:
                    options = WithLimit(options, Canonical(key)!, key, value, found);
                    break;
                case HaRole or HaLocal or HaRemote or HaHeartbeatMs:
                    pair[Canonical(key)!] = value;
                    break;
                default:
                    found.Add($"unknown setting '{key}' (known: {string.Join(", ", Keys)})");
                    break;
            }
        }

        // A plain value wins over indexed entries: it comes from a layer (environment, command line) meant to replace them.
        if (endpointList is not null)
        {
            options = options with { Endpoints = endpointList.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) };
        }
        else if (endpoints.Count > 0)
        {
            options = options with { Endpoints = [.. endpoints.Values] };
        }

        options = WithBinaryStar(options, pair, found);
        options = WithSecurity(options, security, found);

        // Values that did not parse kept their defaults, so these are problems of their own, not echoes.
        found.AddRange(options.GetProblems());

        problems = found;
        return found.Count == 0;
    }

    private static bool IsKnown(string key) => Canonical(key) is not null;

    private static string? Canonical(string key) => Keys.FirstOrDefault(k => string.Equals(k, key, StringComparison.OrdinalIgnoreCase));

    private static int? ParseInt(string key, string value, List<string> problems)
    {
        if (int.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int result))
        {
            return result;
        }

        problems.Add($"{key}: '{value}' is not a whole number");
        return null;
    }

    private static long? ParseLong(string key, string value, List<string> problems)
    {
        if (long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long result))
        {
            return result;
        }

        problems.Add($"{key}: '{value}' is not a whole number");
        return null;
    }

    private static TimeSpan? ParseMs(string key, string value, List<string> problems)
    {
        // Whole milliseconds up to a day: larger values could only be typos, and the options cap them anyway.
        if (long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long ms) && ms is >= int.MinValue and <= int.MaxValue)
        {
            return TimeSpan.FromMilliseconds(ms);
        }

        problems.Add($"{key}: '{value}' is not a whole number of milliseconds");
        return null;
    }
}
