using System.Diagnostics;
using System.IO.Compression;
using System.Text.RegularExpressions;
using System.Xml.Linq;

namespace Reliability.Mdp.Tests.Packaging;

/// <summary>
/// The packages as a user gets them: packs every packable project of the solution (from the build the
/// test run already made), checks their metadata, and builds and runs examples/package-consumer
/// against the packages in a folder outside the repository, so no project reference or repository
/// build setting can stand in for what the packages carry.
/// </summary>
public sealed class PackageTests : IDisposable
{
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(5);

    private static readonly string[] Packages = ["Reliability.Transport", "Reliability.Patterns", "Reliability.Mdp", "Reliability.Hosting", "Reliability.Mdp.Broker", "Reliability.Mdp.Titanic"];

    private static readonly string[] Libraries = ["Reliability.Transport", "Reliability.Patterns", "Reliability.Mdp", "Reliability.Hosting"];

    private readonly string _work = Directory.CreateTempSubdirectory("reliability-packages-").FullName;

    public void Dispose() => Directory.Delete(_work, recursive: true);

    [Fact]
    public async Task Pack_EveryPackage_HasMetadataDocsAndSymbols_AndASampleAppRunsOnThem()
    {
        string root = RepositoryRoot();
        string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Debug" : "Release";
        string feed = Path.Combine(_work, "feed");

        var pack = await RunAsync(root, "pack", Path.Combine(root, "Reliability.sln"), "-c", configuration, "--no-build", "-o", feed);
        pack.Code.Should().Be(0, pack.Output);

        string version = string.Empty;
        foreach (string id in Packages)
        {
            string package = Directory.GetFiles(feed, id + ".*.nupkg").Single(p => VersionOf(p, id) is not null);
            version = VersionOf(package, id)!;
            File.Exists(Path.ChangeExtension(package, ".snupkg")).Should().BeTrue("{0} ships its symbols", id);

            using var zip = ZipFile.OpenRead(package);
            var nuspec = XDocument.Load(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
            string Field(string name) => nuspec.Descendants().FirstOrDefault(e => e.Name.LocalName == name)?.Value ?? string.Empty;
            Field("license").Should().Be("MIT");
            Field("readme").Should().Be("README.md");
            Field("description").Should().NotBeNullOrWhiteSpace().And.NotBe("Package Description");
            Field("authors").Should().NotBe(id, "the authors are set, not defaulted to the package id");
            zip.GetEntry("README.md").Should().NotBeNull();
            if (Libraries.Contains(id))
            {
                zip.GetEntry($"lib/net10.0/{id}.xml").Should().NotBeNull("{0} carries its XML documentation", id);
            }
        }

        version.Should().NotBe("1.0.0", "the version comes from Directory.Build.props, not the SDK default");

        string app = Path.Combine(_work, "app");
        Directory.CreateDirectory(app);
        foreach (string file in new[] { "PackageConsumer.csproj", "Program.cs" })
        {
            File.Copy(Path.Combine(root, "examples", "package-consumer", file), Path.Combine(app, file));
        }

        // The local feed next to the user's own sources (for the packages' dependencies); a private
        // packages folder so that this run's packages never linger in the user's global cache.
        await File.WriteAllTextAsync(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <add key="reliability-local" value="{feed}" />
              </packageSources>
            </configuration>
            """);
        var run = await RunAsync(app, "run", "--project", app, $"-p:ReliabilityVersion={version}", "--packages", Path.Combine(_work, "packages"));
        run.Code.Should().Be(0, run.Output);
        run.Output.Should().Contain("package-consumer: hello from the packages");
    }

    private static string? VersionOf(string package, string id)
    {
        var match = Regex.Match(Path.GetFileName(package), "^" + Regex.Escape(id) + @"\.(\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?)\.nupkg$");
        return match.Success ? match.Groups[1].Value : null;
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "Reliability.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException("the test does not run inside the repository");
    }

    private static async Task<(int Code, string Output)> RunAsync(string directory, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = directory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // The sample must not see the repository's build: no inherited MSBuild state from the test host.
        start.Environment.Remove("MSBuildExtensionsPath");
        start.Environment.Remove("MSBUILD_EXE_PATH");
        start.Environment.Remove("MSBuildSDKsPath");
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(CommandTimeout);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"dotnet {string.Join(' ', arguments)} did not finish in {CommandTimeout}");
        }

        return (process.ExitCode, await output + await error);
    }
}
