using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Reliability.Chaos.Processes;

/// <summary>
/// One child process started by a <see cref="ProcessSupervisor"/>: its PID, captured output lines
/// (stdout and stderr, stderr prefixed with <c>[err] </c>), signals, and waits for output or exit
/// that are always bounded in time.
/// </summary>
public sealed class ChildProcess : IDisposable
{
    // Enough for every log line of a scenario's child; beyond it the oldest lines are dropped.
    private const int MaxKeptLines = 50_000;

    private readonly Process _process;
    private readonly object _gate = new();
    private readonly List<string> _lines = [];
    private readonly List<(Regex Pattern, TaskCompletionSource<string> Done)> _waiters = [];
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _drained = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly StreamWriter? _log;
    private readonly TimeProvider _timeProvider;
    private readonly string _markerEntry;
    private long _droppedLines;
    private int _exitCode = int.MinValue;
    private volatile bool _paused;
    private volatile bool _exitRequested;
    private bool _disposed;
    private bool _outputClosed;

    internal ChildProcess(string name, int generation, ProgramCommand command, string marker, string? logDirectory, TimeProvider timeProvider)
    {
        Name = name;
        Generation = generation;
        Command = command;
        _timeProvider = timeProvider;
        _markerEntry = ProcessSupervisor.MarkerVariable + "=" + marker;
        var start = new ProcessStartInfo(command.FileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = command.WorkingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (string argument in command.Arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in command.Environment)
        {
            start.Environment[key] = value;
        }

        start.Environment[ProcessSupervisor.MarkerVariable] = marker;
        if (logDirectory is not null)
        {
            Directory.CreateDirectory(logDirectory);
            LogPath = Path.Combine(logDirectory, $"{name}.{generation}.log");
            _log = new StreamWriter(LogPath, append: false) { AutoFlush = true };
            _log.WriteLine("# " + command);
        }

        _process = new Process { StartInfo = start, EnableRaisingEvents = true };
        _process.OutputDataReceived += (_, e) => OnLine(e.Data, isError: false);
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data, isError: true);
        _process.Exited += (_, _) => OnExited();
        StartedAt = timeProvider.GetTimestamp();
        _process.Start();
        Pid = _process.Id;
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        if (_process.HasExited)
        {
            OnExited();
        }
    }

    /// <summary>The logical name (for example <c>worker-2</c>); a restarted child keeps its name.</summary>
    public string Name { get; }

    /// <summary>1 for the first start, 2 after the first restart, and so on.</summary>
    public int Generation { get; }

    /// <summary>The command the child was started with.</summary>
    public ProgramCommand Command { get; }

    /// <summary>The process id.</summary>
    public int Pid { get; }

    /// <summary>When it was started (<see cref="TimeProvider.GetTimestamp"/> of the supervisor's clock).</summary>
    public long StartedAt { get; }

    /// <summary>The file its output is copied to, when the supervisor has a log directory.</summary>
    public string? LogPath { get; }

    /// <summary>True once the process has exited (and been reaped).</summary>
    public bool HasExited => _exited.Task.IsCompleted;

    /// <summary>The exit code, or null while it runs. A process killed by a signal reports 128 + the signal number.</summary>
    public int? ExitCode => HasExited ? _exitCode : null;

    /// <summary>True between <see cref="Pause"/> and <see cref="Resume"/>.</summary>
    public bool IsPaused => _paused;

    /// <summary>True when the kit itself killed or terminated the process; false for an exit the child chose (or a crash).</summary>
    public bool ExitRequested => _exitRequested;

    /// <summary>A task that completes when the process has exited.</summary>
    public Task Exited => _exited.Task;

    /// <summary>A task that completes when the process has exited and all its output lines are captured.</summary>
    public Task OutputClosed => _drained.Task;

    /// <summary>Number of output lines captured so far (including dropped old ones).</summary>
    public long LineCount
    {
        get
        {
            lock (_gate)
            {
                return _droppedLines + _lines.Count;
            }
        }
    }

