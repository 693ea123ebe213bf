namespace Reliability.Chaos.Processes;

/// <summary>
/// How to start one child program: an executable, its arguments and extra environment variables.
/// Immutable, so a crashed child can be restarted with exactly the same command.
/// </summary>
public sealed record ProgramCommand
{
    /// <summary>Creates a command.</summary>
    /// <param name="fileName">The executable (an absolute path or a name found on PATH).</param>
    /// <param name="arguments">Its arguments, passed as they are (no shell).</param>
    public ProgramCommand(string fileName, IReadOnlyList<string> arguments)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(fileName);
        ArgumentNullException.ThrowIfNull(arguments);
        FileName = fileName;
        Arguments = arguments;
    }

    /// <summary>The executable.</summary>
    public string FileName { get; }

    /// <summary>The arguments.</summary>
    public IReadOnlyList<string> Arguments { get; }

    /// <summary>Extra environment variables for the child (added to the kit's own environment).</summary>
    public IReadOnlyDictionary<string, string> Environment { get; init; } = new Dictionary<string, string>();

    /// <summary>Working directory; the kit's current directory when null.</summary>
    public string? WorkingDirectory { get; init; }

    /// <summary>The same command with more arguments appended.</summary>
    /// <param name="more">Arguments to append.</param>
    /// <returns>A new command.</returns>
    public ProgramCommand WithArguments(params IEnumerable<string> more) =>
        new(FileName, [.. Arguments, .. more]) { Environment = Environment, WorkingDirectory = WorkingDirectory };

    /// <summary>A shell-like rendering, for logs and reproduction steps.</summary>
    /// <returns>The command line.</returns>
    public override string ToString() =>
        string.Join(' ', new[] { FileName }.Concat(Arguments).Select(Quote));

    private static string Quote(string value) =>
        value.Length > 0 && value.All(c => char.IsLetterOrDigit(c) || "-_./:=,@+".Contains(c, StringComparison.Ordinal))
            ? value
            : "'" + value.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
