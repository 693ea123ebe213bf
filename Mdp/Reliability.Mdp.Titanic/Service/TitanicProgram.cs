using System.Data.Common;
using Microsoft.Extensions.Logging;
using Reliability.Mdp.Titanic.Store;

namespace Reliability.Mdp.Titanic.Service;

/// <summary>The <c>titanic</c> program, callable in-process so that tests can run it with their own streams and token.</summary>
internal static class TitanicProgram
{
    public const int ExitOk = 0;

    public const int ExitCannotOpenStore = 1;

    public const int ExitUsage = 2;

    private static readonly string[] UsageHeader =
    [
        "usage: titanic --endpoint BROKER [--store sqlite:PATH | postgres:CONNSTR] [--max-requests N] [--reply-ttl S] [options]",
        "Runs the Titanic service (durable Majordomo requests: titanic.request, titanic.reply, titanic.close).",
        "Settings come from, in increasing priority: defaults, the --config JSON file, TITANIC_* environment",
        "variables (e.g. TITANIC_MAXREQUESTS=1000), and these options:",
    ];

    /// <summary>The usage text.</summary>
    public static string Usage =>
        string.Join(
            Environment.NewLine,
            UsageHeader
            .Concat(TitanicSettings.Keys.Select(k => $"  --{k.Option} {k.Value}".PadRight(30) + k.Help))
            .Append("  --config PATH".PadRight(30) + "JSON configuration file (same keys: " + string.Join(", ", TitanicSettings.Keys.Select(k => k.Key)) + ")")
            .Append("  --help".PadRight(30) + "show this text")
            .Append("Exit codes: 0 stopped by SIGINT/SIGTERM, 1 cannot open the store, 2 bad options."));

    /// <summary>Parses the settings, opens the store, and serves until <paramref name="shutdown"/> is cancelled. Returns the exit code.</summary>
    public static async Task<int> RunAsync(
        IReadOnlyList<string> args,
        IEnumerable<KeyValuePair<string, string?>> environment,
        TextWriter output,
        TextWriter error,
        CancellationToken shutdown)
    {
        var problems = new List<string>();
        var commandLine = new List<KeyValuePair<string, string?>>();
        string? configPath = null;
        bool help = false;
        for (int i = 0; i < args.Count; i++)
        {
            if (args[i] is "--help" or "-h")
            {
                help = true;
                continue;
            }

            string name = args[i].StartsWith("--", StringComparison.Ordinal) ? args[i][2..] : string.Empty;
            var known = TitanicSettings.Keys.FirstOrDefault(k => k.Option == name);
            if (name != "config" && known.Option is null)
            {
                problems.Add($"unknown argument '{args[i]}'");
                continue;
            }

            if (i + 1 >= args.Count)
            {
                problems.Add($"option '{args[i]}' needs a value");
                continue;
            }

            string value = args[++i];
            if (name == "config")
            {
                configPath = value;
            }
            else
            {
                commandLine.Add(new(known.Key, value));
            }
        }

        if (help && problems.Count == 0)
        {
            await output.WriteLineAsync(Usage);
            return ExitOk;
        }

        var settings = TitanicSettings.Load(configPath, environment, commandLine, problems);
        if (settings is null)
        {
            foreach (string problem in problems)
            {
                await error.WriteLineAsync($"titanic: {problem}");
            }

            await error.WriteLineAsync("titanic: run 'titanic --help' for the options");
            return ExitUsage;
        }

        using var loggerFactory = LoggerFactory.Create(builder =>
        {
            builder.SetMinimumLevel(settings.LogLevel);
            if (settings.JsonLog)
            {
                builder.AddJsonConsole(o => o.UseUtcTimestamp = true);
            }
            else
            {
                builder.AddSimpleConsole(o =>
                {
                    o.SingleLine = true;
                    o.UseUtcTimestamp = true;
                });
            }
        });

        var store = await TryOpenStoreAsync(settings.Store, settings.Options.MaxRequests, "titanic", error, shutdown);
        if (store is null)
        {
            return shutdown.IsCancellationRequested ? ExitOk : ExitCannotOpenStore;
        }

        await ServeAsync(settings.Options, store, loggerFactory, shutdown);
        return ExitOk;
    }

    /// <summary>
    /// Opens the store at <paramref name="location"/>; null when it cannot be opened (said on <paramref name="error"/>,
    /// prefixed with <paramref name="program"/>) or when <paramref name="shutdown"/> came first.
    /// </summary>
    public static async Task<ITitanicStore?> TryOpenStoreAsync(TitanicStoreLocation location, int maxRequests, string program, TextWriter error, CancellationToken shutdown)
    {
        try
        {
            return await location.OpenAsync(maxRequests, shutdown);
        }
        catch (Exception ex) when (ex is DbException or InvalidOperationException or IOException or UnauthorizedAccessException or TimeoutException)
        {
            await error.WriteLineAsync($"{program}: cannot open store '{location}': {ex.Message}");
            return null;
        }
        catch (OperationCanceledException) when (shutdown.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>
    /// Serves Titanic over <paramref name="store"/> until <paramref name="shutdown"/>, then disposes the store (which
    /// commits what is queued). The titanic program and <c>mdbroker --titanic</c> both run this.
    /// </summary>
    public static async Task ServeAsync(TitanicOptions options, ITitanicStore store, ILoggerFactory loggerFactory, CancellationToken shutdown)
    {
        await using (store)
        {
            var service = new TitanicService(options, store, loggerFactory);
            using (service.Metrics)
            {
                await service.RunAsync(shutdown);
            }
        }
    }
}
