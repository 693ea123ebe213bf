namespace Reliability.Fuzz.Targets;

/// <summary>Every fuzz target, by name.</summary>
internal static class TargetCatalog
{
    public static IReadOnlyList<FuzzTarget> All { get; } =
    [
        TransportTargets.Greeting(),
        TransportTargets.Frames(),
        TransportTargets.HandshakeCommands(),
        CurveTargets.Handshake(),
        MessageTargets.Majordomo(),
        MessageTargets.Pirate(),
        MessageTargets.Freelance(),
        MessageTargets.Titanic(),
        MessageTargets.BinaryStar(),
        MessageTargets.Z85Text(),
    ];

    public static FuzzTarget? Find(string name) => All.FirstOrDefault(t => t.Name == name);

    /// <summary>The target's built-in seeds followed by the files of <paramref name="corpusDirectory"/>/<c>name</c>, if any.</summary>
    public static IReadOnlyList<byte[]> Corpus(FuzzTarget target, string? corpusDirectory)
    {
        var corpus = target.Seeds().ToList();
        string? directory = corpusDirectory is null ? null : Path.Combine(corpusDirectory, target.Name);
        if (directory is not null && Directory.Exists(directory))
        {
            corpus.AddRange(Directory.GetFiles(directory).Order(StringComparer.Ordinal).Select(File.ReadAllBytes));
        }

        // The committed corpus holds the built-in seeds too (for external fuzzers): keep each input once.
        return corpus.DistinctBy(Convert.ToHexString).ToList();
    }
}
