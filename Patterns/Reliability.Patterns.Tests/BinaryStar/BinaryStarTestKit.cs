using Reliability.Patterns.BinaryStar;
using Reliability.Transport;

namespace Reliability.Patterns.Tests.BinaryStar;

/// <summary>A Binary Star pair of echo servers on loopback, with the waits the tests share.</summary>
internal static class BinaryStarTestKit
{
    /// <summary>Generous for a loaded CI machine, never infinite.</summary>
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    /// <summary>Short, so failover happens within a second.</summary>
    public static readonly TimeSpan Heartbeat = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// A free loopback TCP endpoint. The state endpoints must be known before either node starts
    /// (each node's options name the other's), so the port is found by binding port 0 and releasing it.
    /// </summary>
    public static string FreeEndpoint()
    {
        using var probe = new PublisherSocket(new SocketOptions { Linger = TimeSpan.Zero });
        return probe.Bind("tcp://127.0.0.1:0");
    }

    /// <summary>An echo server for one node of a pair; <paramref name="states"/> sees every state it enters.</summary>
    public static BinaryStarServer EchoServer(BinaryStarRole role, string frontend, string local, string remote, Action<BinaryStarStateChange>? states = null) =>
        new(
            new BinaryStarOptions { Role = role, LocalEndpoint = local, RemoteEndpoint = remote, Heartbeat = Heartbeat, OnStateChanged = states },
            frontend,
            static (request, _) => ValueTask.FromResult(request));

    /// <summary>Completes when a state change into <paramref name="state"/> is reported.</summary>
    public static (Action<BinaryStarStateChange> Observer, Task Reached) WaitFor(BinaryStarState state)
    {
        var reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return (change =>
        {
            if (change.To == state)
            {
                reached.TrySetResult();
            }
        }, reached.Task);
    }
}
