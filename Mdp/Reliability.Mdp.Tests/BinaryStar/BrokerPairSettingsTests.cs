using Reliability.Mdp.Broker;
using Reliability.Mdp.Broker.Service;
using Reliability.Patterns.BinaryStar;

namespace Reliability.Mdp.Tests.BinaryStar;

/// <summary>The Binary Star settings of <c>mdbroker</c>: <c>--ha-*</c> options, their JSON/environment keys, and their checks.</summary>
public sealed class BrokerPairSettingsTests
{
    [Fact]
    public void CommandLine_HaOptions_BecomeTheBrokersBinaryStarOptions()
    {
        var problems = new List<string>();
        var cli = ServiceCommandLine.Parse(
            ["--bind", "tcp://127.0.0.1:5001", "--ha-role", "backup", "--ha-local", "tcp://127.0.0.1:5004", "--ha-remote", "tcp://127.0.0.1:5003", "--ha-heartbeat", "250"],
            problems);

        var settings = ServiceSettings.Load(cli, [], problems);

        problems.Should().BeEmpty();
        settings!.Broker.BinaryStar.Should().BeEquivalentTo(new BinaryStarOptions
        {
            Role = BinaryStarRole.Backup,
            LocalEndpoint = "tcp://127.0.0.1:5004",
            RemoteEndpoint = "tcp://127.0.0.1:5003",
            Heartbeat = TimeSpan.FromMilliseconds(250),
        });
        settings.Broker.Endpoints.Should().Equal("tcp://127.0.0.1:5001");
    }

    [Fact]
    public void Load_HaSettingsFromEnvironment_RoleCaseInsensitiveAndCommandLineWins()
    {
        var problems = new List<string>();
        var cli = ServiceCommandLine.Parse(["--ha-remote", "tcp://127.0.0.1:9"], problems);
        var environment = new Dictionary<string, string?> { ["HAROLE"] = "Primary", ["HALOCAL"] = "tcp://*:5003", ["HAREMOTE"] = "tcp://127.0.0.1:5004" };

        var settings = ServiceSettings.Load(cli, environment, problems);

        problems.Should().BeEmpty();
        settings!.Broker.BinaryStar!.Role.Should().Be(BinaryStarRole.Primary);
        settings.Broker.BinaryStar.LocalEndpoint.Should().Be("tcp://*:5003");
        settings.Broker.BinaryStar.RemoteEndpoint.Should().Be("tcp://127.0.0.1:9");
        settings.Broker.BinaryStar.Heartbeat.Should().Be(TimeSpan.FromSeconds(1), "the Binary Star default");
    }

    [Fact]
    public void TryCreateOptions_NoHaSettings_LoneBroker()
    {
        BrokerSettings.TryCreateOptions(new Dictionary<string, string?> { ["HeartbeatMs"] = "100" }, null, out var options, out _).Should().BeTrue();

        options.BinaryStar.Should().BeNull();
    }

    [Theory]
    [InlineData(new[] { "HaRole", "primary" }, "HaRole primary needs HaLocal (where this broker publishes its state) and HaRemote (the peer's state endpoint)")]
    [InlineData(new[] { "HaRole", "backup", "HaLocal", "tcp://*:5004" }, "HaRole backup needs HaRemote (the peer's state endpoint)")]
    [InlineData(new[] { "HaLocal", "tcp://*:5003", "HaRemote", "tcp://127.0.0.1:5004" }, "HaLocal, HaRemote given without HaRole: set HaRole (primary or backup)")]
    [InlineData(new[] { "HaRole", "leader", "HaLocal", "tcp://*:5003", "HaRemote", "tcp://127.0.0.1:5004" }, "HaRole: 'leader' is not primary or backup")]
    [InlineData(new[] { "HaRole", "primary", "HaLocal", "5003", "HaRemote", "tcp://127.0.0.1:5004" }, "BinaryStar.LocalEndpoint must look like transport://address (was '5003')")]
    [InlineData(new[] { "HaRole", "primary", "HaLocal", "tcp://*:5003", "HaRemote", "tcp://127.0.0.1:5004", "HaHeartbeatMs", "5" }, "BinaryStar.Heartbeat must be")]
    [InlineData(new[] { "HaRole", "primary", "HaLocal", "tcp://*:5003", "HaRemote", "tcp://127.0.0.1:5004", "HaHeartbeatMs", "often" }, "HaHeartbeatMs: 'often' is not a whole number of milliseconds")]
    public void TryCreateOptions_BadPair_OneClearProblem(string[] pairs, string expected)
    {
        var settings = Enumerable.Range(0, pairs.Length / 2).Select(i => new KeyValuePair<string, string?>(pairs[2 * i], pairs[(2 * i) + 1]));

        BrokerSettings.TryCreateOptions(settings, null, out _, out var problems).Should().BeFalse();

        problems.Should().ContainSingle().Which.Should().StartWith(expected);
    }

    [Fact]
    public void Usage_ListsTheHaOptionsAndTheSplitBrainExitCode()
    {
        ServiceCommandLine.Usage.Should().Contain("--ha-role R").And.Contain("--ha-local E").And.Contain("--ha-remote E").And.Contain("--ha-heartbeat MS")
            .And.Contain("3 Binary Star split brain").And.Contain("HaRole");
    }
}
