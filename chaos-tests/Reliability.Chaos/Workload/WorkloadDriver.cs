using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Reliability.Transport;

namespace Reliability.Chaos.Workload;

/// <summary>The request load of a scenario: how many clients send how many requests, how fast, with which retry budget.</summary>
public sealed record WorkloadOptions
{
    /// <summary>Concurrent in-process clients (default 4, at most 256).</summary>
    public int Clients { get; init; } = 4;

    /// <summary>Requests each client sends (default 50).</summary>
    public int RequestsPerClient { get; init; } = 50;

    /// <summary>Requests each client keeps outstanding at once (default 1: one after the other).</summary>
    public int Window { get; init; } = 1;

    /// <summary>Pause between the starts of two consecutive requests of one lane (default 40 ms), so the load spans the fault timeline.</summary>
    public TimeSpan Pacing { get; init; } = TimeSpan.FromMilliseconds(40);

    /// <summary>The service the requests go to (Majordomo; default <c>echo</c>).</summary>
    public string Service { get; init; } = "echo";

    /// <summary>Request body size in bytes (default 32; the unique id is at the front).</summary>
    public int BodyBytes { get; init; } = 32;

    /// <summary>The clients' per-attempt timeout (default 1000 ms).</summary>
    public TimeSpan RequestTimeout { get; init; } = TimeSpan.FromMilliseconds(1000);

    /// <summary>The clients' tries per request, the first included (default 10: enough to ride out every scripted fault).</summary>
    public int Attempts { get; init; } = 10;

    /// <summary>Total number of requests.</summary>
    public int TotalRequests => Clients * RequestsPerClient;

    /// <summary>
    /// How long a request may take before the kit calls it lost: the whole retry budget plus 5 s.
    /// A client library must have answered or given up by then.
    /// </summary>
    public TimeSpan HardLimit => (RequestTimeout * Attempts) + TimeSpan.FromSeconds(5);

    /// <summary>The time the load takes without faults, roughly (requests per lane × pacing).</summary>
    public TimeSpan NominalDuration => Pacing * Math.Ceiling((double)RequestsPerClient / Window);

    /// <summary>Checks every setting.</summary>
    /// <exception cref="ArgumentException">A setting is out of range.</exception>
    public void Validate()
    {
        var problems = new List<string>();
        if (Clients is < 1 or > 256)
        {
            problems.Add($"Clients must be 1..256 (was {Clients})");
        }

        if (RequestsPerClient is < 1 or > 1_000_000)
        {
            problems.Add($"RequestsPerClient must be 1..1000000 (was {RequestsPerClient})");
        }

        if (Window is < 1 or > 1000)
        {
            problems.Add($"Window must be 1..1000 (was {Window})");
        }

        if (Pacing < TimeSpan.Zero || Pacing > TimeSpan.FromMinutes(1))
        {
            problems.Add($"Pacing must be between zero and one minute (was {Pacing})");
        }

        if (string.IsNullOrWhiteSpace(Service))
        {
            problems.Add("Service must be named");
        }

        if (BodyBytes is < 16 or > 1_048_576)
        {
            problems.Add($"BodyBytes must be 16..1048576 (was {BodyBytes})");
        }

        if (RequestTimeout <= TimeSpan.Zero || RequestTimeout > TimeSpan.FromMinutes(5))
        {
            problems.Add($"RequestTimeout must be positive and at most 5 minutes (was {RequestTimeout})");
        }

        if (Attempts is < 1 or > 100)
        {
            problems.Add($"Attempts must be 1..100 (was {Attempts})");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException("Invalid workload: " + string.Join("; ", problems) + ".");
        }
    }
}

/// <summary>Live counters of a running workload (for progress displays); every counter is updated atomically.</summary>
public sealed class WorkloadProgress
{
    private long _started;
    private long _answered;
    private long _failed;
    private long _wrong;
    private long _lost;
    private long _lastAnsweredAtMs = -1;

    /// <summary>Requests the workload will send in total (0 until the workload starts).</summary>
    public long Total { get; internal set; }

    /// <summary>Scenario time at which the workload started, or null before it starts.</summary>
    public ScenarioClock? Clock { get; internal set; }

