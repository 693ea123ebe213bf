using System.Diagnostics;
using System.Globalization;
using Reliability.Mdp.Broker;
using Reliability.Mdp.Client;
using Reliability.Mdp.Titanic;
using Reliability.Mdp.Titanic.Service;
using Reliability.Mdp.Titanic.Store;
using Reliability.Mdp.Worker;
using Reliability.Transport;

namespace Reliability.Benchmarks;

/// <summary>
/// Acknowledged durable Titanic requests per second (docs/patterns/titanic.md): <c>titanic [--mode store|submit|e2e]
/// [--requests N] [--window W] [--size B] [--dir PATH | --store postgres:CONNSTR]</c>. <c>store</c>: W callers at once
/// straight into the store (a fresh SQLite file in the directory, or the PostgreSQL database, whose Titanic tables must
/// be empty); <c>submit</c>: W clients at once through an in-process broker and Titanic (<c>titanic.request</c> → 200),
/// the path a real client takes; <c>e2e</c>: W clients at once each submit, wait for the reply of one of 2 in-process echo
/// workers (polling <c>titanic.reply</c>) and close, so a request counts once its reply was fetched and it was closed.
/// Every counted request was committed (SQLite with <c>synchronous=FULL</c>) before its answer.
/// </summary>
internal static class TitanicWorkload
{
    public const string Command = "titanic";

    public const string Usage = "usage: Reliability.Benchmarks titanic [--mode store|submit|e2e] [--requests N] [--window W] [--size B] [--poll MS] [--dir PATH | --store postgres:CONNSTR]";

    public static async Task<string?> RunAsync(IReadOnlyList<string> args)
    {
        var options = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 1; i + 1 < args.Count; i += 2)
        {
            options[args[i].TrimStart('-')] = args[i + 1];
        }

        string mode = options.GetValueOrDefault("mode", "submit");
        int requests = int.Parse(options.GetValueOrDefault("requests", "20000"), CultureInfo.InvariantCulture);
        int window = int.Parse(options.GetValueOrDefault("window", "64"), CultureInfo.InvariantCulture);
        int size = int.Parse(options.GetValueOrDefault("size", "16"), CultureInfo.InvariantCulture);
        int pollMs = int.Parse(options.GetValueOrDefault("poll", "5"), CultureInfo.InvariantCulture);
        if (mode is not ("store" or "submit" or "e2e") || requests < 1 || window < 1 || size < 0 || pollMs < 1)
        {
            throw new BenchmarkFailedException(Usage);
        }

        string directory = options.TryGetValue("dir", out string? dir) ? dir : Directory.CreateTempSubdirectory("titanic-bench-").FullName;
        if (!Directory.Exists(directory))
        {
            throw new BenchmarkFailedException($"--dir {directory}: no such directory");
        }

        string path = Path.Combine(directory, $"titanic-{Guid.NewGuid():N}.db");
        if (!TitanicStoreLocation.TryParse(options.GetValueOrDefault("store", "sqlite:" + path), out var location, out string problem))
        {
            throw new BenchmarkFailedException($"{problem}; {Usage}");
        }

        var body = Message.FromFrames(new byte[size]);
        TimeSpan elapsed;
        long transactions;
        await using (var store = await location!.OpenAsync(requests + 1))
        {
            if (await store.CountAsync() != 0)
            {
                throw new BenchmarkFailedException($"the store {location} is not empty");
            }

            elapsed = mode == "store"
                ? await RunWindowAsync(requests, window, () => store.AddRequestAsync("echo", body))
                : await ThroughTitanicAsync(store, requests, window, body, endToEnd: mode == "e2e", TimeSpan.FromMilliseconds(pollMs));
            transactions = store is PostgresTitanicStore postgres ? postgres.Transactions : ((SqliteTitanicStore)store).Transactions;

            // End to end, every request was closed: nothing may be left.
            int expected = mode == "e2e" ? 0 : requests;
            if (await store.CountAsync() != expected)
            {
                throw new BenchmarkFailedException($"the store holds {await store.CountAsync()} requests, not {expected}");
            }
        }

        foreach (string file in Directory.GetFiles(directory, Path.GetFileName(path) + "*"))
        {
            File.Delete(file);
        }

        return string.Create(
            CultureInfo.InvariantCulture,
            $"titanic-{mode}: {requests} {(mode == "e2e" ? "requests submitted, answered, fetched and closed" : "acknowledged durable requests")} in {elapsed.TotalSeconds:F2} s, {requests / elapsed.TotalSeconds:F0} req/s ({location!.Engine}, window {window}, {size} B bodies, {transactions} transactions)");
    }

    private static async Task<TimeSpan> ThroughTitanicAsync(ITitanicStore store, int requests, int window, Message body, bool endToEnd, TimeSpan poll)
    {
        using var stop = new CancellationTokenSource();
        await using var broker = new MajordomoBroker(new BrokerOptions { Endpoints = ["tcp://127.0.0.1:0"] });
        string endpoint = broker.Bind()[0];
        var brokerRun = broker.RunAsync(stop.Token);
        var service = new TitanicService(new TitanicOptions { BrokerEndpoint = endpoint, RequestWorkers = Math.Min(window, TitanicOptions.MaxConcurrency) }, store);
        var titanicRun = service.RunAsync(stop.Token);
        var workers = Enumerable.Range(0, endToEnd ? 2 : 0).Select(_ => new MajordomoWorker(new WorkerOptions { BrokerEndpoint = endpoint, Service = "echo" })).ToList();
        var workerRuns = workers.Select(w => w.RunAsync(static (request, _) => ValueTask.FromResult(request.Body), stop.Token)).ToList();
        await using var mdp = new MajordomoAsyncClient(new MajordomoAsyncClientOptions { BrokerEndpoint = endpoint, MaxConnections = window * 3, Timeout = TimeSpan.FromSeconds(30) });

        // The first poll after --poll MS (default 5), doubling up to ten times that: each poll is a titanic.reply round
        // trip and a store read, so polling faster costs throughput, and slower measures the wait.
        var client = new TitanicClient(mdp, new TitanicClientOptions { PollInterval = poll, PollIntervalMax = poll * 10 });
        async Task<string> OneAsync()
        {
            string id = await client.SubmitAsync("echo", body);
            if (endToEnd)
            {
                using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                var reply = await client.WaitForReplyAsync(id, deadline.Token);
                if (reply.Count != body.Count || reply[0].Length != body[0].Length)
                {
                    throw new BenchmarkFailedException($"request {id} got a reply of {reply.Count} frame(s), not its echo");
                }

                await client.CloseAsync(id);
            }

            return id;
        }

        // Not measured: the first request waits for the workers to register.
        await OneAsync();
        var elapsed = await RunWindowAsync(requests - 1, window, OneAsync);
        await stop.CancelAsync();
        await Task.WhenAll([brokerRun, titanicRun, .. workerRuns]);
        foreach (var worker in workers)
        {
            await worker.DisposeAsync();
        }

        service.Metrics.Dispose();
        return elapsed;
    }

    private static async Task<TimeSpan> RunWindowAsync<T>(int requests, int window, Func<Task<T>> call)
    {
        long next = 0;
        long started = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, window).Select(_ => Task.Run(async () =>
        {
            // Bounded by the request count.
            while (Interlocked.Increment(ref next) <= requests)
            {
                if (await call() is null)
                {
                    throw new BenchmarkFailedException("the store refused a request");
                }
            }
        })));
        return Stopwatch.GetElapsedTime(started);
    }
}
