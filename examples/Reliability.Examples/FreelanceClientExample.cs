using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Reliability.Patterns.Freelance;
using Reliability.Patterns.LazyPirate;
using Reliability.Transport;

namespace Reliability.Examples;

/// <summary>
/// flclient: sends numbered echo requests to a group of Freelance servers and checks every reply.
/// Options: <c>--endpoint E</c> (repeated; default tcp://127.0.0.1:5555), <c>--requests N</c> (default 10),
/// <c>--timeout MS</c> (a request's whole deadline, default 3000), <c>--strategy router|sequential|shotgun</c>
/// (default router). Router and shotgun keep up to <see cref="Window"/> requests outstanding on a
/// <see cref="FreelanceClient"/>; sequential is model 1, one request at a time over a failing-over
/// <see cref="LazyPirateClient"/>. Ends with <c>flclient: N ok, F failed, R retries, X req/s</c>; exit
/// code 0 only if every request was answered with its own echo.
/// </summary>
internal static partial class FreelanceClientExample
{
    /// <summary>Requests outstanding at once with the router and shotgun strategies.</summary>
    private const int Window = 100;

    public static async Task<int> RunAsync(ExampleArguments arguments, CancellationToken cancellationToken)
    {
        var endpoints = arguments.Strings("endpoint") is { Count: > 0 } given ? given : ["tcp://127.0.0.1:5555"];
        int requests = arguments.Int("requests", 10, 1);
        int timeoutMs = arguments.Int("timeout", 3000, 1, 3_600_000);
        string strategy = arguments.String("strategy", "router");
        arguments.EnsureAllUsed();

        var timeout = TimeSpan.FromMilliseconds(timeoutMs);
        string servers = string.Join(',', endpoints);
        switch (strategy)
        {
            case "sequential":
                var sequential = new LazyPirateOptions { Endpoints = endpoints, Failover = true, RequestTimeout = timeout, Attempts = Math.Max(3, endpoints.Count) };
                return await LazyPirateClientExample.RunEchoAsync(arguments, "flclient", sequential, requests, logger => Starting(logger, requests, servers, strategy), cancellationToken);
            case "router" or "shotgun":
                var options = new FreelanceOptions
                {
                    Endpoints = endpoints,
                    Strategy = strategy == "router" ? FreelanceStrategy.Router : FreelanceStrategy.Shotgun,
                    RequestTimeout = timeout,
                    TryTimeout = timeout < new FreelanceOptions().TryTimeout ? timeout : new FreelanceOptions().TryTimeout,
                };
                return await RunWindowedAsync(arguments, options, requests, servers, strategy, cancellationToken);
            default:
                throw new ExampleUsageException($"--strategy must be router, sequential or shotgun (was '{strategy}')");
        }
    }

    private static async Task<int> RunWindowedAsync(ExampleArguments arguments, FreelanceOptions options, int requests, string servers, string strategy, CancellationToken cancellationToken)
    {
        try
        {
            options.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new ExampleUsageException(ex.Message);
        }

        var loggerFactory = arguments.CreateLoggerFactory();
        var logger = loggerFactory.CreateLogger("flclient");
        var client = new FreelanceClient(options, loggerFactory);
        Starting(logger, requests, servers, strategy);

        string run = SequentialEchoRun.RunId();
        long ok = 0;
        long failed = 0;
        var started = Stopwatch.GetTimestamp();
        using var window = new SemaphoreSlim(Window);
        var inFlight = new List<Task>(requests);
        try
        {
            for (int i = 1; i <= requests; i++)
            {
                await window.WaitAsync(cancellationToken);
                string body = $"{run}-{i}";
                inFlight.Add(ExchangeAsync(body));
            }

            await Task.WhenAll(inFlight);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Interrupted(logger);
        }

        var tally = new EchoTally(Interlocked.Read(ref ok), Interlocked.Read(ref failed), Stopwatch.GetElapsedTime(started));
        return await tally.FinishAsync("flclient", requests, client.Statistics.Retries, client, loggerFactory);

        async Task ExchangeAsync(string body)
        {
            try
            {
                var reply = await client.RequestAsync(Message.FromStrings(body), cancellationToken: cancellationToken);
                if (reply.Count == 1 && reply.GetString(0) == body)
                {
                    Interlocked.Increment(ref ok);
                }
                else
                {
                    Interlocked.Increment(ref failed);
                    WrongReply(logger, reply, body);
                }
            }
            catch (RequestFailedException ex)
            {
                Interlocked.Increment(ref failed);
                RequestFailed(logger, body, ex.Message);
            }
            finally
            {
                window.Release();
            }
        }
    }

    [LoggerMessage(EventId = 2310, Level = LogLevel.Information, Message = "flclient: {Requests} requests to {Endpoints}, strategy {Strategy}")]
    private static partial void Starting(ILogger logger, int requests, string endpoints, string strategy);

    [LoggerMessage(EventId = 2311, Level = LogLevel.Error, Message = "wrong reply {Reply} to request {Body}")]
    private static partial void WrongReply(ILogger logger, Message reply, string body);

    [LoggerMessage(EventId = 2312, Level = LogLevel.Warning, Message = "request {Body} failed: {Reason}")]
    private static partial void RequestFailed(ILogger logger, string body, string reason);

    [LoggerMessage(EventId = 2313, Level = LogLevel.Warning, Message = "flclient: interrupted")]
    private static partial void Interrupted(ILogger logger);
}
