using Microsoft.Extensions.Logging;
using Reliability.Patterns.Heartbeating;
using Reliability.Patterns.ParanoidPirate;

namespace Reliability.Examples;

/// <summary>
/// ppqueue: a Paranoid Pirate queue (<see cref="ParanoidPirateQueue"/>). Options: <c>--frontend E</c>
/// (clients, default tcp://127.0.0.1:5555), <c>--backend E</c> (workers, default tcp://127.0.0.1:5556),
/// <c>--heartbeat MS</c> (default 1000) and <c>--liveness N</c> (default 3): a worker silent for
/// MS × N is dropped; workers must use the same values. Runs until Ctrl-C or SIGTERM.
/// </summary>
internal static partial class ParanoidPirateQueueExample
{
    public static async Task<int> RunAsync(ExampleArguments arguments, CancellationToken cancellationToken)
    {
        var options = new ParanoidPirateQueueOptions
        {
            FrontendEndpoint = arguments.String("frontend", "tcp://127.0.0.1:5555"),
            BackendEndpoint = arguments.String("backend", "tcp://127.0.0.1:5556"),
            Heartbeat = new HeartbeatOptions
            {
                Interval = TimeSpan.FromMilliseconds(arguments.Int("heartbeat", 1000, 1, 600_000)),
                Liveness = arguments.Int("liveness", 3, 1, HeartbeatOptions.MaxLiveness),
            },
        };
        arguments.EnsureAllUsed();

        using var loggerFactory = arguments.CreateLoggerFactory();
        var logger = loggerFactory.CreateLogger("ppqueue");
        await using var queue = new ParanoidPirateQueue(options, loggerFactory);
        return await ServeExample.BindThenRunAsync(queue.Bind, () => queue.RunAsync(cancellationToken), ex => BindFailed(logger, ex.Message));
    }

    [LoggerMessage(EventId = 2187, Level = LogLevel.Error, Message = "ppqueue: cannot bind: {Reason}")]
    private static partial void BindFailed(ILogger logger, string reason);
}
