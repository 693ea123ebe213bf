using System.Globalization;
using Reliability.Fuzz;
using Reliability.Fuzz.Targets;

const string Usage = """
    usage: fuzz [run] [--target NAME|all] [--inputs N] [--seconds S] [--seed N] [--corpus DIR] [--findings DIR] [--hang-ms MS]
           fuzz list
           fuzz seed --corpus DIR
           fuzz replay --target NAME FILE...
    run      mutates each target's corpus and feeds it the inputs (default: all targets, 100000 inputs each,
             seed 1, corpus fuzz/corpus when it exists, findings written to fuzz-findings/)
    list     the targets and what each one covers
    seed     writes the built-in seeds of every target to DIR/<target>/ (a corpus for AFL or libFuzzer too)
    replay   runs FILEs once each through a target (a finding or a regression input)
    Exit codes: 0 nothing found, 1 findings, 2 bad arguments.
    """;

var positional = new List<string>();
var options = new Dictionary<string, string>(StringComparer.Ordinal);
for (int i = 0; i < args.Length; i++)
{
    if (args[i] is "--help" or "-h")
    {
        Console.WriteLine(Usage);
        return 0;
    }

    if (args[i].StartsWith("--", StringComparison.Ordinal))
    {
        if (i + 1 >= args.Length)
        {
            return Fail($"option '{args[i]}' needs a value");
        }

        options[args[i][2..]] = args[++i];
    }
    else
    {
        positional.Add(args[i]);
    }
}

string command = positional.Count > 0 && positional[0] is "run" or "list" or "seed" or "replay" ? positional[0] : "run";
var files = positional.SkipWhile(p => p == command).ToList();
string[] known = command switch
{
    "run" => ["target", "inputs", "seconds", "seed", "corpus", "findings", "hang-ms"],
    "seed" => ["corpus"],
    "replay" => ["target"],
    _ => [],
};
if (options.Keys.FirstOrDefault(k => !known.Contains(k)) is { } unknown)
{
    return Fail($"unknown option '--{unknown}' for '{command}'");
}

if (command != "replay" && files.Count > 0)
{
    return Fail($"unexpected argument '{files[0]}'");
}

switch (command)
{
    case "list":
        foreach (var target in TargetCatalog.All)
        {
            Console.WriteLine($"{target.Name,-14} {target.Description}");
        }

        return 0;

    case "seed":
        if (!options.TryGetValue("corpus", out var seedDirectory))
        {
            return Fail("seed needs --corpus DIR");
        }

        foreach (var target in TargetCatalog.All)
        {
            string directory = Path.Combine(seedDirectory, target.Name);
            Directory.CreateDirectory(directory);
            int n = 0;
            foreach (var seed in target.Seeds())
            {
                File.WriteAllBytes(Path.Combine(directory, $"seed-{n++:D3}.bin"), seed);
            }

            Console.WriteLine($"fuzz: {target.Name}: {n} seeds in {directory}");
        }

        return 0;

    case "replay":
        var replayed = options.TryGetValue("target", out var replayName) ? TargetCatalog.Find(replayName) : null;
        if (replayed is null || files.Count == 0)
        {
            return Fail("replay needs --target NAME (see 'fuzz list') and at least one FILE");
        }

        var missing = files.FirstOrDefault(f => !File.Exists(f));
        if (missing is not null)
        {
            return Fail($"no such file '{missing}'");
        }

        var replay = FuzzRunner.Run(replayed, files.Select(File.ReadAllBytes).ToList(), new FuzzSettings { Inputs = files.Count });
        Print(replay, null);
        return replay.Findings.Count == 0 ? 0 : 1;
}

string targetName = options.GetValueOrDefault("target", "all");
var targets = targetName == "all" ? TargetCatalog.All : TargetCatalog.Find(targetName) is { } one ? [one] : [];
if (targets.Count == 0)
{
    return Fail($"unknown target '{targetName}' (targets: {string.Join(", ", TargetCatalog.All.Select(t => t.Name))}, all)");
}

var settings = new FuzzSettings();
if (!TryNumber("inputs", 1, long.MaxValue, out long inputs) || !TryNumber("seconds", 1, int.MaxValue, out long seconds)
    || !TryNumber("seed", int.MinValue, int.MaxValue, out long seedNumber) || !TryNumber("hang-ms", 10, int.MaxValue, out long hangMs))
{
    return 2;
}

settings = settings with
{
    Inputs = options.ContainsKey("inputs") ? inputs : settings.Inputs,
    Duration = options.ContainsKey("seconds") ? TimeSpan.FromSeconds(seconds) : null,
    Seed = options.ContainsKey("seed") ? (int)seedNumber : settings.Seed,
    HangLimit = options.ContainsKey("hang-ms") ? TimeSpan.FromMilliseconds(hangMs) : settings.HangLimit,
};
if (options.ContainsKey("seconds") && !options.ContainsKey("inputs"))
{
    settings = settings with { Inputs = long.MaxValue };
}

string? corpusDirectory = options.GetValueOrDefault("corpus") ?? (Directory.Exists(Path.Combine("fuzz", "corpus")) ? Path.Combine("fuzz", "corpus") : null);
if (corpusDirectory is not null && !Directory.Exists(corpusDirectory))
{
    return Fail($"no corpus directory '{corpusDirectory}'");
}

string findingsDirectory = options.GetValueOrDefault("findings", "fuzz-findings");
long total = 0;
int findings = 0;
foreach (var target in targets)
{
    var report = FuzzRunner.Run(target, TargetCatalog.Corpus(target, corpusDirectory), settings);
    Print(report, findingsDirectory);
    total += report.Inputs;
    findings += report.Findings.Count;
    if (report.Findings.Any(f => f.Kind == FindingKind.Hang))
    {
        // The hung input still holds its thread: the remaining targets would share the process with it.
        break;
    }
}

Console.WriteLine($"fuzz: {targets.Count} targets, {total} inputs, {findings} findings");
return findings == 0 ? 0 : 1;

bool TryNumber(string name, long min, long max, out long value)
{
    value = 0;
    if (!options.TryGetValue(name, out var text))
    {
        return true;
    }

    if (long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value) && value >= min && value <= max)
    {
        return true;
    }

    Fail($"--{name}: '{text}' is not a whole number from {min} to {max}");
    return false;
}

static void Print(FuzzReport report, string? findingsDirectory)
{
    Console.WriteLine(report);
    foreach (var finding in report.Findings)
    {
        string saved = string.Empty;
        if (findingsDirectory is not null)
        {
            Directory.CreateDirectory(findingsDirectory);
            string path = Path.Combine(findingsDirectory, $"{report.Target}-{finding.Kind.ToString().ToLowerInvariant()}-{finding.InputNumber}.bin");
            File.WriteAllBytes(path, finding.Input);
            saved = $" (saved as {path})";
        }

        string firstLine = finding.Detail.Split('\n')[0].Trim();
        Console.WriteLine($"  {finding.Kind} at input {finding.InputNumber}{saved}: {firstLine}");
    }
}

static int Fail(string problem)
{
    Console.Error.WriteLine($"fuzz: {problem}");
    Console.Error.WriteLine("run 'fuzz --help' for usage");
    return 2;
}
