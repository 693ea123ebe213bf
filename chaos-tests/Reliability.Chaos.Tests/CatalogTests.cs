using Reliability.Chaos.Processes;
using Reliability.Chaos.Reporting;
using Reliability.Chaos.Scenarios;
using Reliability.Chaos.Workload;

namespace Reliability.Chaos.Tests;

public sealed class CatalogTests
{
    [Theory]
    [InlineData(Profile.Short, 2000)]
    [InlineData(Profile.Long, 10_000)]
    public void For_TitanicScenarios_KillTitanicAndTheBrokerInBothPhasesAndAPostgresNodeMidDispatch(Profile profile, int requests)
    {
        var plans = ScenarioCatalog.For(profile).Where(s => s.Titanic is not null).ToDictionary(s => s.Name, s => s.Titanic!);

        plans.Keys.Should().BeEquivalentTo(["titanic-killed", "titanic-broker-killed", "titanic-pg-node-killed"]);
        foreach (var plan in plans.Values)
        {
            plan.Validate();
            plan.Requests.Should().Be(requests);
            plan.KillsDuringDispatch.Should().BeGreaterThan(0);
        }

        plans["titanic-killed"].Victim.Should().Be(TitanicVictim.Titanic);
        plans["titanic-killed"].KillsDuringSubmission.Should().BeGreaterThan(0);
        plans["titanic-broker-killed"].Victim.Should().Be(TitanicVictim.Broker);
        plans["titanic-broker-killed"].KillsDuringSubmission.Should().BeGreaterThan(0);
        plans["titanic-pg-node-killed"].Should().Match<TitanicPlan>(p => p.Store == TitanicStoreKind.Postgres && p.Nodes == 2 && p.Victim == TitanicVictim.Titanic);
        new TitanicPlan { Nodes = 2 }.Invoking(p => p.Validate()).Should().Throw<ArgumentException>().WithMessage("*PostgreSQL*");
    }

    [Fact]
    public void For_ShortProfile_CoversEveryRequiredFaultForBothTopologies()
    {
        var names = ScenarioCatalog.Names(Profile.Short);

        foreach (string prefix in new[] { "mdp", "ppp" })
        {
            string broker = prefix == "mdp" ? "broker" : "queue";
            names.Should().Contain(
            [
                $"{prefix}-worker-killed", $"{prefix}-all-workers-killed", $"{prefix}-{broker}-restart", $"{prefix}-{broker}-paused",
                $"{prefix}-worker-paused", $"{prefix}-partition", $"{prefix}-slow-network", $"{prefix}-client-killed",
            ]);
        }

        names.Should().OnlyHaveUniqueItems();
    }

    [Fact]
    public void For_ShortProfile_HasTheBinaryStarFailoverWithItsBound()
    {
        var scenario = ScenarioCatalog.For(Profile.Short).Single(s => s.Name == "bstar-failover");

        scenario.Deployment.Topology.Should().Be(Topology.BinaryStar);
        scenario.Deployment.EffectiveClient.Should().Be(ClientKind.BinaryStar);
        scenario.Workload.NominalDuration.Should().BeLessThan(TimeSpan.FromSeconds(30));

        // 2 heartbeats (500 ms) + timeout 700 ms + settle 300 ms + 1.5 s slack.
        var bound = ScenarioCatalog.FailoverBound(scenario.Deployment, scenario.Workload);
        bound.Should().Be(TimeSpan.FromMilliseconds(3000));
        scenario.Faults.Where(f => f.Name.StartsWith("SIGKILL", StringComparison.Ordinal)).Should().HaveCount(2)
            .And.OnlyContain(f => f.RecoveryBound == bound);
    }

    [Theory]
    [InlineData("mdp-bstar-failover", ClientKind.Majordomo)]
    [InlineData("mdp-async-bstar-failover", ClientKind.MajordomoAsync)]
    public void For_ShortProfile_HasTheMajordomoPairFailoverWithTheBinaryStarBound(string name, ClientKind client)
    {
        var scenario = ScenarioCatalog.For(Profile.Short).Single(s => s.Name == name);

        scenario.Deployment.Topology.Should().Be(Topology.MajordomoPair);
        scenario.Deployment.EffectiveClient.Should().Be(client);
        scenario.Deployment.Workers.Should().Be(3);
        var bound = ScenarioCatalog.FailoverBound(scenario.Deployment, scenario.Workload);
        bound.Should().Be(TimeSpan.FromMilliseconds(3000));
        scenario.Faults.Where(f => f.Name.StartsWith("SIGKILL", StringComparison.Ordinal)).Should().HaveCount(2)
            .And.OnlyContain(f => f.RecoveryBound == bound);
    }

    [Fact]
    public void Command_MdpWorkerOfAPair_BothBrokersAsEndpoints()
    {
        var programs = new ChaosPrograms("dotnet", "/x/Reliability.Examples.dll", "/x/mdbroker.dll");
        var values = new Dictionary<string, string>
        {
            ["endpoint"] = "tcp://127.0.0.1:1",
            ["service"] = "echo",
            ["heartbeat_ms"] = "250",
            ["slow_ms"] = "20",
            ["mdp"] = "0.1",
            ["worker_options"] = "--endpoint tcp://127.0.0.1:2",
        };

        var command = programs.Command(ProgramRole.MdpWorker, values);

        command.Arguments.Should().Equal("/x/Reliability.Examples.dll", "mdworker", "--endpoint", "tcp://127.0.0.1:1", "--service", "echo", "--heartbeat", "250", "--slow-ms", "20", "--mdp", "0.1", "--endpoint", "tcp://127.0.0.1:2");
    }

