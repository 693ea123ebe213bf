using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;

namespace Reliability.Mdp.Tests.Adversarial;

/// <summary>
/// The real <c>mdbroker</c> program in a process of its own, so that its memory (RSS, from
/// <c>/proc</c>) is its alone: the log is drained and kept, and the process is stopped by SIGTERM or killed.
/// </summary>
internal sealed class BrokerProcess : IAsyncDisposable
{
    private static readonly TimeSpan StartWait = TimeSpan.FromSeconds(20);

    private readonly Process _process;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly TaskCompletionSource<string> _endpoint = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Task _drain;

    private BrokerProcess(Process process)
    {
        _process = process;
        _drain = Task.WhenAll(DrainAsync(process.StandardOutput), DrainAsync(process.StandardError));
    }

    /// <summary>Where the broker listens, e.g. <c>tcp://127.0.0.1:40123</c>.</summary>
    public string Endpoint { get; private set; } = string.Empty;

    /// <summary>The process id.</summary>
    public int Id => _process.Id;

    /// <summary>Whether the process has exited.</summary>
    public bool HasExited => _process.HasExited;

    /// <summary>Starts <c>mdbroker</c> on 127.0.0.1 (port 0) with <paramref name="args"/> added, and waits until it listens.</summary>
    public static async Task<BrokerProcess> StartAsync(params string[] args)
    {
        var start = MdbrokerProgram.StartInfo(["--bind", "tcp://127.0.0.1:0", .. args]);
        var broker = new BrokerProcess(Process.Start(start) ?? throw new InvalidOperationException("cannot start mdbroker"));
        try
        {
            broker.Endpoint = await broker._endpoint.Task.WaitAsync(StartWait);
        }
        catch
        {
            await broker.DisposeAsync();
            throw;
        }

        return broker;
    }

    /// <summary>The broker's resident set size now, in bytes.</summary>
    public long Rss()
    {
        foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line["VmRSS:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException("no VmRSS line");
    }

    /// <summary>Log lines (stdout and stderr) so far that contain <paramref name="text"/>.</summary>
    public int LinesContaining(string text) => _lines.Count(l => l.Contains(text, StringComparison.Ordinal));

    /// <summary>Every log line so far.</summary>
    public IReadOnlyCollection<string> Lines => _lines;

    /// <summary>Sends SIGTERM and returns how long the process took to exit.</summary>
    public async Task<TimeSpan> TerminateAsync()
    {
        long signalled = Stopwatch.GetTimestamp();
        if (MdbrokerProgram.Signal(_process.Id, MdbrokerProgram.Sigterm) != 0)
        {
            throw new InvalidOperationException("kill(SIGTERM) failed");
        }

        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        return Stopwatch.GetElapsedTime(signalled);
    }

    /// <summary>The exit code, once exited.</summary>
    public int ExitCode => _process.ExitCode;

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
        }

        await _drain.WaitAsync(TimeSpan.FromSeconds(10));
        _process.Dispose();
    }

    private async Task DrainAsync(StreamReader reader)
    {
        // Bounded by the process: the stream ends when it exits.
        while (await reader.ReadLineAsync() is { } line)
        {
            _lines.Enqueue(line);
            if (MdbrokerProgram.ListeningEndpoint(line) is { } endpoint)
            {
                _endpoint.TrySetResult(endpoint);
            }
        }

        _endpoint.TrySetException(new InvalidOperationException("mdbroker ended before it listened: " + string.Join(Environment.NewLine, _lines)));
    }
}
