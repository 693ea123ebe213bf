using Microsoft.Extensions.Logging;
using Reliability.Patterns.LazyPirate;
using Reliability.Transport;

namespace Reliability.Examples;

/// <summary>
/// lpclient: sends numbered requests through a <see cref="LazyPirateClient"/> and checks every echo.
/// Options: <c>--endpoint E</c> (default tcp://127.0.0.1:5555; several separated by commas),
/// <c>--requests N</c> (default 10), <c>--timeout MS</c> (per attempt, default 2500),
/// <c>--retries R</c> (tries per request, the first included, as the zguide's REQUEST_RETRIES; default 3),
/// <c>--curve-server-key Z85</c> (connect with CURVE to the server with this public key) and
/// <c>--curve-secret-key Z85</c> (the client's own key; ephemeral without it).
/// A request that is abandoned counts as failed and the client goes on with the next one. Ends with
/// the single line <c>lpclient: N ok, F failed, R retries, X req/s</c>; exit code 0 only if every
/// request was answered correctly.
/// </summary>
internal static partial class LazyPirateClientExample
{
    public static async Task<int> RunAsync(ExampleArguments arguments, CancellationToken cancellationToken)
    {
        var (endpoints, requests, timeoutMs, retries) = SequentialClientOptions.Read(arguments, LazyPirateOptions.MaxAttempts);
        var socket = CurveExampleOptions.Client(arguments, new LazyPirateOptions().Socket);
        arguments.EnsureAllUsed();

        var options = new LazyPirateOptions
        {
            Endpoints = endpoints.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries),
            RequestTimeout = TimeSpan.FromMilliseconds(timeoutMs),
            Attempts = retries,
            Socket = socket,
        };
        return await RunEchoAsync(arguments, "lpclient", options, requests, logger => Starting(logger, requests, endpoints, timeoutMs, retries), cancellationToken);
    }

    /// <summary>
    /// The run lpclient and bstarcli share: validates <paramref name="options"/> (a problem is a usage
    /// error), sends <paramref name="requests"/> numbered echoes one at a time through a
    /// <see cref="LazyPirateClient"/>, and ends with the summary line named <paramref name="name"/>.
    /// </summary>
    public static async Task<int> RunEchoAsync(ExampleArguments arguments, string name, LazyPirateOptions options, int requests, Action<ILogger> starting, CancellationToken cancellationToken)
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
        var logger = loggerFactory.CreateLogger(name);
        var client = new LazyPirateClient(options, loggerFactory);
        starting(logger);

        var tally = await SequentialEchoRun.RunAsync<RequestFailedException>(
            requests,
            async (body, token) =>
            {
                var reply = await client.RequestAsync(Message.FromStrings(body), token);
                if (reply.Count == 1 && reply.GetString(0) == body)
                {
                    RepliedOk(logger, body);
                    return true;
                }

                WrongReply(logger, reply, body);
                return false;
            },
            (body, ex) => RequestFailed(logger, body, ex.Message),
            () => Interrupted(logger, name),
            cancellationToken);
        return await tally.FinishAsync(name, requests, client.Statistics.Retries, client, loggerFactory);
    }

    [LoggerMessage(EventId = 2040, Level = LogLevel.Information, Message = "lpclient: {Requests} requests to {Endpoints}, timeout {Timeout} ms, {Attempts} tries each")]
    private static partial void Starting(ILogger logger, int requests, string endpoints, int timeout, int attempts);

    [LoggerMessage(EventId = 2041, Level = LogLevel.Debug, Message = "server replied OK ({Body})")]
    private static partial void RepliedOk(ILogger logger, string body);

    [LoggerMessage(EventId = 2042, Level = LogLevel.Error, Message = "wrong reply {Reply} to request {Body}")]
    private static partial void WrongReply(ILogger logger, Message reply, string body);

    [LoggerMessage(EventId = 2043, Level = LogLevel.Error, Message = "request {Body} failed: {Reason}")]
    private static partial void RequestFailed(ILogger logger, string body, string reason);

    [LoggerMessage(EventId = 2044, Level = LogLevel.Information, Message = "{Name}: interrupted")]
    private static partial void Interrupted(ILogger logger, string name);
}
