using Reliability.Mdp.Titanic.Service;

namespace Reliability.Mdp.Titanic.Tests.Service;

/// <summary>The <c>titanic</c> program in-process: options, configuration layers, exit codes, a clean stop.</summary>
public sealed class TitanicProgramTests : IDisposable
{
    private static readonly TimeSpan Wait = TitanicHarness.Wait;
    private readonly string _directory = Directory.CreateTempSubdirectory("titanic-program-").FullName;

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        Directory.Delete(_directory, recursive: true);
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(string[] args, IEnumerable<KeyValuePair<string, string?>>? environment = null, CancellationToken shutdown = default)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = await TitanicProgram.RunAsync(args, environment ?? [], output, error, shutdown).WaitAsync(Wait, CancellationToken.None);
        return (code, output.ToString(), error.ToString());
    }

    [Fact]
    public async Task RunAsync_Help_PrintsUsageAndExitsZero()
    {
        var (code, output, _) = await RunAsync(["--help"]);

        code.Should().Be(TitanicProgram.ExitOk);
        output.Should().Contain("--endpoint BROKER").And.Contain("--store sqlite:PATH").And.Contain("--max-requests N").And.Contain("--reply-ttl S").And.Contain("TITANIC_");
    }

    [Fact]
    public async Task RunAsync_BadOptions_EveryProblemReportedAndExitTwo()
    {
        var (code, _, error) = await RunAsync(["--max-requests", "lots", "--reply-ttl", "0", "--store", "mongo:x", "--frobnicate", "1"]);

        code.Should().Be(TitanicProgram.ExitUsage);
        error.Should().Contain("MaxRequests: 'lots'")
            .And.Contain("ReplyTtl must be")
            .And.Contain("BrokerEndpoint is required")
            .And.Contain("'mongo:x' is not sqlite:PATH")
            .And.Contain("unknown argument '--frobnicate'");
    }

    [Fact]
    public async Task RunAsync_CommandLineOverridesEnvironmentOverridesFile()
    {
        string config = Path.Combine(_directory, "titanic.json");
        await File.WriteAllTextAsync(config, """{ "Endpoint": "tcp://127.0.0.1:1", "MaxRequests": "oops-from-file", "ReplyTtl": "also-bad" }""");

        var (code, _, error) = await RunAsync(["--config", config, "--reply-ttl", "nope"], [new("MaxRequests", "10")]);

        code.Should().Be(TitanicProgram.ExitUsage);
        error.Should().Contain("ReplyTtl: 'nope'").And.NotContain("MaxRequests").And.NotContain("also-bad");
    }

    [Fact]
    public async Task RunAsync_StoreCannotBeOpened_ExitOne()
    {
        string notADatabase = Path.Combine(_directory, "junk.db");
        await File.WriteAllTextAsync(notADatabase, new string('x', 4096));

        var (code, _, error) = await RunAsync(["--endpoint", "tcp://127.0.0.1:1", "--store", "sqlite:" + notADatabase, "--log-level", "None"]);

        code.Should().Be(TitanicProgram.ExitCannotOpenStore);
        error.Should().Contain("cannot open store");
    }

    [Fact]
    public async Task RunAsync_MalformedPostgresConnectionString_ExitTwo()
    {
        var (code, _, error) = await RunAsync(["--endpoint", "tcp://127.0.0.1:1", "--store", "postgres:Host=db;Frobnicate=1"]);

        code.Should().Be(TitanicProgram.ExitUsage);
        error.Should().Contain("Store: postgres:CONNSTR: not a PostgreSQL connection string").And.ContainEquivalentOf("frobnicate");
    }

    [Fact]
    public async Task RunAsync_PostgresServerNotListening_ExitOneWithoutThePassword()
    {
        int port = Reliability.Testing.Postgres.PostgresCluster.FreePort();

        var (code, _, error) = await RunAsync(["--endpoint", "tcp://127.0.0.1:1", "--store", $"postgres:Host=127.0.0.1;Port={port};Username=titanic;Password=s3cret;Database=titanic", "--log-level", "None"]);

        code.Should().Be(TitanicProgram.ExitCannotOpenStore);
        error.Should().Contain($"cannot open store 'postgres:Host=127.0.0.1;Port={port};Database=titanic'").And.NotContain("s3cret");
    }

    [Fact]
    public async Task RunAsync_Cancelled_StopsAndExitsZero()
    {
        using var stop = new CancellationTokenSource();
        string store = Path.Combine(_directory, "t.db");
        var run = RunAsync(["--endpoint", "tcp://127.0.0.1:1", "--store", "sqlite:" + store, "--log-level", "None"], shutdown: stop.Token);

        await stop.CancelAsync();

        (await run).Code.Should().Be(TitanicProgram.ExitOk);
        File.Exists(store).Should().BeTrue();
    }
}
