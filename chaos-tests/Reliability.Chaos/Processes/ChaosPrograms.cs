using System.Diagnostics;
using System.Text;

namespace Reliability.Chaos.Processes;

/// <summary>The roles a program plays in a scenario; each has a command template.</summary>
public enum ProgramRole
{
    /// <summary>The Majordomo broker. Placeholders: <c>{bind}</c>, <c>{port}</c>, <c>{heartbeat_ms}</c>, <c>{liveness}</c>, <c>{broker_options}</c> (a scenario's further options, zero or more words).</summary>
    MdpBroker,

    /// <summary>A Majordomo echo worker. Placeholders: <c>{endpoint}</c>, <c>{service}</c>, <c>{heartbeat_ms}</c>, <c>{liveness}</c>, <c>{slow_ms}</c>, <c>{mdp}</c> (<c>0.1</c> or <c>0.2</c>), <c>{worker_options}</c> (further options, zero or more words: <c>--endpoint</c> of the second broker of a pair).</summary>
    MdpWorker,

    /// <summary>A Majordomo client process (the one killed with requests outstanding). Placeholders: <c>{endpoint}</c>, <c>{service}</c>, <c>{requests}</c>, <c>{timeout_ms}</c>, <c>{retries}</c>, <c>{mdp}</c>.</summary>
    MdpClient,

    /// <summary>The Paranoid Pirate queue. Placeholders: <c>{frontend}</c>, <c>{backend}</c>, <c>{heartbeat_ms}</c>, <c>{liveness}</c>.</summary>
    PppQueue,

    /// <summary>A Paranoid Pirate echo worker. Placeholders: <c>{endpoint}</c>, <c>{heartbeat_ms}</c>, <c>{liveness}</c>, <c>{slow_ms}</c>.</summary>
    PppWorker,

    /// <summary>A Lazy Pirate client process. Placeholders: <c>{endpoint}</c>, <c>{requests}</c>, <c>{timeout_ms}</c>, <c>{retries}</c>.</summary>
    LpClient,

    /// <summary>One node of a Binary Star pair of echo servers. Placeholders: <c>{role}</c> (<c>primary</c> or <c>backup</c>), <c>{frontend}</c>, <c>{local}</c>, <c>{remote}</c>, <c>{heartbeat_ms}</c>.</summary>
    BstarServer,

    /// <summary>A Freelance echo server (its identity is its endpoint). Placeholders: <c>{bind}</c> (a concrete endpoint).</summary>
    FlServer,
}

/// <summary>
/// The programs a scenario runs, as command templates per <see cref="ProgramRole"/>. The defaults run
/// this repository's broker service and example programs (built once, in Release, and started as
/// <c>dotnet &lt;dll&gt;</c> for a fast start); <see cref="WithTemplate"/> points a role at a user's own
/// program instead, for example <c>python3 my_worker.py {endpoint} {service}</c>.
/// </summary>
public sealed class ChaosPrograms
{
    /// <summary>Environment variable naming a prebuilt examples dll (skips the build).</summary>
    public const string ExamplesDllVariable = "CHAOS_EXAMPLES_DLL";

    /// <summary>Environment variable naming a prebuilt broker service dll (skips the build).</summary>
    public const string BrokerDllVariable = "CHAOS_BROKER_DLL";

    private static readonly SemaphoreSlim BuildGate = new(1, 1);
    private static ChaosPrograms? _built;

    private readonly Dictionary<ProgramRole, string> _templates;

    /// <summary>Creates the default templates over the given dlls.</summary>
    /// <param name="dotnet">The <c>dotnet</c> host.</param>
    /// <param name="examplesDll">Path of <c>Reliability.Examples.dll</c>.</param>
    /// <param name="brokerDll">Path of the broker service's <c>mdbroker.dll</c>.</param>
    public ChaosPrograms(string dotnet, string examplesDll, string brokerDll)
    {
        Dotnet = dotnet;
        ExamplesDll = examplesDll;
        BrokerDll = brokerDll;
        _templates = new Dictionary<ProgramRole, string>
        {
            [ProgramRole.MdpBroker] = "{dotnet} {broker_dll} --bind {bind} --heartbeat {heartbeat_ms} --liveness {liveness} {broker_options}",
            [ProgramRole.MdpWorker] = "{dotnet} {examples_dll} mdworker --endpoint {endpoint} --service {service} --heartbeat {heartbeat_ms} --slow-ms {slow_ms} --mdp {mdp} {worker_options}",
            [ProgramRole.MdpClient] = "{dotnet} {examples_dll} mdclient --endpoint {endpoint} --service {service} --requests {requests} --timeout {timeout_ms} --retries {retries} --mdp {mdp}",
            [ProgramRole.PppQueue] = "{dotnet} {examples_dll} ppqueue --frontend {frontend} --backend {backend} --heartbeat {heartbeat_ms} --liveness {liveness}",
            [ProgramRole.PppWorker] = "{dotnet} {examples_dll} ppworker --endpoint {endpoint} --heartbeat {heartbeat_ms} --liveness {liveness} --slow-ms {slow_ms}",
            [ProgramRole.LpClient] = "{dotnet} {examples_dll} lpclient --endpoint {endpoint} --requests {requests} --timeout {timeout_ms} --retries {retries}",
            [ProgramRole.BstarServer] = "{dotnet} {examples_dll} bstarsrv --role {role} --frontend {frontend} --local {local} --remote {remote} --heartbeat {heartbeat_ms}",
            [ProgramRole.FlServer] = "{dotnet} {examples_dll} flserver --bind {bind}",
        };
    }

