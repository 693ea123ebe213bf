using System.Globalization;
using System.Text;
using Reliability.Chaos.Scenarios;
using Reliability.Chaos.Workload;

namespace Reliability.Chaos.Reporting;

/// <summary>The report of a run: a Markdown file with an SVG chart per scenario, a summary table, and the one-line verdict.</summary>
public static class ChaosReport
{
    private static readonly string[] Header = ["scenario", "result", "requests", "answered", "failed", "wrong replies", "max recovery"];

    /// <summary>
    /// The verdict line the command line ends with:
    /// <c>chaos: S scenarios, R requests, A answered, F failed, W wrong replies</c>.
    /// </summary>
    /// <param name="results">Every scenario result.</param>
    /// <returns>The line.</returns>
    public static string SummaryLine(IReadOnlyList<ScenarioResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        return string.Create(
            CultureInfo.InvariantCulture,
            $"chaos: {results.Count} scenarios, {results.Sum(r => r.RequestCount)} requests, {results.Sum(r => r.Answered)} answered, {results.Sum(r => r.Failed + r.Lost)} failed, {results.Sum(r => r.WrongReplies)} wrong replies");
    }

    /// <summary>The summary table (scenario, requests, answered, failed, wrong replies, max recovery time), aligned for a terminal.</summary>
    /// <param name="results">Every scenario result.</param>
    /// <returns>The table, one line per scenario plus a header.</returns>
    public static string SummaryTable(IReadOnlyList<ScenarioResult> results)
    {
        ArgumentNullException.ThrowIfNull(results);
        var rows = new List<string[]> { Header };
        foreach (var r in results)
        {
            rows.Add(
            [
                r.Name,
                r.Passed ? "ok" : "FAILED",
                Count(r.RequestCount),
                Count(r.Answered),
                Count(r.Failed + r.Lost),
                Count(r.WrongReplies),
                r.MaxRecoveryMs is { } ms ? Ms(ms) : "-",
            ]);
        }

        int[] widths = [.. Enumerable.Range(0, rows[0].Length).Select(c => rows.Max(row => row[c].Length))];
        var text = new StringBuilder();
        for (int i = 0; i < rows.Count; i++)
        {
            var row = rows[i];
            text.Append(row[0].PadRight(widths[0])).Append("  ").Append(row[1].PadRight(widths[1]));
            for (int c = 2; c < row.Length; c++)
            {
                text.Append("  ").Append(row[c].PadLeft(widths[c]));
            }

            text.Append('\n');
            if (i == 0)
            {
                text.Append(new string('-', widths.Sum() + (2 * (widths.Length - 1)))).Append('\n');
            }
        }

        return text.ToString();
    }

    /// <summary>Writes <c>report.md</c> and one <c>NAME.svg</c> per scenario into <paramref name="directory"/>.</summary>
    /// <param name="directory">The report folder (created if needed).</param>
    /// <param name="title">The report's title (for example <c>short profile</c>).</param>
    /// <param name="results">Every scenario result.</param>
    /// <returns>The path of <c>report.md</c>.</returns>
    public static string Write(string directory, string title, IReadOnlyList<ScenarioResult> results)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ArgumentNullException.ThrowIfNull(results);
        Directory.CreateDirectory(directory);
        var md = new StringBuilder();
        md.Append(CultureInfo.InvariantCulture, $"# Chaos report: {title}\n\n");
        md.Append(CultureInfo.InvariantCulture, $"{TimeProvider.System.GetUtcNow():yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, .NET {Environment.Version}.\n\n");
        md.Append('`').Append(SummaryLine(results)).Append("` — ")
            .Append(results.All(r => r.Passed) ? "**every invariant held**" : $"**{results.Count(r => !r.Passed)} scenario(s) failed an invariant**").Append("\n\n");
        md.Append("| Scenario | Result | Requests | Answered | Failed | Wrong replies | Retries | p50 | p99 | Max latency | Max recovery | Duration |\n");
        md.Append("|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n");
        foreach (var r in results)
        {
            md.Append(CultureInfo.InvariantCulture, $"| [{r.Name}](#{r.Name}) | {(r.Passed ? "✅ passed" : "❌ **failed**")} | {r.RequestCount} | {r.Answered} | {r.Failed + r.Lost} | {r.WrongReplies} | {r.Retries} | {Ms(r.LatencyPercentile(50))} | {Ms(r.LatencyPercentile(99))} | {Ms(r.LatencyPercentile(100))} | {(r.MaxRecoveryMs is { } m ? Ms(m) : "-")} | {r.Duration.TotalSeconds:F1} s |\n");
        }

