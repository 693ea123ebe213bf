using System.Diagnostics;
using System.Globalization;

namespace Reliability.Examples;

/// <summary>
/// The options the one-at-a-time client examples share: <c>--endpoint E</c> (default tcp://127.0.0.1:5555),
/// <c>--requests N</c> (default 10), <c>--timeout MS</c> (per attempt, default 2500) and <c>--retries R</c>
/// (tries per request, the first included, as the zguide's REQUEST_RETRIES; default 3).
/// </summary>
internal readonly record struct SequentialClientOptions(string Endpoint, int Requests, int TimeoutMs, int Tries)
{
    /// <summary>Reads the four options; <paramref name="maxTries"/> is the client's own cap on tries.</summary>
    public static SequentialClientOptions Read(ExampleArguments arguments, int maxTries) => new(
        arguments.String("endpoint", "tcp://127.0.0.1:5555"),
        arguments.Int("requests", 10, 1),
        arguments.Int("timeout", 2500, 1, 3_600_000),
        arguments.Int("retries", 3, 1, maxTries));
}

/// <summary>What a client example's requests came to: answered with their own echo, failed, and how long it took.</summary>
internal readonly record struct EchoTally(long Ok, long Failed, TimeSpan Elapsed);

/// <summary>
/// The request loop and the ending the one-at-a-time client examples (lpclient, mdclient) share:
/// numbered requests sent one after the other, each checked against its own echo, then the single
/// summary line that scripts and the chaos suites parse.
/// </summary>
internal static class SequentialEchoRun
{
    /// <summary>A per-run prefix makes every body unique, so an echo of some other request is caught.</summary>
    public static string RunId() => Convert.ToHexString(BitConverter.GetBytes(Random.Shared.Next()));

    /// <summary>
    /// Sends bodies <c>{run}-1</c> to <c>{run}-{requests}</c> one at a time until done or cancelled. A request
    /// the client gives up on (<typeparamref name="TFailure"/>) counts as failed and the loop goes on.
    /// </summary>
    /// <param name="requests">How many requests to send.</param>
    /// <param name="exchangeAsync">Sends one body; true when its own echo came back (a wrong reply is logged by the example and returns false).</param>
    /// <param name="requestFailed">Logs a request the client gave up on: its body and the client's exception.</param>
    /// <param name="interrupted">Logs that Ctrl-C or SIGTERM cut the run short.</param>
    /// <param name="cancellationToken">Ctrl-C or SIGTERM.</param>
    public static async Task<EchoTally> RunAsync<TFailure>(
        int requests,
        Func<string, CancellationToken, Task<bool>> exchangeAsync,
        Action<string, TFailure> requestFailed,
        Action interrupted,
        CancellationToken cancellationToken)
        where TFailure : Exception
    {
        string run = RunId();
        long ok = 0;
        long failed = 0;
        long started = Stopwatch.GetTimestamp();
        for (int i = 1; i <= requests && !cancellationToken.IsCancellationRequested; i++)
        {
            string body = string.Create(CultureInfo.InvariantCulture, $"{run}-{i}");
            try
            {
                if (await exchangeAsync(body, cancellationToken))
                {
                    ok++;
                }
                else
                {
                    failed++;
                }
            }
            catch (TFailure ex)
            {
                failed++;
                requestFailed(body, ex);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                interrupted();
            }
        }

        return new EchoTally(ok, failed, Stopwatch.GetElapsedTime(started));
    }

    /// <summary>
    /// Disposes the client, flushes the logs, prints the summary line and returns the exit code: 0 only if
    /// every one of <paramref name="requests"/> was answered with its own echo, otherwise 1.
    /// </summary>
    /// <param name="tally">What <see cref="RunAsync"/> counted.</param>
    /// <param name="name">The example's name, the summary line's first word.</param>
    /// <param name="requests">How many requests were asked for.</param>
    /// <param name="retries">The client's retry count, read before it is disposed.</param>
    /// <param name="client">The client, disposed here.</param>
    /// <param name="loggerFactory">The example's logging, disposed here.</param>
    public static async Task<int> FinishAsync(this EchoTally tally, string name, int requests, long retries, IAsyncDisposable client, IDisposable loggerFactory)
    {
        await client.DisposeAsync();

        // Flush the asynchronous console logger first, so the summary really is the last line.
        loggerFactory.Dispose();
        PrintSummary(name, tally, retries);
        return tally.Ok == requests ? 0 : 1;
    }

    /// <summary>The one summary line a client example ends with; its format is a contract with scripts and the chaos suites.</summary>
    public static void PrintSummary(string name, EchoTally tally, long retries)
    {
        double rate = tally.Elapsed > TimeSpan.Zero ? tally.Ok / tally.Elapsed.TotalSeconds : 0;
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"{name}: {tally.Ok} ok, {tally.Failed} failed, {retries} retries, {rate:F1} req/s"));
    }
}