    private ChaosPrograms(ChaosPrograms other)
    {
        Dotnet = other.Dotnet;
        ExamplesDll = other.ExamplesDll;
        BrokerDll = other.BrokerDll;
        _templates = new Dictionary<ProgramRole, string>(other._templates);
    }

    /// <summary>The <c>dotnet</c> host used for the default templates.</summary>
    public string Dotnet { get; }

    /// <summary>The examples dll.</summary>
    public string ExamplesDll { get; }

    /// <summary>The broker service dll.</summary>
    public string BrokerDll { get; }

    /// <summary>The <c>titanic</c> service dll, built next to the broker service (which hosts Titanic too).</summary>
    public string TitanicDll => Path.Combine(Path.GetDirectoryName(BrokerDll) ?? ".", "titanic.dll");

    /// <summary>The template of a role.</summary>
    /// <param name="role">The role.</param>
    /// <returns>The template text.</returns>
    public string TemplateOf(ProgramRole role) => _templates[role];

    /// <summary>A copy with <paramref name="role"/> run by <paramref name="template"/> (whitespace-separated words; <c>{name}</c> placeholders).</summary>
    /// <param name="role">The role to replace.</param>
    /// <param name="template">The command template.</param>
    /// <returns>The new set of programs.</returns>
    public ChaosPrograms WithTemplate(ProgramRole role, string template)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(template);
        var copy = new ChaosPrograms(this);
        copy._templates[role] = template;
        return copy;
    }

    /// <summary>The command for <paramref name="role"/> with its placeholders filled in.</summary>
    /// <param name="role">The role.</param>
    /// <param name="values">Placeholder values (without braces).</param>
    /// <returns>The command.</returns>
    /// <exception cref="ArgumentException">The template uses a placeholder that has no value.</exception>
    public ProgramCommand Command(ProgramRole role, IReadOnlyDictionary<string, string> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var all = new Dictionary<string, string>(values, StringComparer.Ordinal)
        {
            ["dotnet"] = Dotnet,
            ["examples_dll"] = ExamplesDll,
            ["broker_dll"] = BrokerDll,
        };
        // A word that is only an "..._options" placeholder stands for as many words as its value has (none
        // too, also when no value is given).
        var words = _templates[role].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)
            .SelectMany(word => word.StartsWith('{') && word.EndsWith("_options}", StringComparison.Ordinal)
                ? all.GetValueOrDefault(word[1..^1], string.Empty).Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)
                : [Fill(word, all, role)])
            .ToList();
        return new ProgramCommand(words[0], words[1..]);
    }

    /// <summary>
    /// The default programs: the examples and the broker service, in this order of preference: the
    /// dlls named by <see cref="ExamplesDllVariable"/> and <see cref="BrokerDllVariable"/>; the ones
    /// built together with this kit (their paths are recorded in this assembly at build time); or,
    /// when those do not exist (the kit was copied elsewhere), the repository's projects built in
    /// Release into <c>artifacts/chaos-programs</c> (once per process; concurrent callers share it).
    /// </summary>
    /// <param name="log">Progress messages (the build takes a while the first time); none when null.</param>
    /// <param name="cancellationToken">Ends the build early.</param>
    /// <returns>The programs.</returns>
    /// <exception cref="InvalidOperationException">The repository was not found or the build failed.</exception>
    public static async Task<ChaosPrograms> PrepareAsync(TextWriter? log = null, CancellationToken cancellationToken = default)
    {
        await BuildGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_built is not null)
            {
                return _built;
            }

            string dotnet = FindDotnet();
            string? examples = Environment.GetEnvironmentVariable(ExamplesDllVariable);
            string? broker = Environment.GetEnvironmentVariable(BrokerDllVariable);

            // Normally the kit's own build built both programs and recorded where (see the csproj).
            examples = string.IsNullOrEmpty(examples) ? BuiltAlongside("Reliability.Examples.dll") : examples;
            broker = string.IsNullOrEmpty(broker) ? BuiltAlongside("mdbroker.dll") : broker;
            if (string.IsNullOrEmpty(examples) || string.IsNullOrEmpty(broker))
            {
                string root = FindRepositoryRoot()
                    ?? throw new InvalidOperationException($"Cannot find the repository (Reliability.sln) above '{Environment.CurrentDirectory}' or '{AppContext.BaseDirectory}'; set {ExamplesDllVariable} and {BrokerDllVariable}.");
                string artifacts = Path.Combine(root, "artifacts", "chaos-programs");
                Directory.CreateDirectory(artifacts);
                using (await LockAsync(Path.Combine(artifacts, ".build.lock"), cancellationToken).ConfigureAwait(false))
                {
                    foreach (string project in new[] { "examples/Reliability.Examples/Reliability.Examples.csproj", "Mdp/Reliability.Mdp.Broker/Reliability.Mdp.Broker.csproj" })
                    {
                        log?.WriteLine($"chaos: building {project} (Release) into {artifacts} ...");
                        await BuildAsync(dotnet, Path.Combine(root, project), artifacts, cancellationToken).ConfigureAwait(false);
                    }
                }

                examples = string.IsNullOrEmpty(examples) ? Path.Combine(artifacts, "bin", "Reliability.Examples", "release", "Reliability.Examples.dll") : examples;
                broker = string.IsNullOrEmpty(broker) ? Path.Combine(artifacts, "bin", "Reliability.Mdp.Broker", "release", "mdbroker.dll") : broker;
            }

            foreach (string dll in new[] { examples, broker })
            {
                if (!File.Exists(dll))
                {
                    throw new InvalidOperationException($"Program '{dll}' does not exist.");
                }
            }

            return _built = new ChaosPrograms(dotnet, examples, broker);
        }
        finally
        {
            BuildGate.Release();
        }
    }

    /// <summary>The repository root above the current directory or this assembly, or null.</summary>
    /// <returns>The directory that holds <c>Reliability.sln</c>.</returns>
    public static string? FindRepositoryRoot()
    {
        foreach (string start in new[] { Environment.CurrentDirectory, AppContext.BaseDirectory })
        {
            var directory = new DirectoryInfo(start);
            for (int depth = 0; directory is not null && depth < 12; depth++, directory = directory.Parent)
            {
                if (File.Exists(Path.Combine(directory.FullName, "Reliability.sln")))
                {
                    return directory.FullName;
                }
            }
        }

        return null;
    }

    private static string? BuiltAlongside(string fileName)
    {
        string key = "ChaosProgram:" + fileName;
        string? path = typeof(ChaosPrograms).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), inherit: false)
            .Cast<System.Reflection.AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == key)?.Value;
        return path is not null && File.Exists(path) ? path : null;
    }

    private static string Fill(string word, Dictionary<string, string> values, ProgramRole role)
    {
        var text = new StringBuilder(word.Length);
        int i = 0;
        while (i < word.Length)
        {
            int open = word.IndexOf('{', i);
            int close = open < 0 ? -1 : word.IndexOf('}', open + 1);
            if (open < 0 || close < 0)
            {
                text.Append(word, i, word.Length - i);
                break;
            }

            text.Append(word, i, open - i);
            string name = word[(open + 1)..close];
            text.Append(values.TryGetValue(name, out var value)
                ? value
                : throw new ArgumentException($"The {role} template uses {{{name}}}, which is not one of: {string.Join(", ", values.Keys.Order().Select(k => "{" + k + "}"))}."));
            i = close + 1;
        }

        return text.ToString();
    }

    private static string FindDotnet()
    {
        string? process = Environment.ProcessPath;
        if (process is not null && Path.GetFileNameWithoutExtension(process) == "dotnet")
        {
            return process;
        }

        string? host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (!string.IsNullOrEmpty(host) && File.Exists(host))
        {
            return host;
        }

        foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator))
        {
            string candidate = Path.Combine(directory, "dotnet");
            if (directory.Length > 0 && File.Exists(candidate))
            {
                return candidate;
            }
        }

        return "dotnet";
    }

    /// <summary>An exclusive lock across processes (two kit runs building the same folder at once would trip over each other).</summary>
    private static async Task<FileStream> LockAsync(string path, CancellationToken cancellationToken)
    {
        var waited = TimeProvider.System.GetTimestamp();
        for (int attempt = 0; ; attempt++)
        {
            try
            {
                return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            }
            catch (IOException) when (TimeProvider.System.GetElapsedTime(waited) < TimeSpan.FromMinutes(10) && attempt < 100_000)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(200), TimeProvider.System, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static async Task BuildAsync(string dotnet, string project, string artifacts, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(dotnet, ["build", project, "-c", "Release", "--artifacts-path", artifacts, "-nologo", "-v", "q", "-clp:ErrorsOnly"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };

        // Keep the build's long-lived helper processes (build servers) out of the kit's process tree.
        start.Environment["MSBUILDDISABLENODEREUSE"] = "1";
        start.Environment["DOTNET_CLI_USE_MSBUILD_SERVER"] = "0";
        start.Environment["UseSharedCompilation"] = "false";
        using var build = Process.Start(start) ?? throw new InvalidOperationException("cannot start dotnet build");
        var output = build.StandardOutput.ReadToEndAsync(cancellationToken);
        var errors = build.StandardError.ReadToEndAsync(cancellationToken);
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(TimeSpan.FromMinutes(10));
        try
        {
            await build.WaitForExitAsync(bounded.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            build.Kill(entireProcessTree: true);
            throw;
        }

        if (build.ExitCode != 0)
        {
            throw new InvalidOperationException($"dotnet build {project} failed (exit {build.ExitCode}):\n{await output.ConfigureAwait(false)}{await errors.ConfigureAwait(false)}");
        }
    }
}
