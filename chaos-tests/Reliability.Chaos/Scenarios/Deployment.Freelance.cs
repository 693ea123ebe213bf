using System.Globalization;
using Reliability.Chaos.Network;
using Reliability.Chaos.Processes;
using Reliability.Chaos.Workload;

namespace Reliability.Chaos.Scenarios;

/// <summary>
/// The Freelance side of a deployment: <see cref="DeploymentOptions.Workers"/> flserver processes
/// (<c>server-1</c>…), each bound to a port of its own, and clients connected straight to all of them.
/// There is no fault proxy: a Freelance server's identity is its endpoint, so the client must connect
/// to exactly that endpoint. <c>server-1</c> is also <see cref="Broker"/> (memory samples, start-up checks).
/// </summary>
public sealed partial class Deployment
{
    private const string ServerPrefix = "server-";
    private int[] _serverPorts = [];
    private string[] _serverEndpoints = [];

    /// <summary>Freelance: the servers' endpoints (their identities), <c>server-1</c> first; empty otherwise.</summary>
    public IReadOnlyList<string> ServerEndpoints => _serverEndpoints;

    /// <summary>Freelance: the server processes now (index 0 is <c>server-1</c>); after a restart, the new ones.</summary>
    public IReadOnlyList<ChildProcess> Servers =>
        [.. Enumerable.Range(1, _serverEndpoints.Length).Select(i => Supervisor.Current(ServerName(i))!)];

    private bool IsFreelance => Options.Topology == Topology.Freelance;

    /// <summary>Freelance: SIGKILLs server <paramref name="index"/> (0-based) if it runs and starts it again on its endpoint; returns when it listens.</summary>
    /// <param name="index">The server.</param>
    /// <param name="cancellationToken">Ends the wait early.</param>
    /// <returns>The new process.</returns>
    public async Task<ChildProcess> RestartServerAsync(int index, CancellationToken cancellationToken)
    {
        var current = Servers[index];
        if (!current.HasExited)
        {
            current.Kill();
            await current.WaitForExitAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false);
        }

        return await StartServerAsync(index, cancellationToken).ConfigureAwait(false);
    }

    private static string ServerName(int number) => ServerPrefix + number.ToString(CultureInfo.InvariantCulture);

    private static async Task<Deployment> StartFreelanceAsync(DeploymentOptions options, ChaosPrograms programs, ProcessSupervisor supervisor, CancellationToken cancellationToken)
    {
        var ports = FreePorts.Pick(options.Workers).ToArray();
        var deployment = new Deployment(options, programs, supervisor, [ports[0]])
        {
            _serverPorts = ports,
            _serverEndpoints = [.. ports.Select(p => $"tcp://127.0.0.1:{p.ToString(CultureInfo.InvariantCulture)}")],
        };
        try
        {
            for (int i = 0; i < ports.Length; i++)
            {
                await deployment.StartServerAsync(i, cancellationToken).ConfigureAwait(false);
            }

            await deployment.WaitUntilServingAsync(options.StartTimeout, cancellationToken).ConfigureAwait(false);
            return deployment;
        }
        catch
        {
            await deployment.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private Task<ChildProcess> StartServerAsync(int index, CancellationToken cancellationToken)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal) { ["bind"] = _serverEndpoints[index] };
        return StartListeningAsync(ServerName(index + 1), _programs.Command(ProgramRole.FlServer, values), [_serverPorts[index]], cancellationToken);
    }

    private FreelanceChaosClient NewFreelanceClient(TimeSpan timeout, int attempts) =>
        new(_serverEndpoints, timeout, attempts, Options.Heartbeat);

    private string DescribeFreelance() =>
        $"servers ({_serverEndpoints.Length}): `{Servers[0].Command}` …; clients connect straight to {string.Join(", ", _serverEndpoints)} (no proxy: the endpoint is the identity)";
}
