using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text.RegularExpressions;

namespace Reliability.Mdp.Tests;

/// <summary>The real <c>mdbroker</c> program as the tests start and signal it (it is copied next to the test assembly).</summary>
internal static partial class MdbrokerProgram
{
    public const int Sigint = 2;
    public const int Sigterm = 15;

    /// <summary>How to run <c>mdbroker</c> with <paramref name="args"/> (and <paramref name="environment"/> set), output redirected.</summary>
    public static ProcessStartInfo StartInfo(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "mdbroker.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        return start;
    }

    /// <summary>The endpoint in the broker's "listening on" log line, or null for any other line.</summary>
    public static string? ListeningEndpoint(string line) => ListeningLine().Match(line) is { Success: true } match ? match.Groups[1].Value : null;

    /// <summary>Sends <paramref name="signal"/> to process <paramref name="pid"/>; 0 on success (POSIX kill).</summary>
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    public static extern int Signal(int pid, int signal);

    [GeneratedRegex(@"Majordomo broker listening on (tcp://[0-9.]+:[0-9]+)")]
    private static partial Regex ListeningLine();
}
