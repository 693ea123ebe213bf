using Microsoft.Extensions.Logging;
using Reliability.Transport;

namespace Reliability.Examples;

/// <summary>
/// lpserver: a REP echo server for the Lazy Pirate client, with the zguide's failure simulations
/// made deterministic. Options: <c>--bind E</c> (default tcp://127.0.0.1:5555),
/// <c>--crash-after K</c> (after answering K requests, exit with code 1 on the next one without
/// answering it; default never), <c>--slow-ms M</c> (delay every reply by M ms, simulated overload),
/// <c>--curve-secret-key Z85</c> (serve CURVE with this secret key, docs/security.md).
/// </summary>
internal static partial class LazyPirateServerExample
{
    public static async Task<int> RunAsync(ExampleArguments arguments, CancellationToken cancellationToken)
    {
        string bind = arguments.String("bind", "tcp://127.0.0.1:5555");
        int crashAfter = arguments.Int("crash-after", -1, 0);
        int slowMs = arguments.Int("slow-ms", 0, 0, 3_600_000);
        var socketOptions = CurveExampleOptions.Server(arguments, new SocketOptions { Linger = TimeSpan.Zero });
        arguments.EnsureAllUsed();

        using var loggerFactory = arguments.CreateLoggerFactory();
        var logger = loggerFactory.CreateLogger("lpserver");
        await using var server = new ReplySocket(socketOptions, loggerFactory);
        string endpoint;
        try
        {
            endpoint = server.Bind(bind);
        }
        catch (EndpointException ex)
        {
            BindFailed(logger, bind, ex.Message);
            return 1;
        }

        Started(logger, endpoint, crashAfter, slowMs);

        long answered = 0;
        try
        {
            while (true)
            {
                var request = await server.ReceiveAsync(cancellationToken);
                if (crashAfter >= 0 && answered >= crashAfter)
                {
                    // Written directly: the console logger is asynchronous and would lose the line on exit.
                    Console.Error.WriteLine($"lpserver: simulating a crash after {answered} replies (request {request} not answered)");
                    Environment.Exit(1);
                }

                if (slowMs > 0)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(slowMs), TimeProvider.System, cancellationToken);
                }

                NormalRequest(logger, request);
                await server.SendAsync(request, cancellationToken);
                answered++;
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Stopping(logger, answered);
        }

        return 0;
    }

    [LoggerMessage(EventId = 2045, Level = LogLevel.Information, Message = "lpserver: echoing on {Endpoint} (crash after {CrashAfter} replies, -1 = never; reply delay {SlowMs} ms)")]
    private static partial void Started(ILogger logger, string endpoint, int crashAfter, int slowMs);

    [LoggerMessage(EventId = 2046, Level = LogLevel.Debug, Message = "normal request {Request}")]
    private static partial void NormalRequest(ILogger logger, Message request);

    [LoggerMessage(EventId = 2047, Level = LogLevel.Information, Message = "lpserver: stopping after {Answered} replies")]
    private static partial void Stopping(ILogger logger, long answered);

    [LoggerMessage(EventId = 2048, Level = LogLevel.Error, Message = "lpserver: cannot bind {Endpoint}: {Reason}")]
    private static partial void BindFailed(ILogger logger, string endpoint, string reason);
}
