using Microsoft.Extensions.Logging;
using Reliability.Patterns.LazyPirate;

namespace Reliability.Examples;

/// <summary>
/// bstarcli: sends numbered requests to a Binary Star pair through a failover <see cref="LazyPirateClient"/>
/// and checks every echo (zguide <c>bstarcli</c>). Options: <c>--endpoint E</c> repeated (default the
/// zguide pair, tcp://127.0.0.1:5001 and :5002), <c>--requests N</c> (default 10), <c>--timeout MS</c>
/// (per attempt, default 1000), <c>--settle MS</c> (pause before resending to the next node, default
/// 2000), <c>--retries R</c> (tries per request, the first included; default 10). Ends with the single
/// line <c>bstarcli: N ok, F failed, R retries, X req/s</c>; exit code 0 only if every request was
/// answered correctly.
/// </summary>
internal static partial class BinaryStarClientExample
{
    public static async Task<int> RunAsync(ExampleArguments arguments, CancellationToken cancellationToken)
    {
        var endpoints = arguments.Strings("endpoint");
        if (endpoints.Count == 0)
        {
            endpoints = ["tcp://127.0.0.1:5001", "tcp://127.0.0.1:5002"];
        }

        int requests = arguments.Int("requests", 10, 1);
        int timeoutMs = arguments.Int("timeout", 1000, 1, 3_600_000);
        int settleMs = arguments.Int("settle", 2000, 0, 3_600_000);
        int retries = arguments.Int("retries", 10, 1, LazyPirateOptions.MaxAttempts);
        arguments.EnsureAllUsed();

        var options = new LazyPirateOptions
        {
            Endpoints = endpoints,
            Failover = true,
            RequestTimeout = TimeSpan.FromMilliseconds(timeoutMs),
            RetryDelay = TimeSpan.FromMilliseconds(settleMs),
            Attempts = retries,
        };
        string pair = string.Join(",", endpoints);
        return await LazyPirateClientExample.RunEchoAsync(arguments, "bstarcli", options, requests, logger => Starting(logger, requests, pair, timeoutMs, settleMs, retries), cancellationToken);
    }

    [LoggerMessage(EventId = 2264, Level = LogLevel.Information, Message = "bstarcli: {Requests} requests to {Endpoints}, timeout {Timeout} ms, settle {Settle} ms, {Attempts} tries each")]
    private static partial void Starting(ILogger logger, int requests, string endpoints, int timeout, int settle, int attempts);
}
