using Microsoft.Extensions.Logging;
using Reliability.Patterns.SimplePirate;

namespace Reliability.Examples;

/// <summary>
/// spqueue: a Simple Pirate queue (<see cref="SimplePirateQueue"/>). Options: <c>--frontend E</c>
/// (clients, default tcp://127.0.0.1:5555), <c>--backend E</c> (workers, default tcp://127.0.0.1:5556).
/// Runs until Ctrl-C or SIGTERM.
/// </summary>
internal static partial class SimplePirateQueueExample
{
    public static async Task<int> RunAsync(ExampleArguments arguments, CancellationToken cancellationToken)
    {
        var options = new SimplePirateQueueOptions
        {
            FrontendEndpoint = arguments.String("frontend", "tcp://127.0.0.1:5555"),
            BackendEndpoint = arguments.String("backend", "tcp://127.0.0.1:5556"),
        };
        arguments.EnsureAllUsed();

        using var loggerFactory = arguments.CreateLoggerFactory();
        var logger = loggerFactory.CreateLogger("spqueue");
        await using var queue = new SimplePirateQueue(options, loggerFactory);
        return await ServeExample.BindThenRunAsync(queue.Bind, () => queue.RunAsync(cancellationToken), ex => BindFailed(logger, ex.Message));
    }

    [LoggerMessage(EventId = 2185, Level = LogLevel.Error, Message = "spqueue: cannot bind: {Reason}")]
    private static partial void BindFailed(ILogger logger, string reason);
}
