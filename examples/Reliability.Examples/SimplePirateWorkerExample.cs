using System.Globalization;
using Microsoft.Extensions.Logging;
using Reliability.Patterns.SimplePirate;

namespace Reliability.Examples;

/// <summary>
/// spworker: a Simple Pirate echo worker (<see cref="SimplePirateWorker"/>). Options:
/// <c>--endpoint E</c> (queue backend, default tcp://127.0.0.1:5556), <c>--crash-after K</c> (after
/// answering K requests, exit with code 1 on the next one without answering it, as a crashed worker
/// would; default never), <c>--slow-ms M</c> (delay every reply by M ms). Runs until Ctrl-C or SIGTERM.
/// </summary>
internal static partial class SimplePirateWorkerExample
{
    public static async Task<int> RunAsync(ExampleArguments arguments, CancellationToken cancellationToken)
    {
        string endpoint = arguments.String("endpoint", "tcp://127.0.0.1:5556");
        int crashAfter = arguments.Int("crash-after", -1, 0);
        int slowMs = arguments.Int("slow-ms", 0, 0, 3_600_000);
        arguments.EnsureAllUsed();

        using var loggerFactory = arguments.CreateLoggerFactory();
        var logger = loggerFactory.CreateLogger("spworker");
        long answered = 0;
        var worker = new SimplePirateWorker(
            async (body, token) =>
            {
                if (crashAfter >= 0 && Interlocked.Read(ref answered) >= crashAfter)
                {
                    // Written directly: the console logger is asynchronous and would lose the line on exit.
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"spworker: simulating a crash after {answered} replies (request {body} not answered)"));
                    Environment.Exit(1);
                }

                if (slowMs > 0)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(slowMs), TimeProvider.System, token);
                }

                Interlocked.Increment(ref answered);
                return body;
            },
            new SimplePirateWorkerOptions { Endpoint = endpoint },
            loggerFactory);
        Started(logger, endpoint, crashAfter, slowMs);
        await worker.RunAsync(cancellationToken);
        return 0;
    }

    [LoggerMessage(EventId = 2186, Level = LogLevel.Information, Message = "spworker: echoing for {Endpoint} (crash after {CrashAfter} replies, -1 = never; reply delay {SlowMs} ms)")]
    private static partial void Started(ILogger logger, string endpoint, int crashAfter, int slowMs);
}
