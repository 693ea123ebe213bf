using System.Globalization;
using Reliability.Chaos.Processes;
using Reliability.Chaos.Reporting;
using Reliability.Chaos.Scenarios;

namespace Reliability.Chaos.Cli;

/// <summary>The command line: <c>run</c>, <c>demo</c> and <c>list</c>.</summary>
public static class ChaosCommandLine
{
    /// <summary>The usage text.</summary>
    public const string Usage = """
        usage: Reliability.Chaos <command> [options]

          run  --profile short|long [--scenario NAME]... [--seed N] [--report DIR]
               [--worker-command TEMPLATE] [--broker-command TEMPLATE] [--ppp-worker-command TEMPLATE] [--queue-command TEMPLATE]
               Runs the fault-injection scenarios and ends with
               "chaos: S scenarios, R requests, A answered, F failed, W wrong replies";
               exit code 0 only when every invariant held.
          demo [--requests N] [--report DIR]
               Broker, workers and clients on loopback with a live progress display while a worker is
               killed, the broker restarted and the network partitioned; ends with the summary table.
          list [--profile short|long]
               Names and descriptions of the scenarios.

        Templates point a role at your own program; placeholders: {endpoint} {service} {heartbeat_ms}
        {liveness} {slow_ms} {mdp} for workers, {bind} {port} {frontend} {backend} {heartbeat_ms}
        {liveness} for brokers and queues. Workers must echo the request body.
        Example: --worker-command "python3 my_worker.py {endpoint} {service}"
        """;

    /// <summary>Runs the command line.</summary>
    /// <param name="args">The arguments.</param>
    /// <param name="output">Where results go (stdout).</param>
    /// <param name="cancellationToken">Cancelled by Ctrl-C or SIGTERM; every child is still reaped.</param>
    /// <returns>The exit code: 0 success, 1 an invariant failed, 2 bad usage.</returns>
    public static async Task<int> RunAsync(string[] args, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(output);
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            output.WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }

        Options options;
        try
        {
            options = Options.Parse(args[1..]);
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine($"chaos: {ex.Message}");
            Console.Error.WriteLine(Usage);
            return 2;
        }

        int orphans = ProcessSupervisor.SweepOrphans();
        if (orphans > 0)
        {
            output.WriteLine($"chaos: killed {orphans} process(es) left behind by an earlier, interrupted run");
        }

        switch (args[0])
        {
            case "list":
                foreach (var scenario in ScenarioCatalog.For(options.Profile, options.Seed))
                {
                    output.WriteLine($"{scenario.Name,-28} {scenario.Description}");
                }

                return 0;
            case "run":
                return await RunScenariosAsync(options, output, cancellationToken).ConfigureAwait(false);
            case "demo":
                var programs = await ChaosPrograms.PrepareAsync(output, cancellationToken).ConfigureAwait(false);
                return await Demo.RunAsync(programs, options.Requests, options.ReportDirectory ?? DefaultReportDirectory("demo"), output, cancellationToken).ConfigureAwait(false);
            default:
                Console.Error.WriteLine($"chaos: unknown command '{args[0]}'");
                Console.Error.WriteLine(Usage);
                return 2;
        }
    }

    private static async Task<int> RunScenariosAsync(Options options, TextWriter output, CancellationToken cancellationToken)
    {
        var all = ScenarioCatalog.For(options.Profile, options.Seed);
        var unknown = options.Scenarios.Where(n => all.All(s => s.Name != n)).ToList();
        if (unknown.Count > 0)
        {
            Console.Error.WriteLine($"chaos: unknown scenario(s) {string.Join(", ", unknown)}; known: {string.Join(", ", all.Select(s => s.Name))}");
            return 2;
        }

        var selected = options.Scenarios.Count == 0 ? all : [.. all.Where(s => options.Scenarios.Contains(s.Name))];
        var programs = await ChaosPrograms.PrepareAsync(output, cancellationToken).ConfigureAwait(false);
        programs = options.ApplyTemplates(programs);
        string reportDirectory = options.ReportDirectory ?? DefaultReportDirectory(options.Profile.ToString().ToLowerInvariant());
        var runner = new ScenarioRunner(programs, Path.Combine(reportDirectory, "logs"), output);
        var results = new List<ScenarioResult>();
        foreach (var scenario in selected)
        {
            cancellationToken.ThrowIfCancellationRequested();
            results.Add(await runner.RunAsync(scenario, cancellationToken: cancellationToken).ConfigureAwait(false));
        }

        string report = ChaosReport.Write(reportDirectory, $"{options.Profile.ToString().ToLowerInvariant()} profile", results);
        output.WriteLine();
        output.Write(ChaosReport.SummaryTable(results));
        foreach (var failed in results.Where(r => !r.Passed))
        {
            output.WriteLine($"{failed.Name}: {failed.Error ?? string.Join("; ", failed.Invariants.Where(i => !i.Held).Select(i => $"{i.Name}: {i.Detail}"))}");
        }

        output.WriteLine($"report: {report}");
        output.WriteLine(ChaosReport.SummaryLine(results));
        return results.All(r => r.Passed) ? 0 : 1;
    }

    private static string DefaultReportDirectory(string name) =>
        Path.Combine(ChaosPrograms.FindRepositoryRoot() ?? Environment.CurrentDirectory, "reports", "chaos-" + name);

    private sealed class Options
    {
        public Profile Profile { get; private set; } = Profile.Short;

        public List<string> Scenarios { get; } = [];

        public int Seed { get; private set; } = 1;

        public int Requests { get; private set; } = Demo.DefaultRequests;

        public string? ReportDirectory { get; private set; }

        public Dictionary<ProgramRole, string> Templates { get; } = [];

        public static Options Parse(string[] args)
        {
            var options = new Options();
            for (int i = 0; i < args.Length; i++)
            {
                string name = args[i];
                string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"option '{name}' needs a value");
                switch (name)
                {
                    case "--profile":
                        options.Profile = Value() switch
                        {
                            "short" => Profile.Short,
                            "long" => Profile.Long,
                            var other => throw new ArgumentException($"--profile must be short or long (was '{other}')"),
                        };
                        break;
                    case "--scenario":
                        options.Scenarios.Add(Value());
                        break;
                    case "--seed":
                        options.Seed = Integer(name, Value(), 0, int.MaxValue - 1);
                        break;
                    case "--requests":
                        options.Requests = Integer(name, Value(), 10, 1_000_000);
                        break;
                    case "--report":
                        options.ReportDirectory = Path.GetFullPath(Value());
                        break;
                    case "--worker-command":
                        options.Templates[ProgramRole.MdpWorker] = Value();
                        break;
                    case "--broker-command":
                        options.Templates[ProgramRole.MdpBroker] = Value();
                        break;
                    case "--ppp-worker-command":
                        options.Templates[ProgramRole.PppWorker] = Value();
                        break;
                    case "--queue-command":
                        options.Templates[ProgramRole.PppQueue] = Value();
                        break;
                    default:
                        throw new ArgumentException($"unknown option '{name}'");
                }
            }

            return options;
        }

        public ChaosPrograms ApplyTemplates(ChaosPrograms programs)
        {
            foreach (var (role, template) in Templates)
            {
                programs = programs.WithTemplate(role, template);
            }

            return programs;
        }

        private static int Integer(string name, string text, int min, int max) =>
            int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) && value >= min && value <= max
                ? value
                : throw new ArgumentException($"{name} must be an integer in {min}..{max} (was '{text}')");
    }
}