        foreach (var r in results)
        {
            string svgName = r.Name + ".svg";
            File.WriteAllText(Path.Combine(directory, svgName), SvgChart.Render(r));
            md.Append(CultureInfo.InvariantCulture, $"\n## {r.Name}\n\n{(r.Passed ? "✅ passed" : "❌ **failed**")}. {r.Description}\n\n");
            if (r.Error is not null)
            {
                md.Append("**The scenario could not run:** ").Append(r.Error.Replace("\n", "\n    ", StringComparison.Ordinal)).Append("\n\n");
            }

            if (r.Deployment.Length > 0)
            {
                md.Append(r.Deployment).Append("\n\nworkload client: ").Append(r.Client).Append(CultureInfo.InvariantCulture, $"; seed {r.Seed}; the kit's longest scheduling stall {r.KitLagMs:F0} ms\n\n");
            }

            md.Append("![latency over time](").Append(svgName).Append(")\n\n");
            if (r.Faults.Count > 0)
            {
                md.Append("| Fault | Injected | Healed | In flight | Worst in-flight latency | Longest stall | Recovery | Serving again |\n|---|--:|--:|--:|--:|--:|--:|--:|\n");
                foreach (var f in r.Faults)
                {
                    md.Append(CultureInfo.InvariantCulture, $"| {f.Name}{(f.Error is null ? string.Empty : " — **" + f.Error + "**")} | {f.StartMs / 1000:F2} s | {f.EndMs / 1000:F2} s | {f.InFlightAtStart} | {Opt(f.WorstInFlightMs)} | {Opt(f.StalledMs)} | {Opt(f.RecoveryMs)} | {Opt(f.ReRegistrationMs)} |\n");
                }

                md.Append("\n*Recovery*: from the heal (or the injection, for faults without one) to the next correct reply. *Longest stall*: the longest time without any correct reply from the injection until then. *Serving again*: probe (MMI `mmi.service` = 200, or an echo) succeeding after the heal.\n\n");
            }

            foreach (var invariant in r.Invariants)
            {
                md.Append(invariant.Held ? "- ✅ " : "- ❌ **").Append(invariant.Name).Append(invariant.Held ? string.Empty : "**").Append(": ").Append(invariant.Detail).Append('\n');
            }

            var bad = r.Requests.Where(q => q.Outcome != RequestOutcome.Answered).OrderBy(q => q.StartMs).Take(10).ToList();
            if (bad.Count > 0)
            {
                md.Append("\nFirst requests that were not answered correctly:\n\n");
                foreach (var q in bad)
                {
                    md.Append(CultureInfo.InvariantCulture, $"- `{q.Id}` sent at {q.StartMs / 1000:F2} s, {q.Outcome} after {Ms(q.LatencyMs)}: {q.Detail}\n");
                }
            }

            if (r.Notes.Count > 0)
            {
                md.Append("\n<details><summary>Timeline</summary>\n\n");
                foreach (string note in r.Notes)
                {
                    md.Append("- ").Append(note).Append('\n');
                }

                md.Append("\n</details>\n");
            }

            if (r.LogDirectory is not null)
            {
                md.Append("\nProcess output: `").Append(r.LogDirectory).Append("`\n");
            }
        }

        string path = Path.Combine(directory, "report.md");
        File.WriteAllText(path, md.ToString());
        return path;
    }

    private static string Opt(double? ms) => ms is { } value ? Ms(value) : "-";

    private static string Count(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Ms(double ms) => ms.ToString("F0", CultureInfo.InvariantCulture) + " ms";
}
