using Reliability.Chaos.Workload;

namespace Reliability.Chaos.Scenarios;

/// <summary>The Freelance (brokerless) scenario of the catalog.</summary>
public static partial class ScenarioCatalog
{
    /// <summary>
    /// Freelance: three flservers, asynchronous Freelance clients (4 requests outstanding each), and
    /// rounds in which two of the three servers are SIGKILLed at seeded random moments and restarted
    /// on their endpoints; the survivor must carry the load meanwhile. Short: two rounds; long: rounds
    /// over a five times longer load.
    /// </summary>
    private static Scenario FreelanceServersKilled(Profile profile, int seed)
    {
        bool longRun = profile == Profile.Long;
        var deployment = new DeploymentOptions
        {
            Topology = Topology.Freelance,
            Workers = 3,
            Heartbeat = TimeSpan.FromMilliseconds(250),
        };
        var workload = new WorkloadOptions
        {
            Clients = 4,
            Window = 4,
            RequestsPerClient = longRun ? 1200 : 240,
            Pacing = TimeSpan.FromMilliseconds(200),
            RequestTimeout = TimeSpan.FromMilliseconds(1000),
            Attempts = 10,
        };

        // A request on a killed server goes to the next live one after its try timeout at the latest
        // (sooner when the client sees the connection end); the server TTL covers a server that went silent.
        var bound = workload.RequestTimeout + deployment.LivenessWindow + TimeSpan.FromMilliseconds(1500);
        var random = new Random(seed);
        var faults = new List<FaultStep>();
        var at = TimeSpan.FromSeconds(1);
        var end = workload.NominalDuration - TimeSpan.FromSeconds(3);
        for (int round = 0; round < (longRun ? 100 : 2) && at < end; round++)
        {
            int first = random.Next(3);
            int second = (first + 1 + random.Next(2)) % 3;
            var gap = TimeSpan.FromMilliseconds(random.Next(0, 1500));
            var downFor = gap + TimeSpan.FromMilliseconds(random.Next(500, 2500));
            faults.Add(Faults.KillTwoServers(at, first, second, gap, downFor) with { RecoveryBound = bound });
            at += downFor + TimeSpan.FromMilliseconds(random.Next(1000, 3000));
        }

        return new Scenario
        {
            Name = "fl-servers-killed",
            Description = $"A Freelance group of three flservers (no broker) under asynchronous Freelance clients: in each round two of the three servers are SIGKILLed at random moments (seed {seed}) and restarted on their endpoints; the survivor must carry the load, and every request must be answered with its own reply.",
            Deployment = deployment,
            Workload = workload,
            Faults = faults,
            Seed = seed,
        };
    }
}
