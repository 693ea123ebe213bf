using System.Diagnostics;
using Reliability.Mdp.Broker.Service;
using Reliability.Mdp.Protocol;

namespace Reliability.Mdp.Tests.Broker;

/// <summary>The <c>mdbroker</c> service: in-process through <see cref="BrokerService.RunAsync"/>, and as a real process for signals and exit codes.</summary>
public sealed partial class BrokerServiceTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(8);

    [Fact]
    public async Task RunAsync_Help_PrintsUsageAndExitsZero()
    {
        var (code, output, _) = await RunInProcessAsync(["--help"]);

        code.Should().Be(BrokerService.ExitOk);
        output.Should().Contain("--bind E").And.Contain("--heartbeat MS").And.Contain("--liveness N").And.Contain("MDBROKER_");
    }

    [Fact]
    public async Task RunAsync_Version_PrintsTheVersionLineAndExitsZero()
    {
        var (code, output, _) = await RunInProcessAsync(["--version"]);

        code.Should().Be(BrokerService.ExitOk);
        output.Trim().Should().MatchRegex(@"^mdbroker \d+\.\d+\.\d+\S*$");
    }

    [Fact]
    public async Task RunAsync_BadOptions_EveryProblemReportedAndExitTwo()
    {
        var (code, _, error) = await RunInProcessAsync(["--heartbeat", "soon", "--liveness", "0", "--frobnicate", "1"]);

        code.Should().Be(BrokerService.ExitUsage);
        error.Should().Contain("HeartbeatMs: 'soon'").And.Contain("Liveness must be").And.Contain("unknown option '--frobnicate'");
    }

    [Fact]
    public async Task RunAsync_EndpointInUse_ClearErrorAndExitOne()
    {
        await using var occupant = LoopbackBroker.Start();

        var (code, _, error) = await RunInProcessAsync(["--bind", occupant.Endpoint, "--log-level", "None"]);

        code.Should().Be(BrokerService.ExitCannotListen);
        error.Should().Contain($"cannot listen on {occupant.Endpoint}").And.Contain("in use");
    }

    [Fact]
    public async Task RunAsync_Cancelled_DisconnectsWorkerAndExitsZero()
    {
        int port = FreePort();
        string endpoint = $"tcp://127.0.0.1:{port}";
        using var stop = new CancellationTokenSource();
        var output = new StringWriter();
        var run = BrokerService.RunAsync(["--bind", endpoint, "--heartbeat", "200", "--liveness", "10", "--log-level", "Warning"], [], output, new StringWriter(), stop.Token);
        await using var worker = new RawWorker(endpoint, "echo");
        (await worker.ReceiveAsync(Wait, skipHeartbeats: false)).Should().Be(WorkerHeartbeat.Instance, "the service heartbeats its registered worker");

        await stop.CancelAsync();

        (await run.WaitAsync(Wait)).Should().Be(BrokerService.ExitOk);
        (await worker.ReceiveAsync()).Should().Be(WorkerDisconnect.Instance);
    }

    [Fact]
    public async Task Process_Sigterm_DisconnectsWorkersAndExitsZeroWithinASecond()
    {
        using var process = StartProcess("--bind", "tcp://127.0.0.1:0", "--heartbeat", "200", "--liveness", "10");
        try
        {
            string endpoint = await ReadListeningEndpointAsync(process);
            await using var worker = new RawWorker(endpoint, "echo");
            (await worker.ReceiveAsync(Wait, skipHeartbeats: false)).Should().Be(WorkerHeartbeat.Instance, "the service heartbeats its registered worker");

            var signalled = Stopwatch.GetTimestamp();
            MdbrokerProgram.Signal(process.Id, MdbrokerProgram.Sigterm).Should().Be(0);
            await process.WaitForExitAsync().WaitAsync(Wait);
            var exitedIn = Stopwatch.GetElapsedTime(signalled);

            process.ExitCode.Should().Be(0);
            exitedIn.Should().BeLessThan(TimeSpan.FromSeconds(1));
            (await worker.ReceiveAsync()).Should().Be(WorkerDisconnect.Instance);
        }
        finally
        {
            StopProcess(process);
        }
    }

    [Fact]
    public async Task Process_Sigint_ExitsZero()
    {
        using var process = StartProcess("--bind", "tcp://127.0.0.1:0");
        try
        {
            await ReadListeningEndpointAsync(process);

            MdbrokerProgram.Signal(process.Id, MdbrokerProgram.Sigint).Should().Be(0);
            await process.WaitForExitAsync().WaitAsync(Wait);

            process.ExitCode.Should().Be(0);
        }
        finally
        {
            StopProcess(process);
        }
    }

    [Fact]
    public async Task Process_BadOption_ExitTwoWithMessage()
    {
        using var process = StartProcess("--liveness", "many");
        try
        {
            await process.WaitForExitAsync().WaitAsync(Wait);

            process.ExitCode.Should().Be(2);
            (await process.StandardError.ReadToEndAsync()).Should().Contain("Liveness: 'many' is not a whole number");
        }
        finally
        {
            StopProcess(process);
        }
    }

    [Fact]
    public async Task Process_EnvironmentVariables_Applied()
    {
        using var process = StartProcess(new Dictionary<string, string> { ["MDBROKER_HEARTBEATMS"] = "1234", ["MDBROKER_BIND"] = "tcp://127.0.0.1:0" });
        try
        {
            await ReadListeningEndpointAsync(process);
            string? line = null;
            for (int i = 0; i < 20 && line?.Contains("running", StringComparison.Ordinal) != true; i++)
            {
                line = await process.StandardOutput.ReadLineAsync().WaitAsync(Wait);
            }

            line.Should().Contain("heartbeat 1234 ms");
        }
        finally
        {
            StopProcess(process);
        }
    }

    private static async Task<(int Code, string Output, string Error)> RunInProcessAsync(string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        using var stop = new CancellationTokenSource(Wait);
        int code = await BrokerService.RunAsync(args, [], output, error, stop.Token).WaitAsync(Wait);
        return (code, output.ToString(), error.ToString());
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static Process StartProcess(params string[] args) => StartProcess(new Dictionary<string, string>(), args);

    private static Process StartProcess(Dictionary<string, string> environment, params string[] args) =>
        Process.Start(MdbrokerProgram.StartInfo(args, environment)) ?? throw new InvalidOperationException("cannot start mdbroker");

    /// <summary>Reads the service's log until the broker says where it listens (port 0 picks a free port).</summary>
    private static async Task<string> ReadListeningEndpointAsync(Process process)
    {
        // Bounded: a few log lines come before this one.
        for (int i = 0; i < 20; i++)
        {
            string? line = await process.StandardOutput.ReadLineAsync().WaitAsync(Wait);
            if (line is null)
            {
                break;
            }

            if (MdbrokerProgram.ListeningEndpoint(line) is { } endpoint)
            {
                return endpoint;
            }
        }

        throw new InvalidOperationException("mdbroker never said where it listens. stderr: " + await process.StandardError.ReadToEndAsync().WaitAsync(Wait));
    }

    private static void StopProcess(Process process)
    {
        if (!process.HasExited)
        {
            process.Kill();
            process.WaitForExit(5000);
        }
    }
}
