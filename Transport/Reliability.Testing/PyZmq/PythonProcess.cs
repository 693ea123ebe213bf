using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using System.Threading.Channels;

namespace Reliability.Testing.PyZmq;

/// <summary>
/// A Python script running as a child process with line-based stdin/stdout. It is always killed
/// and reaped on dispose (and, as a last resort, when the test process exits), so a failing test
/// never leaves a peer behind holding a port.
/// </summary>
public sealed class PythonProcess : IAsyncDisposable, IDisposable
{
    private const int StderrKeepChars = 64 * 1024;
    private static readonly TimeSpan ReapTimeout = TimeSpan.FromSeconds(10);
    private static readonly ConcurrentDictionary<int, PythonProcess> Live = new();
    private static int exitHookInstalled;

    private readonly Process _process;
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
    private readonly StringBuilder _stderr = new();
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private readonly Task _readerTask;
    private int _disposed;

    private PythonProcess(Process process, string description)
    {
        _process = process;
        Description = description;
        ProcessId = process.Id;
        _process.ErrorDataReceived += OnStderr;
        _process.BeginErrorReadLine();
        _readerTask = Task.Run(ReadStdoutAsync);
    }

    /// <summary>OS process id of the interpreter.</summary>
    public int ProcessId { get; }

    /// <summary>Script and arguments, for messages.</summary>
    public string Description { get; }

    /// <summary>True once the process has exited (it has been reaped when this is observed true after dispose).</summary>
    public bool HasExited
    {
        get
        {
            try
            {
                return _process.HasExited;
            }
            catch (InvalidOperationException)
            {
                return true;
            }
        }
    }

    /// <summary>Process ids of the Python processes started by this test process and not yet reaped.</summary>
    public static IReadOnlyCollection<int> LiveProcessIds => Live.Keys.ToArray();

    /// <summary>The last 64 KiB the process wrote to stderr (Python tracebacks end up here).</summary>
    public string StandardError
    {
        get
        {
            lock (_stderr)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <summary>Starts <c>python -u script args…</c> with <see cref="PyZmqEnvironment.PythonPath"/>.</summary>
    /// <param name="scriptPath">The script to run.</param>
    /// <param name="arguments">Command-line arguments for the script.</param>
    /// <param name="environment">Extra environment variables for the child, or null.</param>
    /// <returns>The running process.</returns>
    /// <exception cref="PyZmqUnavailableException">The interpreter is missing or cannot start.</exception>
    public static PythonProcess Start(string scriptPath, IEnumerable<string>? arguments = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(scriptPath);
        if (!File.Exists(scriptPath))
        {
            throw new FileNotFoundException($"Python script not found: {scriptPath}", scriptPath);
        }

        var python = PyZmqEnvironment.PythonPath;
        var start = new ProcessStartInfo(python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardInputEncoding = new UTF8Encoding(false),
            StandardOutputEncoding = new UTF8Encoding(false),
            StandardErrorEncoding = new UTF8Encoding(false),
            WorkingDirectory = Path.GetDirectoryName(Path.GetFullPath(scriptPath)) ?? AppContext.BaseDirectory,
        };

        // -u: unbuffered stdout, so every reply line is visible at once.
        start.ArgumentList.Add("-u");
        start.ArgumentList.Add(scriptPath);
        var args = arguments?.ToArray() ?? [];
        foreach (var argument in args)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["PYTHONDONTWRITEBYTECODE"] = "1";
        start.Environment["PYTHONUNBUFFERED"] = "1";
        if (environment is not null)
        {
            foreach (var (key, value) in environment)
            {
                start.Environment[key] = value;
            }
        }

        InstallExitHook();
        Process? process;
        try
        {
            process = Process.Start(start);
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new PyZmqUnavailableException($"cannot start {python}: {ex.Message}");
        }

        if (process is null)
        {
            throw new PyZmqUnavailableException($"cannot start {python}");
        }

        process.StandardInput.NewLine = "\n";
        process.StandardInput.AutoFlush = false;
        var description = string.Join(' ', new[] { Path.GetFileName(scriptPath) }.Concat(args));
        var result = new PythonProcess(process, description);
        Live[result.ProcessId] = result;
        return result;
    }

    /// <summary>Writes one line to the script's stdin.</summary>
    /// <param name="line">The line, without a newline.</param>
    /// <param name="timeout">Upper bound for the write (a child that stops reading would block it).</param>
    /// <returns>A task that completes when the line is flushed.</returns>
    /// <exception cref="TimeoutException">The child did not take the line in time.</exception>
    public async Task WriteLineAsync(string line, TimeSpan timeout)
    {
        ArgumentNullException.ThrowIfNull(line);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (!await _writeGate.WaitAsync(timeout).ConfigureAwait(false))
        {
            throw new TimeoutException($"{Description} (pid {ProcessId}): stdin busy for {timeout}");
        }

        try
        {
            var write = WriteCoreAsync(line);
            await write.WaitAsync(timeout).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new TimeoutException($"{Description} (pid {ProcessId}): writing to stdin took longer than {timeout}");
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>Reads the next stdout line.</summary>
    /// <param name="timeout">How long to wait.</param>
    /// <returns>The line, or null when stdout is closed (the process ended).</returns>
    /// <exception cref="TimeoutException">No line arrived in time.</exception>
    public async Task<string?> ReadLineAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            if (await _lines.Reader.WaitToReadAsync(cts.Token).ConfigureAwait(false) && _lines.Reader.TryRead(out var line))
            {
                return line;
            }

            return null;
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new TimeoutException($"{Description} (pid {ProcessId}): no stdout line within {timeout}. stderr: {Tail(StandardError)}");
        }
    }

    /// <summary>Waits for the process to end by itself.</summary>
    /// <param name="timeout">How long to wait.</param>
    /// <returns>The exit code.</returns>
    /// <exception cref="TimeoutException">It is still running.</exception>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            throw new TimeoutException($"{Description} (pid {ProcessId}) still running after {timeout}");
        }

        Live.TryRemove(ProcessId, out _);
        return _process.ExitCode;
    }