    /// <summary>A copy of the captured output lines (the newest <c>50 000</c>).</summary>
    /// <returns>The lines, oldest first.</returns>
    public IReadOnlyList<string> GetOutput()
    {
        lock (_gate)
        {
            return [.. _lines];
        }
    }

    /// <summary>The last <paramref name="count"/> lines joined with newlines, for error messages.</summary>
    /// <param name="count">How many lines.</param>
    /// <returns>The tail of the output.</returns>
    public string OutputTail(int count = 20)
    {
        lock (_gate)
        {
            return string.Join('\n', _lines.Skip(Math.Max(0, _lines.Count - count)));
        }
    }

    /// <summary>SIGKILL: a crash. Does nothing if the process has already exited.</summary>
    public void Kill() => Signal(ChildSignal.Kill);

    /// <summary>SIGTERM: a graceful stop request.</summary>
    public void Terminate() => Signal(ChildSignal.Terminate);

    /// <summary>SIGSTOP: freezes the process, its sockets stay open (a hang).</summary>
    public void Pause() => Signal(ChildSignal.Stop);

    /// <summary>SIGCONT: resumes a paused process.</summary>
    public void Resume() => Signal(ChildSignal.Continue);

    /// <summary>Sends a signal unless the process has exited.</summary>
    /// <param name="signal">The signal.</param>
    /// <returns>True when the signal was delivered.</returns>
    public bool Signal(ChildSignal signal)
    {
        if (HasExited)
        {
            return false;
        }

        if (signal is ChildSignal.Kill or ChildSignal.Terminate)
        {
            _exitRequested = true;
        }

        // Our exit notification can lag the real exit; never signal a PID the kernel has since given to someone else.
        if (!IsStillOurs())
        {
            Note($"signal {signal} not sent: the process is gone");
            return false;
        }

        bool sent = PosixSignals.Send(Pid, signal);
        if (sent && signal == ChildSignal.Stop)
        {
            _paused = true;
        }
        else if (sent && signal == ChildSignal.Continue)
        {
            _paused = false;
        }

        Note($"signal {signal} sent={sent}");
        return sent;
    }

