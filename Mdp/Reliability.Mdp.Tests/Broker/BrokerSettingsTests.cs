using Microsoft.Extensions.Logging;
using Reliability.Mdp.Broker;
using Reliability.Mdp.Broker.Service;

namespace Reliability.Mdp.Tests.Broker;

/// <summary>The settings schema shared by the service and the example, and the service's layering of file, environment and command line.</summary>
public sealed class BrokerSettingsTests
{
    [Fact]
    public void TryCreateOptions_AllKeys_MappedWithMillisecondUnits()
    {
        var settings = new Dictionary<string, string?>
        {
            ["bind"] = "tcp://127.0.0.1:1, tcp://127.0.0.1:2",
            ["HEARTBEATMS"] = "1000",
            ["Liveness"] = "4",
            ["RequestExpiryMs"] = "5000",
            ["MaxRequeues"] = "0",
            ["MaxQueuedRequestsPerService"] = "7",
            ["MaxServices"] = "8",
            ["MaxWorkers"] = "9",
            ["MaxServiceNameLength"] = "10",
            ["ShutdownTimeoutMs"] = "0",
        };

        BrokerSettings.TryCreateOptions(settings, null, out var options, out var problems).Should().BeTrue(string.Join("; ", problems));

        options.Endpoints.Should().Equal("tcp://127.0.0.1:1", "tcp://127.0.0.1:2");
        options.HeartbeatInterval.Should().Be(TimeSpan.FromSeconds(1));
        options.Liveness.Should().Be(4);
        options.RequestExpiry.Should().Be(TimeSpan.FromSeconds(5));
        options.MaxRequeues.Should().Be(0);
        options.MaxQueuedRequestsPerService.Should().Be(7);
        options.MaxServices.Should().Be(8);
        options.MaxWorkers.Should().Be(9);
        options.MaxServiceNameLength.Should().Be(10);
        options.ShutdownTimeout.Should().Be(TimeSpan.Zero);
    }

    [Fact]
    public void TryCreateOptions_EmptyValues_KeepDefaults()
    {
        var settings = new Dictionary<string, string?> { ["Bind"] = string.Empty, ["HeartbeatMs"] = null, ["Liveness"] = " " };

        BrokerSettings.TryCreateOptions(settings, null, out var options, out _).Should().BeTrue();

        options.Should().Be(BrokerOptions.Default);
    }

    [Fact]
    public void TryCreateOptions_IndexedBind_InIndexOrder()
    {
        var settings = new Dictionary<string, string?> { ["Bind:1"] = "tcp://127.0.0.1:2", ["Bind:0"] = "tcp://127.0.0.1:1", ["Bind"] = null };

        BrokerSettings.TryCreateOptions(settings, null, out var options, out _).Should().BeTrue();

        options.Endpoints.Should().Equal("tcp://127.0.0.1:1", "tcp://127.0.0.1:2");
    }

    [Fact]
    public void TryCreateOptions_SeveralProblems_AllReported()
    {
        var settings = new Dictionary<string, string?>
        {
            ["HeartbeatMs"] = "fast",
            ["Liveness"] = "0",
            ["MaxWorkers"] = "1e3",
            ["Colour"] = "blue",
            ["Bind:x"] = "tcp://*:1",
        };

        BrokerSettings.TryCreateOptions(settings, null, out _, out var problems).Should().BeFalse();

        problems.Should().HaveCount(5);
        problems.Should().Contain(p => p.Contains("HeartbeatMs") && p.Contains("fast"));
        problems.Should().Contain(p => p.Contains("Liveness must be"));
        problems.Should().Contain(p => p.Contains("MaxWorkers") && p.Contains("1e3"));
        problems.Should().Contain(p => p.Contains("'Colour'"));
        problems.Should().Contain(p => p.Contains("'Bind:x'"));
    }

    [Fact]
    public void CommandLine_RepeatedBindAndEqualsForm_Parsed()
    {
        var problems = new List<string>();

        var cli = ServiceCommandLine.Parse(["--bind", "tcp://127.0.0.1:1", "--bind=tcp://127.0.0.1:2", "--heartbeat", "100", "--config", "x.json"], problems);

        problems.Should().BeEmpty();
        cli.ConfigPath.Should().Be("x.json");
        cli.Settings.Should().Equal(
            new KeyValuePair<string, string?>("Bind:0", "tcp://127.0.0.1:1"),
            new KeyValuePair<string, string?>("Bind:1", "tcp://127.0.0.1:2"),
            new KeyValuePair<string, string?>("HeartbeatMs", "100"));
    }

