using System.Collections.Concurrent;
using System.Globalization;

namespace Reliability.Chaos.Processes;

/// <summary>
/// Starts child processes, tracks them by PID and always reaps them: on <see cref="DisposeAsync"/>,
/// when the kit's process exits, and (for children of an earlier run that was itself killed)
/// through <see cref="SweepOrphans"/>. Every child carries an environment marker naming this
/// supervisor, so leaks can be found in <c>/proc</c> and only processes the kit started are ever
/// signalled.
/// </summary>
public sealed class ProcessSupervisor : IAsyncDisposable
{
    /// <summary>The environment variable that marks every child: <c>owner-pid:supervisor-id</c>.</summary>
    public const string MarkerVariable = "RELIABILITY_CHAOS_OWNER";

    private static readonly ConcurrentDictionary<ProcessSupervisor, byte> Live = new();
    private static int _nextId;

    private readonly object _gate = new();
    private readonly List<ChildProcess> _all = [];
    private readonly Dictionary<string, ChildProcess> _current = new(StringComparer.Ordinal);
    private readonly TimeProvider _timeProvider;
    private bool _disposed;

    static ProcessSupervisor()
    {
        // Last line of defence: children never outlive the kit, even when a test run is aborted.
        AppDomain.CurrentDomain.ProcessExit += (_, _) => KillEverything();
    }

