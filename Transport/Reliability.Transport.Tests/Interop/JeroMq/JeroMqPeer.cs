using System.Diagnostics;
using System.Threading.Channels;

namespace Reliability.Transport.Tests.Interop.JeroMq;

/// <summary>
/// Where Debian's JeroMQ (libjeromq-java, a ZMTP/2.0 implementation) and a JDK are, and the
/// compiled <c>JeroPeer.java</c>: compiled once per test run into a temporary folder.
/// </summary>
internal static class JeroMqEnvironment
{
    public const string Jar = "/usr/share/java/jeromq.jar";
    private const string Java = "/usr/bin/java";
    private const string Javac = "/usr/bin/javac";

    private static readonly Lazy<Task<string>> Compiled = new(CompileAsync);

    /// <summary>Null when JeroMQ and a JDK are installed, or under CI=true (a missing peer then fails the test).</summary>
    public static string? SkipReason =>
        (File.Exists(Jar) && File.Exists(Java) && File.Exists(Javac)) || Reliability.Testing.PyZmq.PyZmqEnvironment.IsCi
            ? null
            : $"JeroMQ interop needs {Jar} and a JDK ({Javac}); install libjeromq-java default-jdk-headless (scripts/test.sh does as root)";

    public static string JavaPath => Java;

    /// <summary>The folder holding JeroPeer.class.</summary>
    public static Task<string> ClassesAsync() => Compiled.Value;

    private static async Task<string> CompileAsync()
    {
        string output = Directory.CreateTempSubdirectory("jeropeer-").FullName;
        var start = new ProcessStartInfo(Javac) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in new[] { "-cp", Jar, "-d", output, Path.Combine(AppContext.BaseDirectory, "Interop", "JeroMq", "JeroPeer.java") })
        {
            start.ArgumentList.Add(argument);
        }

        using var javac = Process.Start(start) ?? throw new InvalidOperationException("javac did not start");
        var errors = javac.StandardError.ReadToEndAsync();
        await javac.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        if (javac.ExitCode != 0)
        {
            throw new InvalidOperationException("javac failed: " + await errors);
        }

        return output;
    }
}

/// <summary>A JeroMQ fact: skipped with a reason when JeroMQ or the JDK is missing (never under CI=true).</summary>
public sealed class JeroMqFactAttribute : FactAttribute
{
    public JeroMqFactAttribute() => Skip = JeroMqEnvironment.SkipReason;
}

/// <summary>One running JeroPeer (see JeroPeer.java for what each type does); killed on dispose.</summary>
internal sealed class JeroMqPeer : IAsyncDisposable
{
    private static readonly TimeSpan LineWait = TimeSpan.FromSeconds(30);
    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly List<string> _errors = [];

    private JeroMqPeer(Process process)
    {
        _process = process;
        _process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                _lines.Writer.TryComplete();
            }
            else
            {
                _lines.Writer.TryWrite(e.Data);
            }
        };
        _process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (_errors)
                {
                    _errors.Add(e.Data);
                }
            }
        };
    }

    /// <summary>Starts a peer of <paramref name="type"/> that binds (to a random port on 127.0.0.1) or connects to <paramref name="endpoint"/>.</summary>
    public static async Task<JeroMqPeer> StartAsync(string type, bool bind, string endpoint, int count)
    {
        string classes = await JeroMqEnvironment.ClassesAsync();
        var start = new ProcessStartInfo(JeroMqEnvironment.JavaPath) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "-cp", $"{JeroMqEnvironment.Jar}:{classes}", "JeroPeer", type, bind ? "bind" : "connect", endpoint, count.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(argument);
        }

        var peer = new JeroMqPeer(Process.Start(start) ?? throw new InvalidOperationException("java did not start"));
        peer._process.BeginOutputReadLine();
        peer._process.BeginErrorReadLine();
        return peer;
    }

    /// <summary>The next line the peer printed; fails with its stderr when it exits or stays silent.</summary>
    public async Task<string> ReadLineAsync()
    {
        using var cts = new CancellationTokenSource(LineWait);
        try
        {
            return await _lines.Reader.ReadAsync(cts.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException)
        {
            throw new InvalidOperationException($"JeroPeer printed nothing more ({ex.GetType().Name}); stderr: {Errors}", ex);
        }
    }

    /// <summary>For a binding peer: the port it bound.</summary>
    public async Task<int> PortAsync()
    {
        string line = await ReadLineAsync();
        line.Should().StartWith("PORT ", "JeroPeer announces its port first; stderr: {0}", Errors);
        return int.Parse(line["PORT ".Length..], System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <summary>The frames of the next message the peer received, as it printed them.</summary>
    public async Task<byte[][]> ReceivedAsync()
    {
        string line = await ReadLineAsync();
        line.Should().StartWith("MSG ", "stderr: {0}", Errors);
        return line["MSG ".Length..].Split(',').Select(h => h == "-" ? [] : Convert.FromHexString(h)).ToArray();
    }

    /// <summary>Waits for DONE and a clean exit.</summary>
    public async Task CompletedAsync()
    {
        (await ReadLineAsync()).Should().Be("DONE", "stderr: {0}", Errors);
        await _process.WaitForExitAsync().WaitAsync(LineWait);
        _process.ExitCode.Should().Be(0, "stderr: {0}", Errors);
    }

    private string Errors
    {
        get
        {
            lock (_errors)
            {
                return string.Join(" | ", _errors);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync().WaitAsync(LineWait);
        _process.Dispose();
    }
}
