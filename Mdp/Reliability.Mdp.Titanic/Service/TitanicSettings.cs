using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Reliability.Mdp.Titanic.Store;

namespace Reliability.Mdp.Titanic.Service;

/// <summary>
/// The <c>titanic</c> settings, from (in increasing priority) defaults, a JSON file (<c>--config</c>), <c>TITANIC_*</c>
/// environment variables and the command line; one key per setting in all three, validated together.
/// </summary>
internal sealed record TitanicSettings(TitanicOptions Options, TitanicStoreLocation Store, LogLevel LogLevel, bool JsonLog)
{
    public const string EnvironmentPrefix = "TITANIC_";

    /// <summary>Option name, setting key, value placeholder, help.</summary>
    public static IReadOnlyList<(string Option, string Key, string Value, string Help)> Keys { get; } =
    [
        ("endpoint", "Endpoint", "BROKER", "the Majordomo broker to serve through (required), e.g. tcp://localhost:5555"),
        ("store", "Store", "STORE", "sqlite:PATH (default sqlite:titanic.db) or postgres:CONNSTR (several nodes, one database)"),
        ("max-requests", "MaxRequests", "N", "most requests held; beyond it titanic.request answers 500 (default 100000)"),
        ("reply-ttl", "ReplyTtl", "S", "seconds an unclosed reply is kept (default 3600)"),
        ("dispatch-timeout", "DispatchTimeout", "S", "seconds one attempt may take before the request is sent again (default 10)"),
        ("request-workers", "RequestWorkers", "N", "titanic.request workers, i.e. submissions per group commit (default 32)"),
        ("log-level", "LogLevel", "L", "Trace, Debug, Information, Warning, Error, Critical or None (default Information)"),
        ("log-format", "LogFormat", "F", "simple or json (default simple)"),
    ];

    /// <summary>The <c>TITANIC_*</c> environment variables, prefix removed.</summary>
    public static IEnumerable<KeyValuePair<string, string?>> ReadEnvironment() =>
        new ConfigurationBuilder().AddEnvironmentVariables(EnvironmentPrefix).Build().AsEnumerable();

    /// <summary>Merges the layers and checks them; every problem goes to <paramref name="problems"/>.</summary>
    public static TitanicSettings? Load(
        string? configPath,
        IEnumerable<KeyValuePair<string, string?>> environment,
        IEnumerable<KeyValuePair<string, string?>> commandLine,
        List<string> problems)
    {
        var builder = new ConfigurationBuilder();
        if (configPath is not null)
        {
            if (!File.Exists(configPath))
            {
                problems.Add($"configuration file '{configPath}' does not exist");
                return null;
            }

            builder.AddJsonFile(Path.GetFullPath(configPath), optional: false, reloadOnChange: false);
        }

        IConfiguration merged;
        try
        {
            merged = builder.AddInMemoryCollection(environment).AddInMemoryCollection(commandLine).Build();
        }
        catch (Exception ex) when (ex is FormatException or InvalidDataException or IOException)
        {
            problems.Add($"configuration file '{configPath}' cannot be read: {ex.Message}");
            return null;
        }

        var defaults = new TitanicOptions();
        var options = new TitanicOptions
        {
            BrokerEndpoint = merged["Endpoint"] ?? string.Empty,
            MaxRequests = Number(merged, "MaxRequests", defaults.MaxRequests, problems),
            ReplyTtl = Seconds(merged, "ReplyTtl", defaults.ReplyTtl, problems),
            DispatchTimeout = Seconds(merged, "DispatchTimeout", defaults.DispatchTimeout, problems),
            RequestWorkers = Number(merged, "RequestWorkers", defaults.RequestWorkers, problems),
        };
        try
        {
            options.Validate();
        }
        catch (ArgumentException ex)
        {
            problems.Add(ex.Message);
        }

        if (!TitanicStoreLocation.TryParse(merged["Store"] ?? "sqlite:titanic.db", out var store, out string storeProblem))
        {
            problems.Add($"Store: {storeProblem}");
        }

        var level = LogLevel.Information;
        string? levelText = merged["LogLevel"];
        if (levelText is not null && (!Enum.TryParse(levelText, ignoreCase: true, out level) || !Enum.IsDefined(level) || int.TryParse(levelText, out _)))
        {
            problems.Add($"LogLevel: '{levelText}' is not one of {string.Join(", ", Enum.GetNames<LogLevel>())}");
        }

        string format = merged["LogFormat"] ?? "simple";
        if (format is not ("simple" or "json"))
        {
            problems.Add($"LogFormat: '{format}' is not simple or json");
        }

        return problems.Count == 0 ? new TitanicSettings(options, store!, level, format == "json") : null;
    }

    private static int Number(IConfiguration configuration, string key, int fallback, List<string> problems)
    {
        string? text = configuration[key];
        if (text is null)
        {
            return fallback;
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value))
        {
            problems.Add($"{key}: '{text}' is not a whole number");
        }

        return value;
    }

    private static TimeSpan Seconds(IConfiguration configuration, string key, TimeSpan fallback, List<string> problems)
    {
        string? text = configuration[key];
        if (text is null)
        {
            return fallback;
        }

        if (!double.TryParse(text, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out double seconds) || seconds > TimeSpan.MaxValue.TotalSeconds)
        {
            problems.Add($"{key}: '{text}' is not a number of seconds");
            return fallback;
        }

        return TimeSpan.FromSeconds(seconds);
    }
}