    /// <summary>Requests sent so far.</summary>
    public long Started => Interlocked.Read(ref _started);

    /// <summary>Requests answered correctly.</summary>
    public long Answered => Interlocked.Read(ref _answered);

    /// <summary>Requests the client library gave up on.</summary>
    public long Failed => Interlocked.Read(ref _failed);

    /// <summary>Requests answered with another request's reply.</summary>
    public long WrongReplies => Interlocked.Read(ref _wrong);

    /// <summary>Requests that neither ended nor failed in time.</summary>
    public long Lost => Interlocked.Read(ref _lost);

    /// <summary>Requests sent and not ended yet.</summary>
    public long InFlight => Started - Answered - Failed - WrongReplies - Lost;

    /// <summary>Scenario time of the latest correct reply, or -1.</summary>
    public double LastAnsweredAtMs => Interlocked.Read(ref _lastAnsweredAtMs);

    internal void OnStarted() => Interlocked.Increment(ref _started);

    internal void OnEnded(RequestRecord record)
    {
        switch (record.Outcome)
        {
            case RequestOutcome.Answered:
                Interlocked.Increment(ref _answered);
                Interlocked.Exchange(ref _lastAnsweredAtMs, (long)record.EndMs);
                break;
            case RequestOutcome.Failed:
                Interlocked.Increment(ref _failed);
                break;
            case RequestOutcome.WrongReply:
                Interlocked.Increment(ref _wrong);
                break;
            default:
                Interlocked.Increment(ref _lost);
                break;
        }
    }
}

