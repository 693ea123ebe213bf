using System.Net;
using System.Text.RegularExpressions;
using Reliability.Mdp.Broker.Service;
using Reliability.Mdp.Client;
using Reliability.Mdp.Worker;
using Reliability.Transport;

namespace Reliability.Mdp.Tests.Broker;

/// <summary><c>mdbroker --metrics-listen</c>: the Prometheus text at /metrics moves with traffic; /healthz and /readyz.</summary>
public sealed partial class BrokerServiceEndpointsTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(8);

    [Fact]
    public async Task MetricsListen_Traffic_CountersMoveAndReadyOnceListedServiceHasAWorker()
    {
        string endpoint = $"tcp://127.0.0.1:{FreePort()}";
        string http = $"http://127.0.0.1:{FreePort()}/";
        using var stop = new CancellationTokenSource();
        var error = new StringWriter();
        var run = BrokerService.RunAsync(
            ["--bind", endpoint, "--metrics-listen", http, "--ready-services", "echo", "--log-level", "None"], [], new StringWriter(), error, stop.Token);
        using var web = new HttpClient { BaseAddress = new Uri(http), Timeout = Wait };
        await using var client = new MajordomoClient(new MajordomoClientOptions { BrokerEndpoint = endpoint, Timeout = Wait, Retries = 0 });

        // An answered lookup shows the broker runs, and the endpoints start before it does.
        (await client.QueryServiceAsync("echo").WaitAsync(Wait)).Should().Be("404");

        var live = await web.GetAsync("healthz");
        live.StatusCode.Should().Be(HttpStatusCode.OK);
        var notReady = await web.GetAsync("readyz");
        notReady.StatusCode.Should().Be(HttpStatusCode.ServiceUnavailable);
        (await notReady.Content.ReadAsStringAsync()).Should().Contain("no worker for echo");
        var before = await web.GetStringAsync("metrics");
        Total(before, "reliability_mdp_broker_requests_received_total").Should().Be(1);
        before.Should().Contain("# TYPE reliability_mdp_broker_requests_received_total counter");

        await using var worker = new MajordomoWorker(new WorkerOptions { BrokerEndpoint = endpoint, Service = "echo" });
        using var stopWorker = new CancellationTokenSource();
        var serving = worker.RunAsync((request, _) => ValueTask.FromResult(request.Body), stopWorker.Token);
        for (int i = 0; i < 3; i++)
        {
            (await client.RequestAsync("echo", Message.FromStrings($"ping {i}")).WaitAsync(Wait)).Body.GetString(0).Should().Be($"ping {i}");
        }

        var after = await web.GetStringAsync("metrics");
        Total(after, "reliability_mdp_broker_requests_received_total").Should().Be(4);
        Total(after, "reliability_mdp_broker_requests_dispatched_total").Should().Be(3);
        Total(after, "reliability_mdp_broker_replies_sent_total").Should().Be(4);
        after.Should().Contain("reliability_mdp_broker_workers{mdp_service=\"echo\"} 1");
        var ready = await web.GetAsync("readyz");
        ready.StatusCode.Should().Be(HttpStatusCode.OK, await ready.Content.ReadAsStringAsync());
        (await web.GetAsync("nothing")).StatusCode.Should().Be(HttpStatusCode.NotFound);

        await stopWorker.CancelAsync();
        await serving.WaitAsync(Wait);
        await stop.CancelAsync();
        (await run.WaitAsync(Wait)).Should().Be(BrokerService.ExitOk, error.ToString());
    }

    [Theory]
    [InlineData("--metrics-listen", "ftp://127.0.0.1:9464/", "MetricsListen: 'ftp://127.0.0.1:9464/' is not of the form http://host:port/")]
    [InlineData("--ready-services", "echo", "ReadyServices: needs MetricsListen")]
    public async Task MetricsListen_BadValue_NamedAndExitTwo(string option, string value, string expected)
    {
        var error = new StringWriter();

        int code = await BrokerService.RunAsync([option, value, "--bind", "tcp://127.0.0.1:0"], [], new StringWriter(), error, CancellationToken.None);

        code.Should().Be(BrokerService.ExitUsage);
        error.ToString().Should().Contain(expected);
    }

    [Fact]
    public async Task MetricsListen_PortInUse_ClearErrorAndExitOne()
    {
        using var occupant = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        occupant.Start();
        string http = $"http://127.0.0.1:{((IPEndPoint)occupant.LocalEndpoint).Port}/";
        var error = new StringWriter();

        int code = await BrokerService.RunAsync(["--bind", "tcp://127.0.0.1:0", "--metrics-listen", http, "--log-level", "None"], [], new StringWriter(), error, CancellationToken.None).WaitAsync(Wait);

        code.Should().Be(BrokerService.ExitCannotListen);
        error.ToString().Should().Contain($"mdbroker: cannot listen on {http}");
    }

    [Theory]
    [InlineData("http://127.0.0.1:9464", "http://127.0.0.1:9464/")]
    [InlineData("http://*:9464/", "http://*:9464/")]
    [InlineData("http://+:9464", "http://+:9464/")]
    public void MetricsListen_Prefix_GetsTheTrailingSlashAListenerNeeds(string value, string expected)
    {
        var problems = new List<string>();
        var commandLine = ServiceCommandLine.Parse(["--metrics-listen", value, "--ready-services", "a, b"], problems);

        var settings = ServiceSettings.Load(commandLine, [], problems);

        problems.Should().BeEmpty();
        settings!.MetricsListen.Should().Be(expected);
        settings.ReadyServices.Should().Equal("a", "b");
    }

    /// <summary>The sum of a metric's series in the exposition text.</summary>
    private static long Total(string text, string name) =>
        Series().Matches(text).Where(m => m.Groups["name"].Value == name).Sum(m => long.Parse(m.Groups["value"].Value, System.Globalization.CultureInfo.InvariantCulture));

    [GeneratedRegex(@"^(?<name>[a-z_]+)(\{[^}]*\})? (?<value>-?\d+)$", RegexOptions.Multiline)]
    private static partial Regex Series();

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
