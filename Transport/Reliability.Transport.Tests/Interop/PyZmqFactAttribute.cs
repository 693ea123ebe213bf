using Reliability.Testing.PyZmq;

namespace Reliability.Transport.Tests.Interop;

/// <summary>
/// A fact that needs pyzmq: skipped with a clear reason when pyzmq is missing on a developer
/// machine, but run (and failing in <see cref="PyZmqPeer.StartAsync"/>) when CI=true.
/// xunit 2 has no dynamic skip, so the decision is made when the attribute is constructed.
/// </summary>
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

/// <summary>The <see cref="TheoryAttribute"/> counterpart of <see cref="PyZmqFactAttribute"/>.</summary>
public sealed class PyZmqTheoryAttribute : TheoryAttribute
{
    public PyZmqTheoryAttribute()
    {
        if (PyZmqEnvironment.SkipReason is { } reason)
        {
            Skip = reason;
        }
    }
}
