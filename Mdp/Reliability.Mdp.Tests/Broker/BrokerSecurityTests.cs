using Reliability.Mdp.Broker;
using Reliability.Mdp.Broker.Service;
using Reliability.Mdp.Client;
using Reliability.Mdp.Protocol;
using Reliability.Mdp.Worker;
using Reliability.Transport;

namespace Reliability.Mdp.Tests.Broker;

/// <summary>The broker's security settings (docs/security.md): parsing and checks, and only authorised workers serving.</summary>
public sealed class BrokerSecurityTests
{
    private static readonly CurveKeyPair BrokerKeys = CurveKeyPair.Generate();
    private static readonly CurveKeyPair GoodWorker = CurveKeyPair.Generate();
    private static readonly CurveKeyPair RogueWorker = CurveKeyPair.Generate();

    [Fact]
    public void CommandLine_SecurityOptions_MapToBrokerSecurity()
    {
        var problems = new List<string>();
        var cli = ServiceCommandLine.Parse(
            ["--curve-secret-key", BrokerKeys.SecretKey, "--curve-allow-key", GoodWorker.PublicKey, "--curve-allow-key", RogueWorker.PublicKey,
             "--worker-auth", "curve", "--client-auth=curve", "--authorized-worker", GoodWorker.PublicKey],
            problems);

        var settings = ServiceSettings.Load(cli, [], problems);

        problems.Should().BeEmpty();
        var security = settings!.Broker.Security!;
        security.Mechanism.Should().Be(SecurityMechanism.Curve);
        security.CurveSecretKey.Should().Be(BrokerKeys.SecretKey);
        security.CurveAllowedKeys.Should().Equal(GoodWorker.PublicKey, RogueWorker.PublicKey);
        (security.ClientAuth, security.WorkerAuth).Should().Be((BrokerPeerAuth.Curve, BrokerPeerAuth.Curve));
        security.AuthorizedWorkers.Should().Equal(GoodWorker.PublicKey);
        ServiceCommandLine.Usage.Should().Contain("--curve-secret-file PATH").And.Contain("--worker-auth A").And.Contain("--plain-user USER:PASS");
    }

    [Fact]
    public void Settings_SecretFileAndPlainUsers_ReadFromTheirSources()
    {
        string path = Path.Combine(Path.GetTempPath(), "mdbroker-" + Guid.NewGuid().ToString("N"));
        var certificate = CurveCertificate.Generate();
        certificate.Save(path);
        try
        {
            BrokerSettings.TryCreateOptions(new Dictionary<string, string?> { [BrokerSettings.CurveSecretFile] = path + "_secret" }, null, out var curve, out var problems)
                .Should().BeTrue(string.Join("; ", problems));
            curve.Security!.CurveSecretKey.Should().Be(certificate.SecretKey);

            BrokerSettings.TryCreateOptions(new Dictionary<string, string?> { [BrokerSettings.CurveSecretFile] = path }, null, out _, out problems).Should().BeFalse();
            problems.Should().ContainMatch("*public certificate*");

            // As a JSON array arrives: indexed keys.
            var plain = new Dictionary<string, string?> { ["PlainUsers:0"] = "client:c-pass", ["PlainUsers:1"] = "worker:w:pass", ["WorkerAuth"] = "PLAIN", ["AuthorizedWorkers"] = "worker" };
            BrokerSettings.TryCreateOptions(plain, null, out var options, out problems).Should().BeTrue(string.Join("; ", problems));
            options.Security!.PlainUsers.Should().Contain("client", "c-pass").And.Contain("worker", "w:pass");
            options.Security.Mechanism.Should().Be(SecurityMechanism.Plain);
        }
        finally
        {
            File.Delete(path);
            File.Delete(path + "_secret");
        }
    }

    [Theory]
    [InlineData("WorkerAuth", "curve", "*WorkerAuth curve needs CurveSecretKey*")]
    [InlineData("ClientAuth", "kerberos", "*ClientAuth: 'kerberos' is not none, plain or curve*")]
    [InlineData("AuthorizedWorkers", "somebody", "*AuthorizedWorkers needs WorkerAuth*")]
    [InlineData("CurveAllowKeys", "short", "*need CurveSecretKey*")]
    [InlineData("PlainUsers", "nocolon", "*'nocolon' is not user:password*")]
    public void Settings_Inconsistent_NamedProblem(string key, string value, string expected)
    {
        BrokerSettings.TryCreateOptions(new Dictionary<string, string?> { [key] = value }, null, out _, out var problems).Should().BeFalse();
        problems.Should().ContainMatch(expected);
    }