    [Fact]
    public void Command_BinaryStarNode_FillsEveryPlaceholder()
    {
        var programs = new ChaosPrograms("/usr/bin/dotnet", "/x/Reliability.Examples.dll", "/x/mdbroker.dll");

        var command = programs.Command(ProgramRole.BstarServer, new Dictionary<string, string>
        {
            ["role"] = "backup",
            ["frontend"] = "tcp://127.0.0.1:1",
            ["local"] = "tcp://127.0.0.1:2",
            ["remote"] = "tcp://127.0.0.1:3",
            ["heartbeat_ms"] = "250",
        });

        command.Arguments.Should().Equal("/x/Reliability.Examples.dll", "bstarsrv", "--role", "backup", "--frontend", "tcp://127.0.0.1:1", "--local", "tcp://127.0.0.1:2", "--remote", "tcp://127.0.0.1:3", "--heartbeat", "250");
    }

    [Fact]
    public void Validate_BinaryStarWithAnotherClient_Throws()
    {
        var options = new DeploymentOptions { Topology = Topology.BinaryStar, Client = ClientKind.LazyPirate };

        options.Invoking(o => o.Validate()).Should().Throw<ArgumentException>().WithMessage("*Binary Star client*");
    }

    [Fact]
    public void For_EveryProfile_ScenariosAreValidAndFaultsFitTheWorkload()
    {
        foreach (var profile in new[] { Profile.Short, Profile.Long })
        {
            // Titanic scenarios kill at points of progress, not on the clock: their plan is checked below.
            foreach (var scenario in ScenarioCatalog.For(profile).Where(s => s.Titanic is null))
            {
                scenario.Deployment.Validate();
                scenario.Workload.Validate();
                scenario.Faults.Should().NotBeEmpty(scenario.Name);
                scenario.Faults.Max(f => f.At + f.HealAfter).Should().BeLessThan(scenario.Workload.NominalDuration, scenario.Name);
            }
        }
    }

    [Fact]
    public void For_LongProfileSameSeed_RandomScenariosRepeat()
    {
        var first = ScenarioCatalog.For(Profile.Long, seed: 7).Single(s => s.Name == "mdp-random");
        var second = ScenarioCatalog.For(Profile.Long, seed: 7).Single(s => s.Name == "mdp-random");

        first.Faults.Select(f => (f.Name, f.At)).Should().Equal(second.Faults.Select(f => (f.Name, f.At)));
        first.Faults.Should().HaveCountGreaterThan(3);
    }

    [Fact]
    public void Command_DefaultTemplates_FillEveryPlaceholder()
    {
        var programs = new ChaosPrograms("/usr/bin/dotnet", "/x/Reliability.Examples.dll", "/x/mdbroker.dll");

        var command = programs.Command(ProgramRole.MdpWorker, new Dictionary<string, string>
        {
            ["endpoint"] = "tcp://127.0.0.1:5",
            ["service"] = "echo",
            ["heartbeat_ms"] = "250",
            ["liveness"] = "3",
            ["slow_ms"] = "20",
            ["mdp"] = "0.1",
        });

        command.FileName.Should().Be("/usr/bin/dotnet");
        command.Arguments.Should().Equal("/x/Reliability.Examples.dll", "mdworker", "--endpoint", "tcp://127.0.0.1:5", "--service", "echo", "--heartbeat", "250", "--slow-ms", "20", "--mdp", "0.1");
    }

    [Fact]
    public void WithTemplate_UserWorker_ReplacesOnlyThatRole()
    {
        var programs = new ChaosPrograms("dotnet", "e.dll", "b.dll").WithTemplate(ProgramRole.MdpWorker, "python3 w.py --at={endpoint} {service}");

        var worker = programs.Command(ProgramRole.MdpWorker, new Dictionary<string, string> { ["endpoint"] = "tcp://h:1", ["service"] = "s" });

        worker.FileName.Should().Be("python3");
        worker.Arguments.Should().Equal("w.py", "--at=tcp://h:1", "s");
        programs.TemplateOf(ProgramRole.MdpBroker).Should().Contain("{broker_dll}");
    }

    [Fact]
    public void Command_UnknownPlaceholder_ThrowsNamingIt()
    {
        var programs = new ChaosPrograms("dotnet", "e.dll", "b.dll").WithTemplate(ProgramRole.PppQueue, "q {nope}");

        var act = () => programs.Command(ProgramRole.PppQueue, new Dictionary<string, string>());

        act.Should().Throw<ArgumentException>().WithMessage("*{nope}*");
    }

    [Fact]
    public void SummaryLine_Results_HasTheDocumentedShape()
    {
        var results = new[]
        {
            new ScenarioResult
            {
                Name = "a",
                Description = "d",
                Requests =
                [
                    new RequestRecord("1", 0, 0, 0, 5, RequestOutcome.Answered),
                    new RequestRecord("2", 0, 1, 0, 5, RequestOutcome.Failed),
                    new RequestRecord("3", 0, 2, 0, 5, RequestOutcome.WrongReply),
                    new RequestRecord("4", 0, 3, 0, 5, RequestOutcome.Lost),
                ],
            },
        };

        ChaosReport.SummaryLine(results).Should().Be("chaos: 1 scenarios, 4 requests, 1 answered, 2 failed, 1 wrong replies");
        ChaosReport.SummaryTable(results).Should().Contain("wrong replies").And.Contain("max recovery");
    }

    [Fact]
    public void MakeBody_Id_StartsWithIdAndHasRequestedSize()
    {
        string body = WorkloadDriver.MakeBody("run/1/2", 32);

        body.Should().StartWith("run/1/2|").And.HaveLength(32);
    }
}
