using Reliability.Fuzz.Targets;

namespace Reliability.Fuzz.Tests;

/// <summary>
/// CI's short fuzzing budget: every target over the committed corpus and mutations of it. The long
/// runs (ten million inputs a target) are the <c>fuzz</c> program's, on demand (fuzz/README.md).
/// </summary>
public class TargetBudgetTests
{
    private const long InputsPerTarget = 20_000;

    private static readonly string CorpusDirectory = Path.Combine(AppContext.BaseDirectory, "corpus");

    public static TheoryData<string> Targets()
    {
        var names = new TheoryData<string>();
        foreach (var target in TargetCatalog.All)
        {
            names.Add(target.Name);
        }

        return names;
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void Target_ShortBudget_FindsNothing(string name)
    {
        var target = TargetCatalog.Find(name)!;

        var report = FuzzRunner.Run(target, TargetCatalog.Corpus(target, CorpusDirectory), new FuzzSettings { Inputs = InputsPerTarget, Seed = 20261207 });

        report.Findings.Should().BeEmpty(because: string.Join(Environment.NewLine, report.Findings.Select(f => $"{f.Kind} at {f.InputNumber} ({Convert.ToHexString(f.Input)}): {f.Detail}")));
        report.Inputs.Should().Be(InputsPerTarget);
    }

    [Theory]
    [MemberData(nameof(Targets))]
    public void Target_CommittedCorpus_HasSeedsForIt(string name)
    {
        Directory.GetFiles(Path.Combine(CorpusDirectory, name)).Should().NotBeEmpty("fuzz/corpus/{0} is the target's seed corpus; 'fuzz seed --corpus fuzz/corpus' writes it", name);
    }

    [Fact]
    public void Regressions_EveryInput_PassesItsTarget()
    {
        string root = Path.Combine(AppContext.BaseDirectory, "regressions");
        var inputs = Directory.Exists(root) ? Directory.GetFiles(root, "*.bin", SearchOption.AllDirectories) : [];
        foreach (string path in inputs)
        {
            string targetName = Path.GetFileName(Path.GetDirectoryName(path)!);
            var target = TargetCatalog.Find(targetName);
            target.Should().NotBeNull("regression input {0} sits in a folder named after its target", path);

            var report = FuzzRunner.Run(target!, [File.ReadAllBytes(path)], new FuzzSettings { Inputs = 1 });

            report.Findings.Should().BeEmpty("{0} once broke {1}", path, targetName);
        }
    }
}
