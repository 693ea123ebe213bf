using Reliability.Mdp.Broker;
using Reliability.Mdp.Broker.Service;
using Reliability.Mdp.Protocol;
using Reliability.Transport;

namespace Reliability.Mdp.Tests.Broker;

/// <summary>The resource-limit options of the broker (docs/security-limits.md): defaults, schema keys, command line, validation.</summary>
public sealed class BrokerLimitSettingsTests
{
    [Fact]
    public void Defaults_SafeForAnOpenPort()
    {
        var options = BrokerOptions.Default;

        options.MaxMessageSize.Should().Be(1L << 20);
        options.HandshakeTimeout.Should().Be(TimeSpan.FromSeconds(5));
        options.MaxConnections.Should().Be(10_000);
        options.MaxPendingHandshakes.Should().Be(1000);
        options.PeerSendBytes.Should().BeGreaterThan(2 * options.MaxMessageSize, "a heartbeat always fits behind the largest REQUEST");
    }

    [Fact]
    public void TryCreateOptions_LimitKeys_Mapped()
    {
        var settings = new Dictionary<string, string?>
        {
            ["maxmessagesize"] = "65536",
            ["HandshakeTimeoutMs"] = "2500",
            ["MaxConnections"] = "300",
            ["MaxHandshakes"] = "30",
        };

        BrokerSettings.TryCreateOptions(settings, null, out var options, out var problems).Should().BeTrue(string.Join("; ", problems));

        options.MaxMessageSize.Should().Be(65536);
        options.HandshakeTimeout.Should().Be(TimeSpan.FromMilliseconds(2500));
        options.MaxConnections.Should().Be(300);
        options.MaxPendingHandshakes.Should().Be(30);
    }

    [Fact]
    public void TryCreateOptions_LimitsOutOfRange_AllReported()
    {
        var settings = new Dictionary<string, string?>
        {
            ["MaxMessageSize"] = "10",
            ["HandshakeTimeoutMs"] = "0",
            ["MaxConnections"] = "0",
            ["MaxHandshakes"] = "many",
        };

        BrokerSettings.TryCreateOptions(settings, null, out _, out var problems).Should().BeFalse();

        problems.Should().Contain(p => p.StartsWith("MaxMessageSize must be 1024..", StringComparison.Ordinal))
            .And.Contain(p => p.StartsWith("HandshakeTimeout must be between 100 ms", StringComparison.Ordinal))
            .And.Contain(p => p.StartsWith("MaxConnections must be 1..", StringComparison.Ordinal))
            .And.Contain("MaxHandshakes: 'many' is not a whole number");
    }

    [Fact]
    public void CommandLine_LimitOptions_MapToTheirKeys_AndAreInTheHelp()
    {
        var problems = new List<string>();

        var cli = ServiceCommandLine.Parse(["--max-message-size", "2048", "--handshake-timeout=1000", "--max-connections", "50", "--max-handshakes", "5"], problems);

        problems.Should().BeEmpty();
        cli.Settings.Should().Equal(
            new KeyValuePair<string, string?>("MaxMessageSize", "2048"),
            new KeyValuePair<string, string?>("HandshakeTimeoutMs", "1000"),
            new KeyValuePair<string, string?>("MaxConnections", "50"),
            new KeyValuePair<string, string?>("MaxHandshakes", "5"));
        ServiceCommandLine.Usage.Should().Contain("--max-message-size B").And.Contain("--handshake-timeout MS")
            .And.Contain("--max-connections N").And.Contain("--max-handshakes N");
    }

    [Fact]
    public async Task Broker_MaxMessageSize_OversizedRequestDisconnectsItsSender_OthersServed()
    {
        await using var broker = LoopbackBroker.Start(LoopbackBroker.FastOptions with { MaxMessageSize = 4096 });
        await using var worker = new RawWorker(broker.Endpoint, "echo");
        await broker.WaitForWorkersAsync(1);
        await using var big = new DealerSocket(new SocketOptions { Linger = TimeSpan.Zero });
        var gone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        big.EventRaised += (_, e) =>
        {
            if (e.Kind == SocketEventKind.Disconnected)
            {
                gone.TrySetResult();
            }
        };
        big.Connect(broker.Endpoint);

        big.Send(MdpCodec.BuildFromClient(new ClientRequest("echo", [new byte[8192]]), MdpVersion.V01, MdpClientSocket.Dealer));

        await gone.Task.WaitAsync(LoopbackBroker.Wait);
        await using var client = new RawClient(broker.Endpoint);
        var answer = client.RequestAsync("echo", "small");
        await worker.EchoOneAsync();
        (await answer).Should().Be("small", "the worker never saw the oversized request, and the broker keeps serving");
    }
}
