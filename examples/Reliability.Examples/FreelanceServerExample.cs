using Microsoft.Extensions.Logging;
using Reliability.Patterns.Freelance;
using Reliability.Transport;

namespace Reliability.Examples;

/// <summary>
/// flserver: a Freelance (model 3) echo server whose identity is its endpoint. Options: <c>--bind E</c>
/// (default tcp://127.0.0.1:5555; a concrete port, as it is also the identity), <c>--crash-after K</c>
/// (after answering K requests, exit with code 1 on the next one without answering it; default never).
/// </summary>
internal static partial class FreelanceServerExample
{
    public static async Task<int> RunAsync(ExampleArguments arguments, CancellationToken cancellationToken)
    {
        string bind = arguments.String("bind", "tcp://127.0.0.1:5555");
        int crashAfter = arguments.Int("crash-after", -1, 0);
        arguments.EnsureAllUsed();

        using var loggerFactory = arguments.CreateLoggerFactory();
        var logger = loggerFactory.CreateLogger("flserver");
        long answered = 0;
        ValueTask<Message> Echo(Message request, CancellationToken token)
        {
            if (crashAfter >= 0 && Interlocked.Read(ref answered) >= crashAfter)
            {
                // Written directly: the console logger is asynchronous and would lose the line on exit.
                Console.Error.WriteLine($"flserver: simulating a crash after {answered} replies (request {request} not answered)");
                Environment.Exit(1);
            }

            Interlocked.Increment(ref answered);
            return ValueTask.FromResult(request);
        }

        FreelanceServer server;
        try
        {
            server = new FreelanceServer(bind, Echo, loggerFactory);
        }
        catch (Exception ex) when (ex is EndpointException or ArgumentException)
        {
            BindFailed(logger, bind, ex.Message);
            return 1;
        }

        await using (server)
        {
            Started(logger, bind, crashAfter);
            await server.RunAsync(cancellationToken);
        }

        Stopped(logger, answered);
        return 0;
    }

    [LoggerMessage(EventId = 2300, Level = LogLevel.Information, Message = "flserver: serving on {Endpoint} (crash after {CrashAfter}, -1 = never)")]
    private static partial void Started(ILogger logger, string endpoint, int crashAfter);

    [LoggerMessage(EventId = 2301, Level = LogLevel.Error, Message = "flserver: cannot bind {Endpoint}: {Reason}")]
    private static partial void BindFailed(ILogger logger, string endpoint, string reason);

    [LoggerMessage(EventId = 2302, Level = LogLevel.Information, Message = "flserver: stopped after {Answered} replies")]
    private static partial void Stopped(ILogger logger, long answered);
}
