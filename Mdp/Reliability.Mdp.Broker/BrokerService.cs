using System.Net;
using Microsoft.Extensions.Logging;
using Reliability.Mdp.Broker;
using Reliability.Mdp.Titanic.Service;
using Reliability.Mdp.Titanic.Store;
using Reliability.Patterns.BinaryStar;
using Reliability.Transport;

namespace Reliability.Mdp.Broker.Service;

/// <summary>The <c>mdbroker</c> program, callable in-process so that tests can run it with their own streams and token.</summary>
internal static class BrokerService
{
    public const int ExitOk = 0;

    public const int ExitCannotListen = 1;

    public const int ExitUsage = 2;

    /// <summary>One of a Binary Star pair found its peer in its own state (both active or both passive) and stopped, as bstarsrv does.</summary>
    public const int ExitSplitBrain = 3;

    /// <summary><c>--titanic</c> names a store that cannot be opened.</summary>
    public const int ExitCannotOpenTitanicStore = 4;

    /// <summary>
    /// Parses and validates the settings, binds, and runs the broker until <paramref name="shutdown"/> is
    /// cancelled (SIGINT/SIGTERM in the real program). Returns the exit code.
    /// </summary>
    public static async Task<int> RunAsync(
        IReadOnlyList<string> args,
        IEnumerable<KeyValuePair<string, string?>> environment,
        TextWriter output,
        TextWriter error,
        CancellationToken shutdown)
    {
        var problems = new List<string>();
        var commandLine = ServiceCommandLine.Parse(args, problems);
        if (commandLine.Help && problems.Count == 0)
        {
            await output.WriteLineAsync(ServiceCommandLine.Usage);
            return ExitOk;
        }

        if (commandLine.Version && problems.Count == 0)
        {
            await output.WriteLineAsync(ServiceCommandLine.VersionLine);
            return ExitOk;
        }

        // Settings are checked even after a command-line mistake, so that every problem is reported at once.
        var settings = ServiceSettings.Load(commandLine, environment, problems);
        if (settings is null || problems.Count > 0)
        {
            foreach (var problem in problems)
            {
                await error.WriteLineAsync($"mdbroker: {problem}");
            }

            await error.WriteLineAsync("mdbroker: run 'mdbroker --help' for the options");
            return ExitUsage;
        }

        using var loggerFactory = CreateLoggerFactory(settings);
        var logger = loggerFactory.CreateLogger("mdbroker");

        // In-process Titanic reaches the broker over inproc: no port, no wildcard address to resolve, no TCP cost.
        var titanicOptions = new TitanicOptions { BrokerEndpoint = $"inproc://mdbroker-titanic-{Guid.NewGuid():N}" };
        ITitanicStore? titanicStore = null;
        if (settings.Titanic is { } location)
        {
            titanicStore = await TitanicProgram.TryOpenStoreAsync(location, titanicOptions.MaxRequests, "mdbroker", error, shutdown);
            if (titanicStore is null)
            {
                return shutdown.IsCancellationRequested ? ExitOk : ExitCannotOpenTitanicStore;
            }
        }

        var brokerOptions = titanicStore is null ? settings.Broker : settings.Broker with { Endpoints = [.. settings.Broker.Endpoints, titanicOptions.BrokerEndpoint] };
        await using var operators = settings.MetricsListen is { } prefix ? new OperatorEndpoints(prefix, settings.ReadyServices, loggerFactory) : null;
        await using var broker = new MajordomoBroker(brokerOptions with { MeterFactory = operators?.MeterFactory }, loggerFactory);
        try
        {
            broker.Bind();
        }
        catch (EndpointException ex)
        {
            ServiceLog.CannotListen(logger, ex.Endpoint, ex.Message);
            await error.WriteLineAsync($"mdbroker: cannot listen on {ex.Endpoint}: {ex.Message}");
            if (titanicStore is not null)
            {
                await titanicStore.DisposeAsync();
            }

            return ExitCannotListen;
        }

        try
        {
            operators?.Start(broker);
        }
        catch (HttpListenerException ex)
        {
            ServiceLog.CannotListen(logger, settings.MetricsListen!, ex.Message);
            await error.WriteLineAsync($"mdbroker: cannot listen on {settings.MetricsListen}: {ex.Message}");
            if (titanicStore is not null)
            {
                await titanicStore.DisposeAsync();
            }

            return ExitCannotListen;
        }

        try
        {
            var brokerRun = broker.RunAsync(shutdown);
            if (titanicStore is not null)
            {
                ServiceLog.TitanicStarted(logger, settings.Titanic!);
                await TitanicProgram.ServeAsync(titanicOptions, titanicStore, loggerFactory, shutdown);
            }

            await brokerRun;
        }
        catch (SplitBrainException ex)
        {
            ServiceLog.SplitBrain(logger, ex.Message);
            await error.WriteLineAsync($"mdbroker: {ex.Message}");
            return ExitSplitBrain;
        }

        return ExitOk;
    }

    private static ILoggerFactory CreateLoggerFactory(ServiceSettings settings) => LoggerFactory.Create(builder =>
    {
        builder.SetMinimumLevel(settings.LogLevel);
        if (settings.LogFormat == LogFormat.Json)
        {
            builder.AddJsonConsole(o =>
            {
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ";
            });
        }
        else
        {
            builder.AddSimpleConsole(o =>
            {
                o.SingleLine = true;
                o.UseUtcTimestamp = true;
                o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            });
        }
    });
}

/// <summary>Service log messages (event ids 3190-3199, inside the broker's range).</summary>
internal static partial class ServiceLog
{
    [LoggerMessage(EventId = 3190, Level = LogLevel.Critical, Message = "Cannot listen on {Endpoint}: {Reason}")]
    public static partial void CannotListen(ILogger logger, string endpoint, string reason);

    [LoggerMessage(EventId = 3191, Level = LogLevel.Critical, Message = "Stopping: {Reason}")]
    public static partial void SplitBrain(ILogger logger, string reason);

    [LoggerMessage(EventId = 3198, Level = LogLevel.Information, Message = "Running Titanic in this process, store {Store}")]
    public static partial void TitanicStarted(ILogger logger, TitanicStoreLocation store);
}
