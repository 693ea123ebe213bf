namespace Reliability.Transport.Internal;

/// <summary>A name bound with <c>Bind("inproc://name")</c>, owned by one socket until it closes.</summary>
internal sealed class InprocListener(ZmqSocket owner, string name, string endpoint)
{
    public ZmqSocket Owner { get; } = owner;

    public string Name { get; } = name;

    public string Endpoint { get; } = endpoint;
}

/// <summary>
/// The process-wide table of bound inproc names (libzmq keeps it per context; this library has no
/// context, so the process is the scope). Connectors that find no binding wait for the name's next
/// bind, which is how a connect before the bind attaches later (libzmq 4.x semantics).
/// </summary>
internal static class InprocRegistry
{
    private static readonly object s_gate = new();
    private static readonly Dictionary<string, InprocListener> s_bound = new(StringComparer.Ordinal);
    private static readonly Dictionary<string, TaskCompletionSource> s_waiters = new(StringComparer.Ordinal);

    /// <summary>Registers the name; false when a live socket holds it already ("address in use").</summary>
    public static bool TryBind(InprocListener listener)
    {
        TaskCompletionSource? waiter;
        lock (s_gate)
        {
            // A socket that is closing gives its names up; it may not have removed them yet.
            if (s_bound.TryGetValue(listener.Name, out var existing) && !existing.Owner.IsClosing)
            {
                return false;
            }

            s_bound[listener.Name] = listener;
            s_waiters.Remove(listener.Name, out waiter);
        }

        waiter?.TrySetResult();
        return true;
    }

    /// <summary>Frees the name, unless another socket has bound it since.</summary>
    public static void Unbind(InprocListener listener)
    {
        lock (s_gate)
        {
            if (s_bound.TryGetValue(listener.Name, out var current) && current == listener)
            {
                s_bound.Remove(listener.Name);
            }
        }
    }

    /// <summary>
    /// The live binding of <paramref name="name"/>, or null with <paramref name="bound"/> completing
    /// at the name's next bind. Waiters share one task per name, so abandoned waits cost nothing.
    /// </summary>
    public static InprocListener? Find(string name, out Task bound)
    {
        lock (s_gate)
        {
            if (s_bound.TryGetValue(name, out var listener) && !listener.Owner.IsClosing)
            {
                bound = Task.CompletedTask;
                return listener;
            }

            if (!s_waiters.TryGetValue(name, out var waiter))
            {
                waiter = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                s_waiters[name] = waiter;
            }

            bound = waiter.Task;
            return null;
        }
    }
}