    [Fact]
    public void Options_CurveAndPlainTogether_Refused() =>
        new BrokerSecurityOptions { CurveSecretKey = BrokerKeys.SecretKey, PlainUsers = new Dictionary<string, string> { ["u"] = "p" } }
            .GetProblems().Should().ContainMatch("*exclusive*");

    [Fact]
    public async Task Curve_UnauthorisedWorkerCannotRegister_AuthorisedOneServesEveryRequest()
    {
        var options = LoopbackBroker.FastOptions with
        {
            Security = new BrokerSecurityOptions { CurveSecretKey = BrokerKeys.SecretKey, WorkerAuth = BrokerPeerAuth.Curve, ClientAuth = BrokerPeerAuth.Curve, AuthorizedWorkers = [GoodWorker.PublicKey] },
        };
        await using var broker = LoopbackBroker.Start(options);
        using var stop = new CancellationTokenSource();
        int rogueServed = 0;
        var rogue = new MajordomoWorker(Worker(broker.Endpoint, RogueWorker));
        var rogueRun = rogue.RunAsync((request, _) => { Interlocked.Increment(ref rogueServed); return ValueTask.FromResult(Message.FromStrings("forged")); }, stop.Token);
        await broker.WhenMetric("disconnects.sent", 1).WaitAsync(LoopbackBroker.Wait);

        var good = new MajordomoWorker(Worker(broker.Endpoint, GoodWorker));
        var goodRun = good.RunAsync((request, _) => ValueTask.FromResult(Message.FromStrings("good:" + request.Body.GetString(0))), stop.Token);

        // A client with ephemeral keys: it only needs the broker's public key.
        var clientKeys = CurveKeyPair.Generate();
        await using var client = new MajordomoClient(new MajordomoClientOptions
        {
            BrokerEndpoint = broker.Endpoint,
            Timeout = TimeSpan.FromSeconds(5),
            Retries = 2,
            Socket = new SocketOptions { CurveSecretKey = clientKeys.SecretKey, CurveServerKey = BrokerKeys.PublicKey, Linger = TimeSpan.Zero },
        });
        for (int i = 0; i < 10; i++)
        {
            var reply = await client.RequestAsync("echo", Message.FromStrings($"r{i}")).WaitAsync(LoopbackBroker.Wait);
            reply.Body.GetString(0).Should().Be($"good:r{i}");
        }

        rogueServed.Should().Be(0, "the rogue worker never registered");
        await stop.CancelAsync();
        await Task.WhenAll(rogueRun, goodRun).WaitAsync(LoopbackBroker.Wait);
    }

    [Fact]
    public async Task Curve_NullClientAndWorker_GetNoConnection_NothingHangs()
    {
        var options = LoopbackBroker.FastOptions with { Security = new BrokerSecurityOptions { CurveSecretKey = BrokerKeys.SecretKey } };
        await using var broker = LoopbackBroker.Start(options);
        await using var client = new MajordomoClient(new MajordomoClientOptions { BrokerEndpoint = broker.Endpoint, Timeout = TimeSpan.FromMilliseconds(300), Retries = 0 });

        var attempt = () => client.RequestAsync("echo", Message.FromStrings("plaintext")).WaitAsync(LoopbackBroker.Wait);
        await attempt.Should().ThrowAsync<MdpRequestFailedException>("the client gives up by its own timeout");
    }

    private static WorkerOptions Worker(string endpoint, CurveKeyPair keys) => new()
    {
        BrokerEndpoint = endpoint,
        Service = "echo",
        Version = MdpVersion.V01,
        Heartbeat = LoopbackBroker.FastOptions.HeartbeatInterval,
        Liveness = LoopbackBroker.FastOptions.Liveness,
        ReconnectDelay = TimeSpan.FromMilliseconds(200),
        ReconnectDelayMax = TimeSpan.FromMilliseconds(200),
        Socket = new SocketOptions { CurveSecretKey = keys.SecretKey, CurveServerKey = BrokerKeys.PublicKey, Linger = TimeSpan.Zero },
    };
}