    /// <summary>True while the PID still belongs to this child: the process exists and carries this supervisor's marker.</summary>
    /// <returns>Whether signals may be sent to <see cref="Pid"/>.</returns>
    public bool IsStillOurs()
    {
        if (!OperatingSystem.IsLinux())
        {
            return !HasExited;
        }

        try
        {
            return File.ReadAllText($"/proc/{Pid}/environ").Split('\0').Contains(_markerEntry, StringComparer.Ordinal);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>Waits for the process to exit.</summary>
    /// <param name="timeout">Upper bound on the wait.</param>
    /// <param name="cancellationToken">Ends the wait early.</param>
    /// <returns>True when it exited within <paramref name="timeout"/>.</returns>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        try
        {
            await _exited.Task.WaitAsync(timeout, _timeProvider, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>
    /// Waits for an output line matching <paramref name="pattern"/>, looking at lines already
    /// captured from <paramref name="fromLine"/> on as well as new ones.
    /// </summary>
    /// <param name="pattern">What to wait for.</param>
    /// <param name="timeout">Upper bound on the wait.</param>
    /// <param name="fromLine">Index of the first captured line to consider (see <see cref="LineCount"/>).</param>
    /// <param name="cancellationToken">Ends the wait early.</param>
    /// <returns>The matching line.</returns>
    /// <exception cref="TimeoutException">No such line within <paramref name="timeout"/> (the message carries the output tail).</exception>
    /// <exception cref="InvalidOperationException">The process exited before printing such a line.</exception>
    public async Task<string> WaitForOutputAsync(Regex pattern, TimeSpan timeout, long fromLine = 0, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        var done = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            int start = (int)Math.Max(0, fromLine - _droppedLines);
            for (int i = start; i < _lines.Count; i++)
            {
                if (pattern.IsMatch(_lines[i]))
                {
                    return _lines[i];
                }
            }

            if (_outputClosed)
            {
                throw new InvalidOperationException($"{Name} (pid {Pid}) exited with code {_exitCode} before printing /{pattern}/:\n{OutputTail()}");
            }

            _waiters.Add((pattern, done));
        }

        try
        {
            return await done.Task.WaitAsync(timeout, _timeProvider, cancellationToken).ConfigureAwait(false);
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"{Name} (pid {Pid}) printed no line matching /{pattern}/ within {timeout.TotalMilliseconds:F0} ms; last output:\n{OutputTail()}", ex);
        }
        finally
        {
            lock (_gate)
            {
                _waiters.RemoveAll(w => w.Done == done);
            }
        }
    }

    /// <summary>Writes a kit note (signals, restarts) into the child's log file, marked with <c>#</c>.</summary>
    /// <param name="text">The note.</param>
    internal void Note(string text)
    {
        lock (_gate)
        {
            if (!_disposed)
            {
                _log?.WriteLine($"# [{_timeProvider.GetUtcNow():HH:mm:ss.fff}] {text}");
            }
        }
    }

    /// <summary>Releases the process handle and the log file (the process must have exited, or it keeps running).</summary>
    public void Dispose()
    {
        if (HasExited)
        {
            // Let the last output lines reach the log file (bounded).
            _drained.Task.Wait(TimeSpan.FromSeconds(5));
        }

        lock (_gate)
        {
            _disposed = true;
            _log?.Dispose();
        }

        _process.Dispose();
    }

    private void OnLine(string? data, bool isError)
    {
        if (data is null)
        {
            return;
        }

        string line = isError ? "[err] " + data : data;
        List<TaskCompletionSource<string>>? matched = null;
        lock (_gate)
        {
            if (_lines.Count >= MaxKeptLines)
            {
                _lines.RemoveRange(0, MaxKeptLines / 10);
                _droppedLines += MaxKeptLines / 10;
            }

            _lines.Add(line);
            if (!_disposed)
            {
                _log?.WriteLine(line);
            }
            foreach (var waiter in _waiters)
            {
                if (waiter.Pattern.IsMatch(line))
                {
                    (matched ??= []).Add(waiter.Done);
                }
            }
        }

        if (matched is not null)
        {
            foreach (var done in matched)
            {
                done.TrySetResult(line);
            }
        }
    }

    private void OnExited()
    {
        // The exit is published at once; draining the last output lines can take a moment on a
        // loaded machine and must not delay restarts, so it happens afterwards (see _drained).
        int code;
        try
        {
            code = _process.ExitCode;
        }
        catch (InvalidOperationException)
        {
            code = -1;
        }

        lock (_gate)
        {
            if (_exited.Task.IsCompleted)
            {
                return;
            }

            _exitCode = code;
            _paused = false;
        }

        _exited.TrySetResult();
        _ = Task.Run(async () =>
        {
            try
            {
                // Only the parameterless overload waits for the asynchronous output readers to reach
                // end of stream; bounded here in case a grandchild kept the pipe open.
                await Task.Run(_process.WaitForExit).WaitAsync(TimeSpan.FromSeconds(10), _timeProvider).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
            {
                // Disposed meanwhile, or the pipe stays open: the lines so far are all we get.
            }

            List<TaskCompletionSource<string>> waiting;
            lock (_gate)
            {
                _outputClosed = true;
                waiting = [.. _waiters.Select(w => w.Done)];
                if (!_disposed)
                {
                    _log?.WriteLine($"# [{_timeProvider.GetUtcNow():HH:mm:ss.fff}] exited with code {code}");
                }
            }

            foreach (var done in waiting)
            {
                done.TrySetException(new InvalidOperationException($"{Name} (pid {Pid}) exited with code {code}:\n{OutputTail()}"));
            }

            _drained.TrySetResult();
        });
    }
}
