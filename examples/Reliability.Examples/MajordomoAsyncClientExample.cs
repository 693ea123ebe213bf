using Reliability.Mdp.Protocol;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Reliability.Mdp.Client;
using Reliability.Transport;

namespace Reliability.Examples;

/// <summary>
/// mdclient-async: keeps a window of requests outstanding through a <see cref="MajordomoAsyncClient"/> and
/// checks that every request is completed by its own echo. Options: <c>--endpoint E</c> (broker, default
/// tcp://127.0.0.1:5555; repeated for a Binary Star pair of brokers, which the client fails over between),
/// <c>--service NAME</c> (default echo), <c>--requests N</c> (default 1000), <c>--window W</c> (requests
/// outstanding at once, default 100), <c>--timeout MS</c> (per attempt, default 2500), <c>--retries R</c>
/// (tries per request, the first included; default 1 with one broker, 3 with several), <c>--settle MS</c>
/// (with several brokers, the pause before resending to the next one, default 2000), <c>--mdp 0.1|0.2</c>
/// (default 0.1), <c>--curve-server-key Z85</c> (the broker's public key: connect with CURVE) and
/// <c>--curve-secret-key Z85</c> (the client's own key; ephemeral without it). A request out of tries counts as failed. Ends with the single line
/// <c>mdclient: N ok, F failed, R retries, X req/s</c>; exit code 0 only if every request succeeded.
/// </summary>
internal static partial class MajordomoAsyncClientExample
{
    public static async Task<int> RunAsync(ExampleArguments arguments, CancellationToken cancellationToken)
    {
        var brokers = MajordomoExampleOptions.Brokers(arguments);
        string endpoint = string.Join(",", brokers);
        string service = arguments.String("service", "echo");
        int requests = arguments.Int("requests", 1000, 1);
        int window = arguments.Int("window", 100, 1, MajordomoAsyncClientOptions.MaxConnectionsLimit);
        int timeoutMs = arguments.Int("timeout", 2500, 1, 3_600_000);
        int tries = arguments.Int("retries", brokers.Count == 1 ? 1 : 3, 1, MajordomoAsyncClientOptions.MaxRetries + 1);
        int settleMs = arguments.Int("settle", 2000, 0, 3_600_000);
        var version = MajordomoExampleOptions.Version(arguments);
        var socket = CurveExampleOptions.Client(arguments, new MajordomoAsyncClientOptions().Socket);
        arguments.EnsureAllUsed();
        string versionName = version.Number();

        var options = new MajordomoAsyncClientOptions
        {
            BrokerEndpoint = brokers.Count == 1 ? brokers[0] : string.Empty,
            BrokerEndpoints = brokers.Count == 1 ? [] : brokers,
            Version = version,
            Timeout = TimeSpan.FromMilliseconds(timeoutMs),
            Retries = tries - 1,
            SettleDelay = TimeSpan.FromMilliseconds(settleMs),

            // One outstanding request per service per connection: the window needs that many connections.
            MaxConnections = window,
            Socket = socket,
        };
        MajordomoExampleOptions.Validate(options.Validate);
        MajordomoExampleOptions.ValidateService(service);

        var loggerFactory = arguments.CreateLoggerFactory();
        var logger = loggerFactory.CreateLogger("mdclient-async");
        var client = new MajordomoAsyncClient(options, loggerFactory);
        Starting(logger, requests, service, endpoint, versionName, window, timeoutMs);

        string run = SequentialEchoRun.RunId();
        long next = 0;
        long ok = 0;
        long failed = 0;
        long started = Stopwatch.GetTimestamp();

        // W senders, each with one request in flight: together they keep the window full.
        var senders = Enumerable.Range(0, Math.Min(window, requests)).Select(_ => Task.Run(async () =>
        {
            // Bounded by the request count.
            while (!cancellationToken.IsCancellationRequested)
            {
                long i = Interlocked.Increment(ref next);
                if (i > requests)
                {
                    return;
                }

                string body = string.Create(CultureInfo.InvariantCulture, $"{run}-{i}");
                try
                {
                    var reply = await client.RequestAsync(service, Message.FromStrings(body), cancellationToken);
                    if (MajordomoExampleOptions.IsEcho(reply, body))
                    {
                        Interlocked.Increment(ref ok);
                    }
                    else
                    {
                        Interlocked.Increment(ref failed);
                        WrongReply(logger, reply, body);
                    }
                }
                catch (MdpRequestFailedException ex)
                {
                    Interlocked.Increment(ref failed);
                    RequestFailed(logger, body, ex.Message);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    return;
                }
            }
        })).ToArray();
        await Task.WhenAll(senders);
        if (cancellationToken.IsCancellationRequested)
        {
            Interrupted(logger);
        }

        // Same summary line as mdclient, so scripts parse both alike.
        return await new EchoTally(ok, failed, Stopwatch.GetElapsedTime(started)).FinishAsync("mdclient", requests, client.Statistics.Retries, client, loggerFactory);
    }

    [LoggerMessage(EventId = 3385, Level = LogLevel.Information, Message = "mdclient-async: {Requests} requests to '{Service}' at {Endpoint} (MDP/{Version}), window {Window}, timeout {Timeout} ms")]
    private static partial void Starting(ILogger logger, int requests, string service, string endpoint, string version, int window, int timeout);

    [LoggerMessage(EventId = 3386, Level = LogLevel.Error, Message = "wrong reply {Reply} to request {Body}")]
    private static partial void WrongReply(ILogger logger, MdpReply reply, string body);

    [LoggerMessage(EventId = 3387, Level = LogLevel.Error, Message = "request {Body} failed: {Reason}")]
    private static partial void RequestFailed(ILogger logger, string body, string reason);

    [LoggerMessage(EventId = 3388, Level = LogLevel.Information, Message = "mdclient-async: interrupted")]
    private static partial void Interrupted(ILogger logger);
}
