using Reliability.Chaos.Processes;
using Reliability.Testing.PyZmq;

namespace Reliability.Chaos.Tests;

/// <summary>The kit pointed at a user's own programs: a Paranoid Pirate queue and worker written with pyzmq (libzmq).</summary>
internal static class PyZmqPeers
{
    private static string Python => PyZmqEnvironment.PythonPath;

    public static ChaosPrograms Programs()
    {
        string peers = Path.Combine(AppContext.BaseDirectory, "Peers");

        // Only the Paranoid Pirate roles are replaced; the .NET dlls are never started in these tests.
        return new ChaosPrograms("dotnet", "unused-examples.dll", "unused-broker.dll")
            .WithTemplate(ProgramRole.PppQueue, $"{Python} -u {peers}/ppp_queue.py {{frontend}} {{backend}} {{heartbeat_ms}} {{liveness}}")
            .WithTemplate(ProgramRole.PppWorker, $"{Python} -u {peers}/ppp_worker.py {{endpoint}} {{heartbeat_ms}} {{liveness}} {{slow_ms}}");
    }
}

/// <summary>A fact that needs pyzmq: skipped without it, except under CI=true where it runs and fails.</summary>
public sealed class PyZmqFactAttribute : FactAttribute
{
    public PyZmqFactAttribute()
    {
        if (PyZmqEnvironment.SkipReason is { } reason)
        {
            Skip = reason;
        }
    }
}
