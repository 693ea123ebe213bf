using System.ComponentModel;
using System.Runtime.InteropServices;

namespace Reliability.Chaos.Processes;

/// <summary>The signals the kit sends to its child processes.</summary>
public enum ChildSignal
{
    /// <summary>SIGKILL: the process dies at once, without running any shutdown code (a crash).</summary>
    Kill,

    /// <summary>SIGTERM: asks for a graceful shutdown.</summary>
    Terminate,

    /// <summary>SIGSTOP: freezes the process (a hang); its sockets stay open but nothing is read or sent.</summary>
    Stop,

    /// <summary>SIGCONT: resumes a stopped process.</summary>
    Continue,
}

/// <summary>Sends POSIX signals by PID (.NET only offers SIGKILL through <see cref="System.Diagnostics.Process.Kill()"/>).</summary>
internal static partial class PosixSignals
{
    // Linux numbering (x86-64 and arm64 share it); the kit runs children only on Linux.
    private const int SigKill = 9;
    private const int SigTerm = 15;
    private const int SigCont = 18;
    private const int SigStop = 19;

    /// <summary>Sends <paramref name="signal"/> to <paramref name="pid"/>; false when the process no longer exists.</summary>
    public static bool Send(int pid, ChildSignal signal)
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("The chaos kit sends POSIX signals and runs on Linux only.");
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pid);
        int number = signal switch
        {
            ChildSignal.Kill => SigKill,
            ChildSignal.Terminate => SigTerm,
            ChildSignal.Stop => SigStop,
            ChildSignal.Continue => SigCont,
            _ => throw new ArgumentOutOfRangeException(nameof(signal), signal, null),
        };
        if (Kill(pid, number) == 0)
        {
            return true;
        }

        int error = Marshal.GetLastPInvokeError();
        const int NoSuchProcess = 3; // ESRCH
        return error == NoSuchProcess ? false : throw new Win32Exception(error, $"kill({pid}, {signal}) failed");
    }

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);
}
