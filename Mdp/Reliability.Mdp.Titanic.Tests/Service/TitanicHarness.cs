using Reliability.Mdp.Broker;
using Reliability.Mdp.Client;
using Reliability.Mdp.Titanic.Service;
using Reliability.Mdp.Titanic.Store;
using Reliability.Mdp.Worker;
using Reliability.Transport;

namespace Reliability.Mdp.Titanic.Tests.Service;

/// <summary>
/// A real broker on 127.0.0.1 (port 0), a Titanic service over a temporary SQLite file (or the store the test opens),
/// and a Majordomo client for the test; workers of target services, and more Titanic nodes on the same storage, are
/// started by the test when it wants them.
/// </summary>
internal sealed class TitanicHarness : IAsyncDisposable
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private readonly CancellationTokenSource _stop = new();
    private readonly MajordomoBroker _broker;
    private readonly Task _brokerRun;
    private readonly string _directory = Directory.CreateTempSubdirectory("titanic-e2e-").FullName;
    private readonly List<(MajordomoWorker Worker, Task Run)> _workers = [];
    private readonly MajordomoAsyncClient _client;
    private readonly Func<int, ITitanicStore> _openStore;
    private readonly List<(ITitanicStore Store, Task Run)> _nodes = [];
    private ITitanicStore _store;
    private Task _titanic;
    private CancellationTokenSource _titanicStop = new();

    public TitanicHarness(Func<string, TitanicOptions>? options = null, Func<int, ITitanicStore>? openStore = null)
    {
        _openStore = openStore ?? (max => SqliteTitanicStore.Open(Path.Combine(_directory, "titanic.db"), max));
        _broker = new MajordomoBroker(new BrokerOptions
        {
            Endpoints = ["tcp://127.0.0.1:0"],
            HeartbeatInterval = TimeSpan.FromMilliseconds(250),
            Liveness = 8,
        });
        Endpoint = _broker.Bind()[0];
        _brokerRun = _broker.RunAsync(_stop.Token);
        Options = options?.Invoke(Endpoint) ?? new TitanicOptions { BrokerEndpoint = Endpoint, RequestWorkers = 4 };
        (_store, _titanic) = StartTitanic();
        _client = new MajordomoAsyncClient(new MajordomoAsyncClientOptions { BrokerEndpoint = Endpoint, Timeout = TimeSpan.FromSeconds(10) });
        Client = new TitanicClient(_client, new TitanicClientOptions { PollInterval = TimeSpan.FromMilliseconds(20), PollIntervalMax = TimeSpan.FromMilliseconds(200) });
    }

    public string Endpoint { get; }

    public TitanicOptions Options { get; }

    public TitanicClient Client { get; }

    public ITitanicStore Store => _store;

    /// <summary>Starts a worker for <paramref name="service"/> answering with <paramref name="handler"/>.</summary>
    public MajordomoWorker StartWorker(string service, Func<Message, CancellationToken, ValueTask<Message>> handler)
    {
        var worker = new MajordomoWorker(new WorkerOptions { BrokerEndpoint = Endpoint, Service = service, Heartbeat = TimeSpan.FromMilliseconds(250), Liveness = 8 });
        _workers.Add((worker, worker.RunAsync((request, ct) => handler(request.Body, ct), _stop.Token)));
        return worker;
    }

    /// <summary>A worker that answers each frame prefixed with "echo:".</summary>
    public MajordomoWorker StartEcho(string service = "echo") =>
        StartWorker(service, (body, _) => ValueTask.FromResult(new Message(body.Select(f => (ReadOnlyMemory<byte>)System.Text.Encoding.UTF8.GetBytes("echo:" + System.Text.Encoding.UTF8.GetString(f.Span))))));

    /// <summary>Starts one more Titanic node on a store of its own over the same storage (a PostgreSQL database).</summary>
    public void AddTitanicNode() => _nodes.Add(StartTitanic());

    /// <summary>Stops Titanic as SIGTERM would, closes its store, and starts a fresh one on the same file.</summary>
    public async Task RestartTitanicAsync()
    {
        await _titanicStop.CancelAsync();
        await _titanic.WaitAsync(Wait);
        await _store.DisposeAsync();
        _titanicStop.Dispose();
        _titanicStop = new CancellationTokenSource();
        (_store, _titanic) = StartTitanic();
    }

    public async ValueTask DisposeAsync()
    {
        await _titanicStop.CancelAsync();
        await _stop.CancelAsync();
        await _titanic.WaitAsync(Wait);
        await _store.DisposeAsync();
        foreach (var (store, run) in _nodes)
        {
            await run.WaitAsync(Wait);
            await store.DisposeAsync();
        }

        foreach (var (worker, run) in _workers)
        {
            await run.WaitAsync(Wait);
            await worker.DisposeAsync();
        }

        await _client.DisposeAsync();
        await _brokerRun.WaitAsync(Wait);
        await _broker.DisposeAsync();
        _stop.Dispose();
        _titanicStop.Dispose();
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    private (ITitanicStore, Task) StartTitanic()
    {
        var store = _openStore(Options.MaxRequests);
        var service = new TitanicService(Options, store);
        return (store, service.RunAsync(_titanicStop.Token));
    }
}
