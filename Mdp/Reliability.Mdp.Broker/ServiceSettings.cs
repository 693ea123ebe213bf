using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Reliability.Mdp.Broker;
using Reliability.Mdp.Titanic.Store;

namespace Reliability.Mdp.Broker.Service;

/// <summary>How the service writes its log.</summary>
internal enum LogFormat
{
    /// <summary>One line per event: time, level, category, message.</summary>
    Simple,

    /// <summary>One JSON object per event, with the structured fields (for log shippers).</summary>
    Json,
}

/// <summary>
/// Everything the service runs with: the broker options plus its own logging settings, merged from the
/// configuration layers in increasing priority (JSON file, environment, command line) and validated together.
/// <see cref="Titanic"/>, when set, is the store of a Titanic service run in the same process.
/// </summary>
internal sealed record ServiceSettings(BrokerOptions Broker, LogLevel LogLevel, LogFormat LogFormat, TitanicStoreLocation? Titanic = null)
{
    /// <summary>Environment variables with this prefix are settings (<c>MDBROKER_HEARTBEATMS=1000</c>).</summary>
    public const string EnvironmentPrefix = "MDBROKER_";

    public const string LogLevelKey = "LogLevel";

    public const string LogFormatKey = "LogFormat";

    public const string TitanicKey = "Titanic";

    public const string MetricsListenKey = "MetricsListen";

    public const string ReadyServicesKey = "ReadyServices";

    /// <summary>The HTTP prefix of the operator endpoints (<see cref="OperatorEndpoints"/>); none when null.</summary>
    public string? MetricsListen { get; init; }

    /// <summary>Services that need at least one worker for <c>/readyz</c> to report ready.</summary>
    public IReadOnlyList<string> ReadyServices { get; init; } = [];

    /// <summary>
    /// Merges the layers and validates the result. <paramref name="environment"/> is the environment as
    /// key/value pairs with the prefix already removed (see <see cref="ReadEnvironment"/>).
    /// </summary>
    public static ServiceSettings? Load(ServiceCommandLine commandLine, IEnumerable<KeyValuePair<string, string?>> environment, List<string> problems)
    {
        var layers = new List<IEnumerable<KeyValuePair<string, string?>>>();
        if (commandLine.ConfigPath is { } path)
        {
            var file = ReadJson(path, problems);
            if (file is null)
            {
                return null;
            }

            layers.Add(file);
        }

        layers.Add(environment);
        layers.Add(commandLine.Settings);

        var merged = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var layer in layers)
        {
            var entries = layer.ToList();

            // A layer that names endpoints replaces the lower layers' endpoints instead of merging index by index.
            if (entries.Any(e => IsBind(e.Key) && !string.IsNullOrWhiteSpace(e.Value)))
            {
                foreach (var key in merged.Keys.Where(IsBind).ToList())
                {
                    merged.Remove(key);
                }
            }

            foreach (var (key, value) in entries)
            {
                if (value is not null || !merged.ContainsKey(key))
                {
                    merged[key] = value;
                }
            }
        }

        var logLevel = LogLevel.Information;
        if (merged.Remove(LogLevelKey, out var levelText) && !string.IsNullOrWhiteSpace(levelText)
            && (!Enum.TryParse(levelText.Trim(), ignoreCase: true, out logLevel) || !Enum.IsDefined(logLevel) || int.TryParse(levelText, out _)))
        {
            problems.Add($"LogLevel: '{levelText}' is not one of {string.Join(", ", Enum.GetNames<LogLevel>())}");
        }

        var logFormat = LogFormat.Simple;
        if (merged.Remove(LogFormatKey, out var formatText) && !string.IsNullOrWhiteSpace(formatText)
            && (!Enum.TryParse(formatText.Trim(), ignoreCase: true, out logFormat) || !Enum.IsDefined(logFormat) || int.TryParse(formatText, out _)))
        {
            problems.Add($"LogFormat: '{formatText}' is not simple or json");
        }

