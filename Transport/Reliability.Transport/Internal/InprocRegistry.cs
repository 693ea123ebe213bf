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
    private static readonly Dictionary<string, NameWaiters> s_waiters = new(StringComparer.Ordinal);

    /// <summary>Registers the name; false when a live socket holds it already ("address in use").</summary>
    public static bool TryBind(InprocListener listener)
    {
        NameWaiters? waiters;
        lock (s_gate)
        {
            // A socket that is closing gives its names up; it may not have removed them yet.
            if (s_bound.TryGetValue(listener.Name, out var existing) && !existing.Owner.IsClosing)
            {
                return false;
            }

            s_bound[listener.Name] = listener;
            s_waiters.Remove(listener.Name, out waiters);
        }

        waiters?.Bound.TrySetResult();
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
    /// at the name's next bind. Waiters share one task per name; each null result counts as a waiter
    /// until <see cref="StopWaiting"/>, and the name's entry goes with its last waiter.
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

            if (!s_waiters.TryGetValue(name, out var waiters))
            {
                waiters = new NameWaiters();
                s_waiters[name] = waiters;
            }

            waiters.Count++;
            bound = waiters.Bound.Task;
            return null;
        }
    }

    /// <summary>
    /// Ends one wait that <see cref="Find"/> started for <paramref name="name"/> (whether or not the name
    /// was bound meanwhile), so names that are connected to and never bound leave nothing behind.
    /// </summary>
    public static void StopWaiting(string name, Task bound)
    {
        lock (s_gate)
        {
            // After a bind the entry is gone (or is a newer one, with its own task): nothing to release.
            if (s_waiters.TryGetValue(name, out var waiters) && waiters.Bound.Task == bound && --waiters.Count == 0)
            {
                s_waiters.Remove(name);
            }
        }
    }

    /// <summary>Whether any connector waits for <paramref name="name"/> to be bound (for tests).</summary>
    internal static bool IsAwaited(string name)
    {
        lock (s_gate)
        {
            return s_waiters.ContainsKey(name);
        }
    }

    /// <summary>The connectors waiting for one name, and the task they share.</summary>
    private sealed class NameWaiters
    {
        public TaskCompletionSource Bound { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Count { get; set; }
    }
}
