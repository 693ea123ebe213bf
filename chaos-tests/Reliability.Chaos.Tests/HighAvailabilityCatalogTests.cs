using Reliability.Chaos.Processes;
using Reliability.Chaos.Scenarios;
using Reliability.Chaos.Workload;

namespace Reliability.Chaos.Tests;

public sealed class HighAvailabilityCatalogTests
{
    [Fact]
    public void For_ShortProfile_FreelanceScenarioKillsTwoOfThreeServersPerRound()
    {
        var scenario = ScenarioCatalog.For(Profile.Short).Single(s => s.Name == "fl-servers-killed");

        scenario.Deployment.Topology.Should().Be(Topology.Freelance);
        scenario.Deployment.EffectiveClient.Should().Be(ClientKind.Freelance);
        scenario.Deployment.Workers.Should().Be(3);
        scenario.Workload.Window.Should().BeGreaterThan(1, "the Freelance client keeps many requests outstanding");
        scenario.ExpectAllAnswered.Should().BeTrue("one server is always up");
        scenario.Faults.Should().HaveCount(2);
        foreach (var step in scenario.Faults)
        {
            step.Name.Should().MatchRegex(@"^SIGKILL server-([123]), server-(?!\1)[123] \d+ ms later$");
            step.Heal.Should().NotBeNull();
            step.RecoveryBound.Should().Be(TimeSpan.FromMilliseconds(1000 + 750 + 1500));
        }
    }

    [Fact]
    public void For_LongProfile_FreelanceRoundsRepeatPerSeedAndDifferAcrossSeeds()
    {
        static IEnumerable<(string, TimeSpan, TimeSpan)> Rounds(int seed) =>
            ScenarioCatalog.For(Profile.Long, seed).Single(s => s.Name == "fl-servers-killed").Faults.Select(f => (f.Name, f.At, f.HealAfter));

        Rounds(7).Should().Equal(Rounds(7));
        Rounds(7).Should().NotEqual(Rounds(8));
        Rounds(7).Should().HaveCountGreaterThanOrEqualTo(8);
    }

    [Fact]
    public void For_LongProfile_BinaryStarFailoverKillsTwentyTimes()
    {
        var scenario = ScenarioCatalog.For(Profile.Long).Single(s => s.Name == "bstar-failover");

        scenario.Faults.Where(f => f.Name.StartsWith("SIGKILL", StringComparison.Ordinal)).Should().HaveCount(20);
        scenario.Faults.Where(f => f.Name.StartsWith("restart", StringComparison.Ordinal)).Should().HaveCount(20);
    }

    [Fact]
    public void KillTwoServers_GapNotShorterThanTheDowntime_Throws()
    {
        var act = () => Faults.KillTwoServers(TimeSpan.Zero, 0, 1, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(1));

        act.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void Command_FlServer_BindsItsEndpoint()
    {
        var programs = new ChaosPrograms("/usr/bin/dotnet", "/x/Reliability.Examples.dll", "/x/mdbroker.dll");

        var command = programs.Command(ProgramRole.FlServer, new Dictionary<string, string> { ["bind"] = "tcp://127.0.0.1:7" });

        command.Arguments.Should().Equal("/x/Reliability.Examples.dll", "flserver", "--bind", "tcp://127.0.0.1:7");
    }

    [Fact]
    public void Validate_FreelanceWithAnotherClient_Throws()
    {
        var options = new DeploymentOptions { Topology = Topology.Freelance, Client = ClientKind.LazyPirate };

        options.Invoking(o => o.Validate()).Should().Throw<ArgumentException>().WithMessage("*Freelance client*");
    }
}