    [Fact]
    public void CommandLine_Mistakes_EachReportedOnce()
    {
        var problems = new List<string>();

        ServiceCommandLine.Parse(["stray", "--colour", "blue", "--heartbeat"], problems);

        problems.Should().Equal("unexpected argument 'stray'", "unknown option '--colour'", "option '--heartbeat' needs a value (MS)");
    }

    [Fact]
    public void Load_Layers_CommandLineOverEnvironmentOverFile()
    {
        string file = WriteJson("""{ "HeartbeatMs": 1000, "Liveness": 4, "RequestExpiryMs": 9000, "Bind": [ "tcp://127.0.0.1:1", "tcp://127.0.0.1:2" ], "LogLevel": "Debug" }""");
        try
        {
            var problems = new List<string>();
            var cli = ServiceCommandLine.Parse(["--config", file, "--heartbeat", "300"], problems);
            var environment = new Dictionary<string, string?> { ["LIVENESS"] = "5", ["HEARTBEATMS"] = "2000" };

            var settings = ServiceSettings.Load(cli, environment, problems);

            problems.Should().BeEmpty();
            settings!.Broker.HeartbeatInterval.Should().Be(TimeSpan.FromMilliseconds(300));
            settings.Broker.Liveness.Should().Be(5);
            settings.Broker.RequestExpiry.Should().Be(TimeSpan.FromSeconds(9));
            settings.Broker.Endpoints.Should().Equal("tcp://127.0.0.1:1", "tcp://127.0.0.1:2");
            settings.LogLevel.Should().Be(LogLevel.Debug);
            settings.LogFormat.Should().Be(LogFormat.Simple);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Load_BindOnHigherLayer_ReplacesAllLowerEndpoints()
    {
        string file = WriteJson("""{ "Bind": [ "tcp://127.0.0.1:1", "tcp://127.0.0.1:2" ] }""");
        try
        {
            var problems = new List<string>();
            var cli = ServiceCommandLine.Parse(["--config", file, "--bind", "tcp://127.0.0.1:3"], problems);

            var settings = ServiceSettings.Load(cli, [], problems);

            settings!.Broker.Endpoints.Should().Equal("tcp://127.0.0.1:3");
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Load_EnvironmentCommaSeparatedBind_ReplacesFileEndpoints()
    {
        string file = WriteJson("""{ "Bind": [ "tcp://127.0.0.1:1" ] }""");
        try
        {
            var problems = new List<string>();
            var cli = ServiceCommandLine.Parse(["--config", file], problems);

            var settings = ServiceSettings.Load(cli, new Dictionary<string, string?> { ["BIND"] = "tcp://127.0.0.1:5,tcp://127.0.0.1:6" }, problems);

            settings!.Broker.Endpoints.Should().Equal("tcp://127.0.0.1:5", "tcp://127.0.0.1:6");
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Theory]
    [InlineData("""{ "HeartbeatMs": "soon" }""", "HeartbeatMs")]
    [InlineData("""{ "LogLevel": "Loud" }""", "LogLevel")]
    [InlineData("""{ "LogFormat": "xml" }""", "LogFormat")]
    [InlineData("""{ "Unknown": 1 }""", "'Unknown'")]
    [InlineData("""{ not json""", "cannot be read")]
    [InlineData("{\n  \"HeartbeatMs\": 1000,\n  \"Liveness\" 3\n}", "line 3, position")]
    public void Load_BadFile_ClearProblem(string json, string expected)
    {
        string file = WriteJson(json);
        try
        {
            var problems = new List<string>();
            var cli = ServiceCommandLine.Parse(["--config", file], problems);

            ServiceSettings.Load(cli, [], problems).Should().BeNull();

            problems.Should().ContainSingle().Which.Should().Contain(expected);
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public void Load_MissingFile_ClearProblem()
    {
        var problems = new List<string>();
        var cli = ServiceCommandLine.Parse(["--config", "/nonexistent/mdbroker.json"], problems);

        ServiceSettings.Load(cli, [], problems).Should().BeNull();

        problems.Should().ContainSingle().Which.Should().Contain("does not exist");
    }

    private static string WriteJson(string json)
    {
        string path = Path.Combine(Path.GetTempPath(), $"mdbroker-test-{Guid.NewGuid():N}.json");
        File.WriteAllText(path, json);
        return path;
    }
}