    /// <summary>Kills the process (SIGKILL) and waits until it has been reaped. Safe to call repeatedly.</summary>
    /// <returns>A task that completes once the process is gone.</returns>
    public async Task KillAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Already exited between the check and the kill.
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // Already exited between the check and the kill.
        }

        // WaitForExit is what reaps the child (waitpid) and drains the redirected streams.
        using var cts = new CancellationTokenSource(ReapTimeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{Description} (pid {ProcessId}) did not exit within {ReapTimeout} of SIGKILL");
        }

        Live.TryRemove(ProcessId, out _);
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        try
        {
            await KillAsync().ConfigureAwait(false);
            await _readerTask.WaitAsync(ReapTimeout).ConfigureAwait(false);
        }
        finally
        {
            _process.ErrorDataReceived -= OnStderr;
            _process.Dispose();
            _writeGate.Dispose();
        }
    }

    /// <inheritdoc />
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    internal static string Tail(string text, int max = 2000) =>
        text.Length <= max ? text : "…" + text[^max..];

    private static void InstallExitHook()
    {
        if (Interlocked.Exchange(ref exitHookInstalled, 1) != 0)
        {
            return;
        }

        // Last resort: a test host that ends without disposing (crash, abort) still takes its peers down.
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var child in Live.Values)
            {
                try
                {
                    child._process.Kill(entireProcessTree: true);
                    child._process.WaitForExit(1000);
                }
                catch (Exception ex) when (ex is InvalidOperationException or System.ComponentModel.Win32Exception)
                {
                    // Already gone.
                }
            }
        };
    }

    private async Task WriteCoreAsync(string line)
    {
        var stdin = _process.StandardInput;
        await stdin.WriteLineAsync(line).ConfigureAwait(false);
        await stdin.FlushAsync().ConfigureAwait(false);
    }

    private async Task ReadStdoutAsync()
    {
        try
        {
            // Bounded by the child's lifetime: ReadLineAsync returns null at EOF.
            while (await _process.StandardOutput.ReadLineAsync().ConfigureAwait(false) is { } line)
            {
                _lines.Writer.TryWrite(line);
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The process was killed under the reader.
        }
        finally
        {
            _lines.Writer.TryComplete();
        }
    }

    private void OnStderr(object sender, DataReceivedEventArgs e)
    {
        if (e.Data is null)
        {
            return;
        }

        lock (_stderr)
        {
            _stderr.Append(e.Data).Append('\n');
            if (_stderr.Length > StderrKeepChars)
            {
                _stderr.Remove(0, _stderr.Length - StderrKeepChars);
            }
        }
    }
}
