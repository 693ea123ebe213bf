using System.Diagnostics;
using System.Globalization;
using Reliability.Mdp.Broker;
using Reliability.Mdp.Client;
using Reliability.Mdp.Titanic;
using Reliability.Mdp.Titanic.Service;
using Reliability.Mdp.Titanic.Store;
using Reliability.Transport;

namespace Reliability.Benchmarks;

/// <summary>
/// Acknowledged durable Titanic requests per second (docs/patterns/titanic.md): <c>titanic [--mode store|submit]
/// [--requests N] [--window W] [--size B] [--dir PATH | --store postgres:CONNSTR]</c>. <c>store</c>: W callers at once
/// straight into the store (a fresh SQLite file in the directory, or the PostgreSQL database, whose Titanic tables must
/// be empty); <c>submit</c>: W clients at once through an in-process broker and Titanic (<c>titanic.request</c> → 200),
/// the path a real client takes. Every counted request was committed (SQLite with <c>synchronous=FULL</c>) before its answer.
/// </summary>
internal static class TitanicWorkload
{
    public const string Command = "titanic";

    public const string Usage = "usage: Reliability.Benchmarks titanic [--mode store|submit] [--requests N] [--window W] [--size B] [--dir PATH | --store postgres:CONNSTR]";

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
        if (mode is not ("store" or "submit") || requests < 1 || window < 1 || size < 0)
        {
            throw new BenchmarkFailedException(Usage);
        }

        string directory = options.TryGetValue("dir", out string? dir) ? dir : Directory.CreateTempSubdirectory("titanic-bench-").FullName;
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
                : await SubmitAsync(store, requests, window, body);
            transactions = store is PostgresTitanicStore postgres ? postgres.Transactions : ((SqliteTitanicStore)store).Transactions;
            if (await store.CountAsync() != requests)
            {
                throw new BenchmarkFailedException($"the store holds {await store.CountAsync()} requests, not {requests}");
            }
        }

        foreach (string file in Directory.GetFiles(directory, Path.GetFileName(path) + "*"))
        {
            File.Delete(file);
        }

        return string.Create(
            CultureInfo.InvariantCulture,
            $"titanic-{mode}: {requests} acknowledged durable requests in {elapsed.TotalSeconds:F2} s, {requests / elapsed.TotalSeconds:F0} req/s ({location!.Engine}, window {window}, {size} B bodies, {transactions} transactions)");
    }

    private static async Task<TimeSpan> SubmitAsync(ITitanicStore store, int requests, int window, Message body)
    {
        using var stop = new CancellationTokenSource();
        await using var broker = new MajordomoBroker(new BrokerOptions { Endpoints = ["tcp://127.0.0.1:0"] });
        string endpoint = broker.Bind()[0];
        var brokerRun = broker.RunAsync(stop.Token);
        var service = new TitanicService(new TitanicOptions { BrokerEndpoint = endpoint, RequestWorkers = Math.Min(window, TitanicOptions.MaxConcurrency) }, store);
        var titanicRun = service.RunAsync(stop.Token);
        await using var mdp = new MajordomoAsyncClient(new MajordomoAsyncClientOptions { BrokerEndpoint = endpoint, MaxConnections = window, Timeout = TimeSpan.FromSeconds(30) });
        var client = new TitanicClient(mdp);

        // Not measured: the first submission waits for the workers to register.
        await client.SubmitAsync("echo", body);
        var elapsed = await RunWindowAsync(requests - 1, window, () => client.SubmitAsync("echo", body));
        await stop.CancelAsync();
        await Task.WhenAll(brokerRun, titanicRun);
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