/// <summary>Runs a workload through in-process clients and records every request.</summary>
public static class WorkloadDriver
{
    /// <summary>
    /// Sends <see cref="WorkloadOptions.TotalRequests"/> requests, each with a unique id in its body,
    /// and records how each ended. A reply whose body differs from the request's (the servers
    /// echo) is a <see cref="RequestOutcome.WrongReply"/>; a request still open after
    /// <see cref="WorkloadOptions.HardLimit"/> is <see cref="RequestOutcome.Lost"/> and abandoned.
    /// </summary>
    /// <param name="factory">Creates each client.</param>
    /// <param name="endpoint">Where the clients connect.</param>
    /// <param name="options">The load.</param>
    /// <param name="clock">The scenario's clock (timestamps in the records).</param>
    /// <param name="progress">Live counters to update; may be shared with a display.</param>
    /// <param name="runId">A prefix that makes request ids unique across runs.</param>
    /// <param name="cancellationToken">Stops sending; open requests are abandoned.</param>
    /// <returns>Every request, in no particular order.</returns>
    public static async Task<IReadOnlyList<RequestRecord>> RunAsync(
        ChaosClientFactory factory,
        string endpoint,
        WorkloadOptions options,
        ScenarioClock clock,
        WorkloadProgress progress,
        string runId,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(factory);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clock);
        ArgumentNullException.ThrowIfNull(progress);
        options.Validate();
        progress.Total = options.TotalRequests;
        progress.Clock = clock;
        var records = new ConcurrentBag<RequestRecord>();
        double startMs = clock.NowMs;
        var clients = Enumerable.Range(0, options.Clients)
            .Select(c => RunClientAsync(factory, endpoint, c, options, clock, progress, runId, startMs, records, cancellationToken))
            .ToArray();
        await Task.WhenAll(clients).ConfigureAwait(false);
        return [.. records];
    }

    private static async Task RunClientAsync(
        ChaosClientFactory factory,
        string endpoint,
        int clientIndex,
        WorkloadOptions options,
        ScenarioClock clock,
        WorkloadProgress progress,
        string runId,
        double startMs,
        ConcurrentBag<RequestRecord> records,
        CancellationToken cancellationToken)
    {
        var client = factory(clientIndex, endpoint);
        var lanes = Enumerable.Range(0, options.Window).Select(async lane =>
        {
            // Lanes are staggered across one pacing interval, so requests do not all start at the same instant.
            double offset = options.Pacing.TotalMilliseconds * ((clientIndex * options.Window) + lane) / (options.Clients * options.Window);

            // Lane l sends sequences l, l + W, l + 2W...: bounded by RequestsPerClient.
            for (int sequence = lane, k = 0; sequence < options.RequestsPerClient; sequence += options.Window, k++)
            {
                try
                {
                    await clock.WaitUntilAsync(startMs + offset + (k * options.Pacing.TotalMilliseconds), cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                var record = await SendOneAsync(client, clientIndex, sequence, options, clock, progress, runId, cancellationToken).ConfigureAwait(false);
                records.Add(record);
                progress.OnEnded(record);
            }
        });
        try
        {
            await Task.WhenAll(lanes).ConfigureAwait(false);
        }
        finally
        {
            try
            {
                // Bounded, for the same reason as each request.
                await client.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10), clock.TimeProvider, CancellationToken.None).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // A client that cannot close within 10 s is abandoned; its sockets die with the run.
            }
        }
    }

    private static async Task<RequestRecord> SendOneAsync(
        IChaosClient client,
        int clientIndex,
        int sequence,
        WorkloadOptions options,
        ScenarioClock clock,
        WorkloadProgress progress,
        string runId,
        CancellationToken cancellationToken)
    {
        string id = string.Create(CultureInfo.InvariantCulture, $"{runId}/{clientIndex}/{sequence}");
        string body = MakeBody(id, options.BodyBytes);
        using var hardLimit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        hardLimit.CancelAfter(options.HardLimit);
        progress.OnStarted();
        double start = clock.NowMs;
        try
        {
            var request = client.RequestAsync(options.Service, Message.FromStrings(body), hardLimit.Token);

            // A timer as well as the token: a client library that ignored cancellation must not hang the whole run.
            using var backstop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var limit = Task.Delay(options.HardLimit + TimeSpan.FromSeconds(1), clock.TimeProvider, backstop.Token);
            if (await Task.WhenAny(request, limit).ConfigureAwait(false) != request)
            {
                cancellationToken.ThrowIfCancellationRequested();
                _ = request.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
                return Lost(id, clientIndex, sequence, start, clock, options, "the client library ignored cancellation");
            }

            await backstop.CancelAsync().ConfigureAwait(false);
            var reply = await request.ConfigureAwait(false);
            double end = clock.NowMs;
            return IsEcho(reply, body)
                ? new RequestRecord(id, clientIndex, sequence, start, end, RequestOutcome.Answered)
                : new RequestRecord(id, clientIndex, sequence, start, end, RequestOutcome.WrongReply, "reply " + Describe(reply));
        }
        catch (OperationCanceledException) when (hardLimit.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            return Lost(id, clientIndex, sequence, start, clock, options, null);
        }
        catch (Exception ex)
        {
            return new RequestRecord(id, clientIndex, sequence, start, clock.NowMs, RequestOutcome.Failed, $"{ex.GetType().Name}: {ex.Message}");
        }
    }

    private static RequestRecord Lost(string id, int clientIndex, int sequence, double start, ScenarioClock clock, WorkloadOptions options, string? why) =>
        new(id, clientIndex, sequence, start, clock.NowMs, RequestOutcome.Lost,
            $"no answer and no failure reported within {options.HardLimit.TotalSeconds:F0} s" + (why is null ? string.Empty : $" ({why})"));

    /// <summary>The request body: the id, a separator, then padding up to <paramref name="bytes"/>.</summary>
    internal static string MakeBody(string id, int bytes)
    {
        var text = new StringBuilder(Math.Max(bytes, id.Length + 1)).Append(id).Append('|');
        while (text.Length < bytes)
        {
            text.Append((char)('a' + (text.Length % 26)));
        }

        return text.ToString();
    }

    private static bool IsEcho(Message reply, string body) =>
        reply.Count == 1 && reply.GetString(0) == body;

    private static string Describe(Message reply)
    {
        var frames = Enumerable.Range(0, Math.Min(reply.Count, 4)).Select(i =>
        {
            string text = reply.GetString(i);
            return text.Length > 60 ? text[..60] + "..." : text;
        });
        return $"[{reply.Count} frame(s)] " + string.Join(" | ", frames);
    }
}