    /// <summary>Creates a supervisor.</summary>
    /// <param name="logDirectory">Where each child's output is copied (<c>name.generation.log</c>); none when null.</param>
    /// <param name="timeProvider">Clock for bounded waits; <see cref="TimeProvider.System"/> when null.</param>
    public ProcessSupervisor(string? logDirectory = null, TimeProvider? timeProvider = null)
    {
        LogDirectory = logDirectory;
        _timeProvider = timeProvider ?? TimeProvider.System;
        Marker = string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessId}:{Interlocked.Increment(ref _nextId)}");
        Live.TryAdd(this, 0);
    }

    /// <summary>The marker value this supervisor's children carry in <see cref="MarkerVariable"/>.</summary>
    public string Marker { get; }

    /// <summary>Where children's output is copied, or null.</summary>
    public string? LogDirectory { get; }

    /// <summary>Every child ever started by this supervisor (restarts included), oldest first.</summary>
    public IReadOnlyList<ChildProcess> AllChildren
    {
        get
        {
            lock (_gate)
            {
                return [.. _all];
            }
        }
    }

    /// <summary>Starts a child.</summary>
    /// <param name="name">A unique logical name (for example <c>broker</c> or <c>worker-1</c>).</param>
    /// <param name="command">What to run.</param>
    /// <returns>The running child.</returns>
    /// <exception cref="InvalidOperationException">A child of that name is still running.</exception>
    public ChildProcess Start(string name, ProgramCommand command)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(command);
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            int generation = 1;
            if (_current.TryGetValue(name, out var previous))
            {
                if (!previous.HasExited)
                {
                    throw new InvalidOperationException($"{name} (pid {previous.Pid}) is still running");
                }

                generation = previous.Generation + 1;
            }

            var child = new ChildProcess(name, generation, command, Marker, LogDirectory, _timeProvider);
            _all.Add(child);
            _current[name] = child;
            return child;
        }
    }

    /// <summary>
    /// Starts <paramref name="child"/>'s command again under the same name (same arguments, so the
    /// same endpoint), after killing it if it is still running.
    /// </summary>
    /// <param name="child">The child to replace.</param>
    /// <param name="cancellationToken">Ends the wait for the old process early.</param>
    /// <returns>The new child.</returns>
    public async Task<ChildProcess> RestartAsync(ChildProcess child, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(child);
        if (!child.HasExited)
        {
            child.Kill();
            if (!await child.WaitForExitAsync(TimeSpan.FromSeconds(10), cancellationToken).ConfigureAwait(false))
            {
                throw new InvalidOperationException($"{child.Name} (pid {child.Pid}) did not die within 10 s of SIGKILL");
            }
        }

        return Start(child.Name, child.Command);
    }

    /// <summary>The newest child started under <paramref name="name"/>, or null.</summary>
    /// <param name="name">The logical name.</param>
    /// <returns>The child.</returns>
    public ChildProcess? Current(string name)
    {
        lock (_gate)
        {
            return _current.GetValueOrDefault(name);
        }
    }

    /// <summary>
    /// Stops every child: resumes paused ones, sends SIGTERM, waits up to <paramref name="grace"/>,
    /// then SIGKILLs what is left and waits for it to be reaped.
    /// </summary>
    /// <param name="grace">How long children get to exit after SIGTERM; zero sends SIGKILL at once.</param>
    /// <returns>The children that did not exit within <paramref name="grace"/> and had to be killed.</returns>
    public async Task<IReadOnlyList<ChildProcess>> StopAllAsync(TimeSpan grace)
    {
        var running = AllChildren.Where(c => !c.HasExited).ToList();
        var forced = new List<ChildProcess>();
        if (grace > TimeSpan.Zero)
        {
            foreach (var child in running)
            {
                // A stopped process keeps SIGTERM pending until it is continued.
                child.Terminate();
                if (child.IsPaused)
                {
                    child.Resume();
                }
            }

            var deadline = _timeProvider.GetTimestamp();
            foreach (var child in running)
            {
                var left = grace - _timeProvider.GetElapsedTime(deadline);
                // The exit is noticed late on a loaded machine (output drained first), so ask the kernel before calling it forced.
                if (!await child.WaitForExitAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero).ConfigureAwait(false) && IsAlive(child.Pid))
                {
                    forced.Add(child);
                }
            }
        }
        else
        {
            forced.AddRange(running);
        }

        foreach (var child in forced)
        {
            child.Kill();
        }

        foreach (var child in forced)
        {
            // SIGKILL cannot be ignored; the bound only guards against a wedged kernel.
            await child.WaitForExitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }

        return forced;
    }

    /// <summary>
    /// Processes that carry this supervisor's marker and still exist (running, or exited but not
    /// reaped). Empty after a clean <see cref="StopAllAsync"/>.
    /// </summary>
    /// <returns>Their PIDs.</returns>
    public IReadOnlyList<int> FindLeakedProcesses()
    {
        var leaked = ScanMarkedProcesses().Where(p => p.Marker == Marker).Select(p => p.Pid).ToHashSet();

        // A zombie's environment is unreadable, so also look for children still listed as ours.
        foreach (var child in AllChildren)
        {
            if (ParentOf(child.Pid) == Environment.ProcessId)
            {
                leaked.Add(child.Pid);
            }
        }

        return [.. leaked.Order()];
    }

    /// <summary>True while the process runs (or is stopped); false once it exited, even if not yet reaped.</summary>
    private static bool IsAlive(int pid)
    {
        try
        {
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            char state = stat[stat.LastIndexOf(')') + 2];
            return state is not ('Z' or 'X');
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or IndexOutOfRangeException)
        {
            return false;
        }
    }

    private static int? ParentOf(int pid)
    {
        try
        {
            // Format: "pid (comm) state ppid ..."; comm may contain spaces, so parse after the last ')'.
            string stat = File.ReadAllText($"/proc/{pid}/stat");
            string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return int.Parse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>
    /// Kills children left behind by an earlier run of the kit that was itself killed: processes
    /// whose marker names an owner PID that no longer exists. Processes without the marker are
    /// never touched.
    /// </summary>
    /// <returns>How many orphans were killed.</returns>
    public static int SweepOrphans()
    {
        int killed = 0;
        foreach (var (pid, marker) in ScanMarkedProcesses())
        {
            int colon = marker.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0
                && int.TryParse(marker.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out int owner)
                && owner != Environment.ProcessId
                && !Directory.Exists($"/proc/{owner}"))
            {
                if (PosixSignals.Send(pid, ChildSignal.Kill))
                {
                    killed++;
                }
            }
        }

        return killed;
    }

    /// <summary>Kills every child at once and waits until all are reaped.</summary>
    /// <returns>A task that completes when every child has exited.</returns>
    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        await StopAllAsync(TimeSpan.Zero).ConfigureAwait(false);
        foreach (var child in AllChildren)
        {
            child.Dispose();
        }

        Live.TryRemove(this, out _);
    }

    private static void KillEverything()
    {
        foreach (var supervisor in Live.Keys)
        {
            foreach (var child in supervisor.AllChildren)
            {
                if (!child.HasExited && child.IsStillOurs())
                {
                    try
                    {
                        PosixSignals.Send(child.Pid, ChildSignal.Kill);
                    }
                    catch (System.ComponentModel.Win32Exception)
                    {
                        // Exiting anyway; nothing more can be done for this child.
                    }
                }
            }
        }
    }

    private static List<(int Pid, string Marker)> ScanMarkedProcesses()
    {
        var found = new List<(int, string)>();
        if (!OperatingSystem.IsLinux())
        {
            return found;
        }

        string prefix = MarkerVariable + "=";
        foreach (string directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(directory), NumberStyles.None, CultureInfo.InvariantCulture, out int pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            string environ;
            try
            {
                environ = File.ReadAllText(Path.Combine(directory, "environ"));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile, or another user's process (which the kit never started).
                continue;
            }

            foreach (string variable in environ.Split('\0'))
            {
                if (variable.StartsWith(prefix, StringComparison.Ordinal))
                {
                    found.Add((pid, variable[prefix.Length..]));
                    break;
                }
            }
        }

        return found;
    }
}
