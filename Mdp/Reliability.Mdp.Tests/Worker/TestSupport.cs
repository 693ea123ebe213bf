using Reliability.Testing.PyZmq;

namespace Reliability.Mdp.Tests.Worker;

/// <summary>Upper bounds for waits in the worker and client tests: generous for slow CI machines, never infinite.</summary>
internal static class Wait
{
    public static readonly TimeSpan Long = TimeSpan.FromSeconds(8);

    /// <summary>Waits for a task, failing the test instead of hanging.</summary>
    public static Task<T> Within<T>(this Task<T> task, TimeSpan? limit = null) => task.WaitAsync(limit ?? Long);

    /// <summary>Waits for a task, failing the test instead of hanging.</summary>
    public static Task Within(this Task task, TimeSpan? limit = null) => task.WaitAsync(limit ?? Long);

    /// <summary>Waits for a value task, failing the test instead of hanging.</summary>
    public static Task<T> Within<T>(this ValueTask<T> task, TimeSpan? limit = null) => task.AsTask().WaitAsync(limit ?? Long);
}

/// <summary>A fact that needs pyzmq: skipped with the reason when it is missing, run (and failing) when CI=true.</summary>
public sealed class MdpPyZmqFactAttribute : FactAttribute
{
    public MdpPyZmqFactAttribute()
    {
        if (PyZmqEnvironment.SkipReason is { } reason)
        {
            Skip = reason;
        }
    }
}