        string? metricsListen = ReadMetricsListen(merged, problems);
        merged.Remove(ReadyServicesKey, out var readyText);
        string[] readyServices = readyText?.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries) ?? [];
        if (readyServices.Length > 0 && metricsListen is null)
        {
            problems.Add("ReadyServices: needs MetricsListen (--metrics-listen), where /readyz is served");
        }

        // The same parser as the titanic program's --store, so the two cannot disagree on what a store is.
        TitanicStoreLocation? titanic = null;
        if (merged.Remove(TitanicKey, out var titanicText) && !string.IsNullOrWhiteSpace(titanicText)
            && !TitanicStoreLocation.TryParse(titanicText.Trim(), out titanic, out string titanicProblem))
        {
            problems.Add($"{TitanicKey}: {titanicProblem}");
        }

        BrokerSettings.TryCreateOptions(merged, null, out var options, out var brokerProblems);
        problems.AddRange(brokerProblems);
        if (titanic is not null && options.BinaryStar is not null)
        {
            // Each broker of a pair would hold its own store, and the backup's Titanic would never see the primary's requests.
            problems.Add($"{TitanicKey} cannot be combined with HaRole: run the titanic program against both brokers of the pair");
        }

        return problems.Count == 0 ? new ServiceSettings(options, logLevel, logFormat, titanic) { MetricsListen = metricsListen, ReadyServices = readyServices } : null;
    }

    /// <summary>The <c>MDBROKER_*</c> environment variables through Microsoft.Extensions.Configuration (<c>__</c> nests, e.g. <c>MDBROKER_BIND__0</c>).</summary>
    public static IEnumerable<KeyValuePair<string, string?>> ReadEnvironment() =>
        new ConfigurationBuilder().AddEnvironmentVariables(EnvironmentPrefix).Build().AsEnumerable();

    private static List<KeyValuePair<string, string?>>? ReadJson(string path, List<string> problems)
    {
        string fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath))
        {
            problems.Add($"configuration file '{path}' does not exist");
            return null;
        }

        try
        {
            return new ConfigurationBuilder().AddJsonFile(fullPath, optional: false, reloadOnChange: false).Build().AsEnumerable().ToList();
        }
        catch (Exception ex) when (ex is FormatException or InvalidDataException or IOException or System.Text.Json.JsonException)
        {
            // The configuration reader wraps the JSON error and drops its position; users need the line to fix the file.
            string where = FindJsonError(ex) is { LineNumber: { } line } json
                ? $" (line {line + 1}, position {(json.BytePositionInLine ?? 0) + 1}: {json.Message})"
                : string.Empty;
            problems.Add($"configuration file '{path}' cannot be read: {ex.Message}{where}");
            return null;
        }
    }

    private static System.Text.Json.JsonException? FindJsonError(Exception? ex)
    {
        // Bounded by the depth of the exception chain.
        for (; ex is not null; ex = ex.InnerException)
        {
            if (ex is System.Text.Json.JsonException json)
            {
                return json;
            }
        }

        return null;
    }

    /// <summary>An absolute http:// URL, given the trailing slash that an HTTP listener prefix needs.</summary>
    private static string? ReadMetricsListen(Dictionary<string, string?> merged, List<string> problems)
    {
        if (!merged.Remove(MetricsListenKey, out var text) || string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        string prefix = text.Trim().EndsWith('/') ? text.Trim() : text.Trim() + "/";
        // An HTTP listener takes * or + for "every address", which Uri does not parse as a host.
        string checkable = prefix.Replace("://*:", "://any:", StringComparison.Ordinal).Replace("://+:", "://any:", StringComparison.Ordinal);
        if (!Uri.TryCreate(checkable, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp || uri.AbsolutePath != "/")
        {
            problems.Add($"MetricsListen: '{text}' is not of the form http://host:port/, e.g. http://127.0.0.1:9464/");
            return null;
        }

        return prefix;
    }

    private static bool IsBind(string key) =>
        key.Equals(BrokerSettings.Bind, StringComparison.OrdinalIgnoreCase)
        || key.StartsWith(BrokerSettings.Bind + ":", StringComparison.OrdinalIgnoreCase);
}
