using System.Globalization;
using Microsoft.Extensions.Logging;
using Reliability.Patterns.Heartbeating;
using Reliability.Patterns.ParanoidPirate;

namespace Reliability.Examples;

/// <summary>
/// ppworker: a Paranoid Pirate echo worker (<see cref="ParanoidPirateWorker"/>). Options:
/// <c>--endpoint E</c> (queue backend, default tcp://127.0.0.1:5556), <c>--heartbeat MS</c> (default
/// 1000) and <c>--liveness N</c> (default 3; use the queue's values), <c>--crash-after K</c> (after
/// answering K requests, exit with code 1 on the next one without answering it, as a crashed worker
/// would; default never), <c>--slow-ms M</c> (delay every reply by M ms; heartbeats continue
/// meanwhile). Reconnects with back-off (1 s doubling to 32 s) when the queue falls silent. Runs
/// until Ctrl-C or SIGTERM.
/// </summary>
internal static partial class ParanoidPirateWorkerExample
{
    public static async Task<int> RunAsync(ExampleArguments arguments, CancellationToken cancellationToken)
    {
        string endpoint = arguments.String("endpoint", "tcp://127.0.0.1:5556");
        var heartbeat = new HeartbeatOptions
        {
            Interval = TimeSpan.FromMilliseconds(arguments.Int("heartbeat", 1000, 1, 600_000)),
            Liveness = arguments.Int("liveness", 3, 1, HeartbeatOptions.MaxLiveness),
        };
        int crashAfter = arguments.Int("crash-after", -1, 0);
        int slowMs = arguments.Int("slow-ms", 0, 0, 3_600_000);
        arguments.EnsureAllUsed();

        using var loggerFactory = arguments.CreateLoggerFactory();
        var logger = loggerFactory.CreateLogger("ppworker");
        long answered = 0;
        var worker = new ParanoidPirateWorker(
            async (body, token) =>
            {
                if (crashAfter >= 0 && Interlocked.Read(ref answered) >= crashAfter)
                {
                    // Written directly: the console logger is asynchronous and would lose the line on exit.
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"ppworker: simulating a crash after {answered} replies (request {body} not answered)"));
                    Environment.Exit(1);
                }

                if (slowMs > 0)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(slowMs), TimeProvider.System, token);
                }

                Interlocked.Increment(ref answered);
                return body;
            },
            new ParanoidPirateWorkerOptions { Endpoint = endpoint, Heartbeat = heartbeat },
            loggerFactory);
        Started(logger, endpoint, heartbeat.Interval.TotalMilliseconds, heartbeat.Liveness, crashAfter, slowMs);
        await worker.RunAsync(cancellationToken);
        return 0;
    }

    [LoggerMessage(EventId = 2188, Level = LogLevel.Information, Message = "ppworker: echoing for {Endpoint} (heartbeat {Heartbeat} ms x {Liveness}; crash after {CrashAfter} replies, -1 = never; reply delay {SlowMs} ms)")]
    private static partial void Started(ILogger logger, string endpoint, double heartbeat, int liveness, int crashAfter, int slowMs);
}
