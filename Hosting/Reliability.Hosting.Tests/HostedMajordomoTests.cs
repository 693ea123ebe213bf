using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using Reliability.Mdp.Broker;
using Reliability.Mdp.Client;
using Reliability.Mdp.Worker;
using Reliability.Transport;

namespace Reliability.Hosting.Tests;

/// <summary>Brokers, workers and clients registered with a Generic Host, over loopback TCP.</summary>
public sealed class HostedMajordomoTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Host_BrokerWorkersAndClientFromConfiguration_RequestsRoundTrip()
    {
        var brokerHost = await StartBrokerHostAsync();
        await using var brokerLifetime = Owned(brokerHost);
        string endpoint = BrokerEndpoint(brokerHost);
        var builder = Builder(new()
        {
            ["Majordomo:Worker:BrokerEndpoint"] = endpoint,
            ["Majordomo:Worker:Heartbeat"] = "00:00:01",
            ["Majordomo:Client:BrokerEndpoint"] = endpoint,
            ["Majordomo:Client:Timeout"] = "00:00:05",
        });
        builder.Services.AddSingleton<ScopeLog>();
        builder.Services.AddMajordomoWorker("echo", (request, _) => ValueTask.FromResult(Message.FromStrings("echo: " + request.Body.GetString(0))), builder.Configuration.GetSection("Majordomo:Worker"));
        builder.Services.AddMajordomoWorker<UpperHandler>("upper", builder.Configuration.GetSection("Majordomo:Worker"));
        builder.Services.AddMajordomoClient("main", builder.Configuration.GetSection("Majordomo:Client"));
        var host = builder.Build();
        await using var lifetime = Owned(host);
        await host.StartAsync().WaitAsync(Limit);

        var client = host.Services.GetRequiredService<IMajordomoClient>();
        client.Should().BeSameAs(host.Services.GetRequiredKeyedService<IMajordomoClient>("main"));
        var echo = await client.RequestAsync("echo", Message.FromStrings("hello")).WaitAsync(Limit);
        var first = await client.RequestAsync("upper", Message.FromStrings("one")).WaitAsync(Limit);
        var second = await client.RequestAsync("upper", Message.FromStrings("two")).WaitAsync(Limit);

        echo.Body.GetString(0).Should().Be("echo: hello");
        first.Body.GetString(0).Should().Be("ONE");
        second.Body.GetString(0).Should().Be("TWO");
        var scopes = host.Services.GetRequiredService<ScopeLog>();
        scopes.Created.Should().Be(2, "each request gets a handler from a scope of its own");
        scopes.Disposed.Should().Be(2, "the scope ends with its request");

        await host.StopAsync().WaitAsync(Limit);
    }

    [Theory]
    [InlineData("Majordomo:Worker:Heartbeat", "00:00:00.0001", "Heartbeat must be between")]
    [InlineData("Majordomo:Worker:Liveness", "0", "Liveness must be 1..")]
    [InlineData("Majordomo:Worker:Hearbeat", "00:00:01", "Hearbeat")]
    [InlineData("Majordomo:Worker:Heartbeat", "soon", "Heartbeat")]
    [InlineData("Majordomo:Client:Retries", "-1", "Retries")]
    [InlineData("Majordomo:Broker:HeartbeatMs", "abc", "HeartbeatMs")]
    [InlineData("Majordomo:Broker:MaxRequeues", "1000", "MaxRequeues must be 0..100")]
    [InlineData("Majordomo:Broker:Bnid", "tcp://127.0.0.1:0", "unknown setting 'Bnid'")]
    public async Task Start_InvalidSetting_FailsNamingTheSectionAndSetting(string key, string value, string expected)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Majordomo:Broker:Bind"] = "tcp://127.0.0.1:0",
            ["Majordomo:Worker:BrokerEndpoint"] = "tcp://127.0.0.1:1",
            ["Majordomo:Client:BrokerEndpoint"] = "tcp://127.0.0.1:1",
            [key] = value,
        };
        var builder = Builder(settings);
        builder.Services.AddMajordomoBroker(builder.Configuration.GetSection("Majordomo:Broker"));
        builder.Services.AddMajordomoWorker("echo", (request, _) => ValueTask.FromResult(request.Body), builder.Configuration.GetSection("Majordomo:Worker"));
        builder.Services.AddMajordomoClient("main", builder.Configuration.GetSection("Majordomo:Client"));
        var host = builder.Build();
        await using var lifetime = Owned(host);

        var start = () => host.StartAsync().WaitAsync(Limit);

        string section = key[..key.LastIndexOf(':')];
        (await start.Should().ThrowAsync<OptionsValidationException>())
            .Which.Message.Should().Contain(section + ": ").And.Contain(expected);
    }

    [Fact]
    public async Task Configure_AdjustsWhatConfigurationGave_AndTheResultIsWhatGetsValidated()
    {
        var builder = Builder(new()
        {
            ["Client:BrokerEndpoint"] = "tcp://127.0.0.1:1",
            ["Client:Retries"] = "1",
            ["Worker:BrokerEndpoint"] = "tcp://127.0.0.1:1",
        });
        builder.Services.AddMajordomoClient("main", builder.Configuration.GetSection("Client"), o => o with { Retries = o.Retries + 4 });
        builder.Services.AddMajordomoWorker("echo", (request, _) => ValueTask.FromResult(request.Body), builder.Configuration.GetSection("Worker"), o => o with { Liveness = 0 });
        var host = builder.Build();
        await using var lifetime = Owned(host);

        ((MajordomoClient)host.Services.GetRequiredService<IMajordomoClient>()).Options.Retries.Should().Be(5);
        var start = () => host.StartAsync().WaitAsync(Limit);
        (await start.Should().ThrowAsync<OptionsValidationException>()).Which.Message.Should().Contain("Worker: ").And.Contain("Liveness must be 1..");
    }

    [Fact]
    public async Task Stop_RequestInProgress_FinishedAndAnsweredThenWorkerDisconnects()
    {
        var brokerHost = await StartBrokerHostAsync();
        await using var brokerLifetime = Owned(brokerHost);
        string endpoint = BrokerEndpoint(brokerHost);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var builder = Builder(new() { ["Worker:BrokerEndpoint"] = endpoint });
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = Limit);
        builder.Services.AddMajordomoWorker(
            "slow",
            async (request, _) =>
            {
                entered.TrySetResult();
                await release.Task;
                return Message.FromStrings("done: " + request.Body.GetString(0));
            },
            builder.Configuration.GetSection("Worker"));
        var host = builder.Build();
        await host.StartAsync().WaitAsync(Limit);
        await using var client = new MajordomoClient(new MajordomoClientOptions { BrokerEndpoint = endpoint, Timeout = Limit, Retries = 0 });

        var reply = client.RequestAsync("slow", Message.FromStrings("job"));
        await entered.Task.WaitAsync(Limit);
        var stopping = host.StopAsync();
        stopping.IsCompleted.Should().BeFalse("the request in progress is finished first");
        release.TrySetResult();

        (await reply.WaitAsync(Limit)).Body.GetString(0).Should().Be("done: job");
        await stopping.WaitAsync(Limit);
        await Owned(host).DisposeAsync();

        // Gone by its DISCONNECT, not left to expire: the broker knows no worker for the service at once.
        (await client.QueryServiceAsync("slow").WaitAsync(Limit)).Should().Be("404");
    }

    [Fact]
    public async Task Stop_ShutdownTimeoutPassesMidRequest_HandlerCancelledAndStopEnds()
    {
        var brokerHost = await StartBrokerHostAsync();
        await using var brokerLifetime = Owned(brokerHost);
        string endpoint = BrokerEndpoint(brokerHost);
        var entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cancelled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var builder = Builder(new() { ["Worker:BrokerEndpoint"] = endpoint });
        builder.Services.AddMajordomoWorker(
            "stuck",
            async (request, token) =>
            {
                token.Register(() => cancelled.TrySetResult());
                entered.TrySetResult();
                await Task.Delay(Timeout.Infinite, token);
                return request.Body;
            },
            builder.Configuration.GetSection("Worker"));
        var host = builder.Build();
        await using var lifetime = Owned(host);
        await host.StartAsync().WaitAsync(Limit);
        await using var client = new MajordomoClient(new MajordomoClientOptions { BrokerEndpoint = endpoint, Timeout = Limit, Retries = 0 });
        _ = client.RequestAsync("stuck", Message.FromStrings("job"));
        await entered.Task.WaitAsync(Limit);

        // The host's shutdown timeout is the token StopAsync is given.
        using var timeout = new CancellationTokenSource();
        var stopping = host.StopAsync(timeout.Token);
        await timeout.CancelAsync();

        await cancelled.Task.WaitAsync(Limit);
        await stopping.WaitAsync(Limit);
    }

    /// <summary>The host as an asynchronous disposable: its services (clients, workers) have only asynchronous disposal.</summary>
    private static IAsyncDisposable Owned(IHost host) => (IAsyncDisposable)host;

    private static HostApplicationBuilder Builder(Dictionary<string, string?> settings)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Configuration.AddInMemoryCollection(settings);
        return builder;
    }

    private static async Task<IHost> StartBrokerHostAsync()
    {
        var builder = Builder(new() { ["Broker:Bind"] = "tcp://127.0.0.1:0", ["Broker:HeartbeatMs"] = "1000" });
        builder.Services.AddMajordomoBroker(builder.Configuration.GetSection("Broker"));
        var host = builder.Build();
        await host.StartAsync().WaitAsync(Limit);
        return host;
    }

    private static string BrokerEndpoint(IHost host) =>
        host.Services.GetRequiredService<MajordomoBroker>().BoundEndpoints.Single();

    /// <summary>Counts the scoped dependencies the typed handler was given.</summary>
    internal sealed class ScopeLog
    {
        private int _created;
        private int _disposed;

        public int Created => Volatile.Read(ref _created);

        public int Disposed => Volatile.Read(ref _disposed);

        public void Create() => Interlocked.Increment(ref _created);

        public void Dispose() => Interlocked.Increment(ref _disposed);
    }

    /// <summary>A typed handler with a scoped lifetime: one instance per request, disposed with its scope.</summary>
    internal sealed class UpperHandler : IMajordomoHandler, IDisposable
    {
        private readonly ScopeLog _log;

        public UpperHandler(ScopeLog log)
        {
            _log = log;
            _log.Create();
        }

        public ValueTask<Message> HandleAsync(MdpRequest request, CancellationToken cancellationToken) =>
            ValueTask.FromResult(Message.FromStrings(request.Body.GetString(0).ToUpperInvariant()));

        public void Dispose() => _log.Dispose();
    }
}
