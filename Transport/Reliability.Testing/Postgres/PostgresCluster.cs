using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Reliability.Testing.Postgres;

/// <summary>
/// A throwaway PostgreSQL server for tests: <c>initdb</c> into a temporary directory, then <c>pg_ctl start</c> on a
/// free port of 127.0.0.1 with its unix socket in that directory, as the <c>postgres</c> user when the tests run as
/// root (the server refuses to run as root). Disposing stops it and deletes the directory; a cluster still running
/// when the test process exits is stopped then. The binaries come from Debian's <c>postgresql</c> package
/// (<c>/usr/lib/postgresql/VERSION/bin</c>), which <c>scripts/test.sh</c> installs when it is missing.
/// </summary>
public sealed class PostgresCluster : IAsyncDisposable
{
    private const string ServiceUser = "postgres";
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(120);
    private static readonly ConcurrentDictionary<PostgresCluster, byte> Live = new();
    private static int exitHookInstalled;

    private readonly string _bin;
    private readonly string[] _runAs;
    private int _stopped;

    private PostgresCluster(string bin, string directory, string[] runAs, int port)
    {
        _bin = bin;
        Directory = directory;
        _runAs = runAs;
        Port = port;
    }

    /// <summary>The temporary directory: the data directory <c>data</c>, the server log and the unix socket.</summary>
    public string Directory { get; }

    /// <summary>The TCP port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>The server log, for failure messages.</summary>
    public string LogPath => Path.Combine(Directory, "server.log");

    /// <summary>The newest installed server's <c>bin</c> directory, or null when no PostgreSQL server is installed.</summary>
    public static string? BinDirectory =>
        System.IO.Directory.Exists("/usr/lib/postgresql")
            ? System.IO.Directory.GetDirectories("/usr/lib/postgresql")
                .Select(d => Path.Combine(d, "bin"))
                .Where(b => File.Exists(Path.Combine(b, "initdb")) && File.Exists(Path.Combine(b, "pg_ctl")))
                .OrderByDescending(b => int.TryParse(Path.GetFileName(Path.GetDirectoryName(b)), NumberStyles.None, CultureInfo.InvariantCulture, out int v) ? v : 0)
                .FirstOrDefault()
            : null;

    /// <summary>An Npgsql connection string for <paramref name="database"/> as the superuser (trust login, no password).</summary>
    public string ConnectionString(string database = "postgres") =>
        string.Create(CultureInfo.InvariantCulture, $"Host=127.0.0.1;Port={Port};Username={ServiceUser};Database={database}");

    /// <summary>Creates and starts a cluster.</summary>
    /// <exception cref="InvalidOperationException">No server is installed, or initdb or the server failed (the message has their output).</exception>
    public static async Task<PostgresCluster> StartAsync()
    {
        string bin = BinDirectory ?? throw new InvalidOperationException(
            "no PostgreSQL server under /usr/lib/postgresql/*/bin: install Debian's postgresql package (scripts/test.sh does when run as root)");
        string directory = System.IO.Directory.CreateTempSubdirectory("reliability-pg-").FullName;
        string[] runAs = [];
        try
        {
            if (Environment.UserName == "root")
            {
                await RunAsync("chown", [ServiceUser + ":", directory]).ConfigureAwait(false);
                runAs = ["runuser", "-u", ServiceUser, "--"];
            }

            string data = Path.Combine(directory, "data");
            await RunAsync(runAs, Path.Combine(bin, "initdb"), ["-D", data, "-U", ServiceUser, "-A", "trust", "-E", "UTF8", "--no-sync"]).ConfigureAwait(false);

            // The free port may be taken between the probe and the server's bind: try a few.
            for (int attempt = 1; ; attempt++)
            {
                var cluster = new PostgresCluster(bin, directory, runAs, FreePort());
                try
                {
                    await cluster.PgCtlAsync("start", "-w", "-t", "60", "-l", cluster.LogPath, "-o", $"-p {cluster.Port} -k {directory} -c listen_addresses=127.0.0.1").ConfigureAwait(false);
                    Track(cluster);
                    return cluster;
                }
                catch (InvalidOperationException) when (attempt < 3)
                {
                }
            }
        }
        catch
        {
            System.IO.Directory.Delete(directory, recursive: true);
            throw;
        }
    }

    /// <summary>Stops the server at once (<c>-m immediate</c>: nothing of a test database needs to survive) and deletes the directory.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        Live.TryRemove(this, out _);
        try
        {
            await PgCtlAsync("stop", "-m", "immediate", "-w").ConfigureAwait(false);
        }
        finally
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
    }

    private Task PgCtlAsync(params string[] arguments) => RunAsync(_runAs, Path.Combine(_bin, "pg_ctl"), ["-D", Path.Combine(Directory, "data"), .. arguments]);

    private static void Track(PostgresCluster cluster)
    {
        Live[cluster] = 0;
        if (Interlocked.Exchange(ref exitHookInstalled, 1) == 0)
        {
            // Last resort for a test host that ends without disposing its fixtures.
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            {
                foreach (var live in Live.Keys)
                {
                    live.DisposeAsync().AsTask().Wait(CommandTimeout);
                }
            };
        }
    }

    /// <summary>A TCP port of 127.0.0.1 that nothing listened on a moment ago.</summary>
    public static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private static Task RunAsync(string[] prefix, string file, string[] arguments) =>
        prefix.Length == 0 ? RunAsync(file, arguments) : RunAsync(prefix[0], [.. prefix[1..], file, .. arguments]);

    private static async Task RunAsync(string file, string[] arguments)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{file} did not start");
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(CommandTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} did not finish in {CommandTimeout.TotalSeconds} s");
        }

        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{file} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await output.ConfigureAwait(false)}{await error.ConfigureAwait(false)}");
        }
    }
}
