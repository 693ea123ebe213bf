using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;
using Reliability.Mdp.Client;
using Reliability.Mdp.Titanic;
using Reliability.Transport;

namespace Reliability.Examples;

/// <summary>
/// ticlient: hands N requests to Titanic (docs/patterns/titanic.md), collects every reply, checks it is the echo of
/// its own request, and closes it. Options: <c>--endpoint BROKER</c> (default tcp://127.0.0.1:5555),
/// <c>--service NAME</c> (default echo), <c>--requests N</c> (default 100), <c>--window W</c> (requests in hand at
/// once, default 10), <c>--timeout S</c> (how long one request may take from submission to reply, default 60).
/// A request is lost when it could not be submitted or its reply did not come in time (or Titanic forgot it),
/// wrong when its reply is not its echo. Ends with <c>ticlient: N ok, L lost, W wrong, X req/s</c>; exit code
/// 0 only if every request was ok.
/// </summary>
internal static partial class TitanicClientExample
{
    public static async Task<int> RunAsync(ExampleArguments arguments, CancellationToken cancellationToken)
    {
        string endpoint = arguments.String("endpoint", "tcp://127.0.0.1:5555");
        string service = arguments.String("service", "echo");
        int requests = arguments.Int("requests", 100, 1);
        int window = arguments.Int("window", 10, 1, MajordomoAsyncClientOptions.MaxConnectionsLimit / 3);
        int timeoutS = arguments.Int("timeout", 60, 1, 3600);
        arguments.EnsureAllUsed();
        MajordomoExampleOptions.ValidateService(service);

        using var loggerFactory = arguments.CreateLoggerFactory();
        var logger = loggerFactory.CreateLogger("ticlient");
        await using var mdp = new MajordomoAsyncClient(
            new MajordomoAsyncClientOptions { BrokerEndpoint = endpoint, MaxConnections = window * 3 },
            loggerFactory);
        var titanic = new TitanicClient(mdp);
        Starting(logger, requests, service, endpoint, window);

        string run = SequentialEchoRun.RunId();
        long next = 0;
        long ok = 0;
        long lost = 0;
        long wrong = 0;
        long started = Stopwatch.GetTimestamp();

        // W senders, each with one request in hand from submission to close.
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
                using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                deadline.CancelAfter(TimeSpan.FromSeconds(timeoutS));
                try
                {
                    string id = await SubmitAsync(titanic, service, body, deadline.Token);
                    var reply = await titanic.WaitForReplyAsync(id, deadline.Token);
                    if (reply.Count == 1 && reply.GetString(0) == body)
                    {
                        Interlocked.Increment(ref ok);
                    }
                    else
                    {
                        Interlocked.Increment(ref wrong);
                        WrongReply(logger, reply, body);
                    }

                    await CloseAsync(titanic, id, logger, deadline.Token);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex) when (ex is OperationCanceledException or TitanicException or MdpRequestFailedException)
                {
                    Interlocked.Increment(ref lost);
                    Lost(logger, body, ex.Message);
                }
            }
        })).ToArray();
        await Task.WhenAll(senders);

        double seconds = Math.Max(Stopwatch.GetElapsedTime(started).TotalSeconds, 1e-9);
        long done = ok + lost + wrong;
        await Console.Out.WriteLineAsync(string.Create(
            CultureInfo.InvariantCulture,
            $"ticlient: {ok} ok, {lost + (requests - done)} lost, {wrong} wrong, {done / seconds:F0} req/s"));
        return ok == requests ? 0 : 1;
    }

    /// <summary>Submits, asking again while Titanic is away or full: nothing is stored until it says 200.</summary>
    private static async Task<string> SubmitAsync(TitanicClient titanic, string service, string body, CancellationToken cancellationToken)
    {
        // Bounded by the caller's deadline.
        while (true)
        {
            try
            {
                return await titanic.SubmitAsync(service, Message.FromStrings(body), cancellationToken);
            }
            catch (TitanicException ex) when (ex.IsTransient)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(100), TimeProvider.System, cancellationToken);
            }
            catch (MdpRequestFailedException)
            {
                // No answer: maybe stored, maybe not. Submitting again may store it twice; the reply is the same echo.
            }
        }
    }

    /// <summary>Closes a request already counted; a failure only leaves its reply to expire in Titanic.</summary>
    private static async Task CloseAsync(TitanicClient titanic, string id, ILogger logger, CancellationToken cancellationToken)
    {
        try
        {
            await titanic.CloseAsync(id, cancellationToken);
        }
        catch (Exception ex) when (ex is OperationCanceledException or TitanicException or MdpRequestFailedException)
        {
            CloseFailed(logger, id, ex.Message);
        }
    }

    [LoggerMessage(EventId = 3398, Level = LogLevel.Warning, Message = "close of {Id} failed: {Reason}; its reply expires in Titanic")]
    private static partial void CloseFailed(ILogger logger, string id, string reason);

    [LoggerMessage(EventId = 3395, Level = LogLevel.Information, Message = "ticlient: {Requests} requests to '{Service}' through Titanic at {Endpoint}, window {Window}")]
    private static partial void Starting(ILogger logger, int requests, string service, string endpoint, int window);

    [LoggerMessage(EventId = 3396, Level = LogLevel.Error, Message = "wrong reply {Reply} to request {Body}")]
    private static partial void WrongReply(ILogger logger, Message reply, string body);

    [LoggerMessage(EventId = 3397, Level = LogLevel.Error, Message = "request {Body} lost: {Reason}")]
    private static partial void Lost(ILogger logger, string body, string reason);
}
