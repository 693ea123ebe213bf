using System.Globalization;
using Microsoft.Extensions.Logging;
using Reliability.Mdp.Protocol;
using Reliability.Mdp.Worker;
using Reliability.Transport;

namespace Reliability.Examples;

/// <summary>
/// mdworker: a Majordomo echo worker (<see cref="MajordomoWorker"/>). Options: <c>--endpoint E</c> (broker,
/// default tcp://127.0.0.1:5555; repeated, the worker registers with every broker, e.g. both of a Binary Star
/// pair), <c>--service NAME</c> (default echo), <c>--heartbeat MS</c> (default 2500;
/// use the broker's value), <c>--crash-after K</c> (after answering K requests, exit with code 1 on the next
/// one without answering it or sending DISCONNECT, as a crashed worker would; default never),
/// <c>--slow-ms M</c> (delay every reply by M ms), <c>--mdp 0.1|0.2</c> (default 0.1),
/// <c>--curve-server-key Z85</c> (the broker's public key: connect with CURVE) and <c>--curve-secret-key Z85</c>
/// (the worker's own key, which a broker with <c>--authorized-worker</c> checks; ephemeral without it).
/// Ctrl-C or SIGTERM sends DISCONNECT and exits.
/// </summary>
internal static partial class MajordomoWorkerExample
{
    public static async Task<int> RunAsync(ExampleArguments arguments, CancellationToken cancellationToken)
    {
        var brokers = MajordomoExampleOptions.Brokers(arguments);
        string endpoint = string.Join(",", brokers);
        string service = arguments.String("service", "echo");
        int heartbeatMs = arguments.Int("heartbeat", 2500, 1, 600_000);
        int crashAfter = arguments.Int("crash-after", -1, 0);
        int slowMs = arguments.Int("slow-ms", 0, 0, 3_600_000);
        var version = MajordomoExampleOptions.Version(arguments);
        var socket = CurveExampleOptions.Client(arguments, new WorkerOptions().Socket);
        arguments.EnsureAllUsed();
        string versionName = version.Number();

        var options = new WorkerOptions
        {
            BrokerEndpoint = brokers.Count == 1 ? brokers[0] : string.Empty,
            BrokerEndpoints = brokers.Count == 1 ? [] : brokers,
            Service = service,
            Version = version,
            Heartbeat = TimeSpan.FromMilliseconds(heartbeatMs),

            // As the zguide's mdwrkapi: reconnect after one heartbeat interval, so a fast-heartbeat
            // deployment also comes back fast after a broker restart (the chaos suite measured a
            // fixed 2.5 s wait dominating recovery).
            ReconnectDelay = TimeSpan.FromMilliseconds(heartbeatMs),
            ReconnectDelayMax = TimeSpan.FromMilliseconds(Math.Max(heartbeatMs, 10_000)),
            Socket = socket,
        };
        MajordomoExampleOptions.Validate(options.Validate);

        using var loggerFactory = arguments.CreateLoggerFactory();
        var logger = loggerFactory.CreateLogger("mdworker");
        var worker = new MajordomoWorker(options, loggerFactory);
        Started(logger, service, endpoint, versionName, heartbeatMs, crashAfter, slowMs);

        long answered = 0;
        await worker.RunAsync(
            async (request, token) =>
            {
                if (crashAfter >= 0 && answered >= crashAfter)
                {
                    // Written directly: the console logger is asynchronous and would lose the line on exit.
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"mdworker: simulating a crash after {answered} replies ({request} not answered)"));
                    Environment.Exit(1);
                }

                if (slowMs > 0)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(slowMs), TimeProvider.System, token);
                }

                answered++;
                return request.Body;
            },
            cancellationToken);

        Stopped(logger, answered, worker.Statistics.Reconnects);
        return 0;
    }

    [LoggerMessage(EventId = 3390, Level = LogLevel.Information, Message = "mdworker: echo worker for '{Service}' at {Endpoint} (MDP/{Version}, heartbeat {Heartbeat} ms, crash after {CrashAfter} replies (-1 = never), reply delay {SlowMs} ms)")]
    private static partial void Started(ILogger logger, string service, string endpoint, string version, int heartbeat, int crashAfter, int slowMs);

    [LoggerMessage(EventId = 3391, Level = LogLevel.Information, Message = "mdworker: stopped after {Answered} replies and {Reconnects} reconnects")]
    private static partial void Stopped(ILogger logger, long answered, long reconnects);
}
