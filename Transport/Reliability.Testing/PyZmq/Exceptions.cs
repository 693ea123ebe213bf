namespace Reliability.Testing.PyZmq;

/// <summary>pyzmq (or the interpreter) is missing, so a libzmq peer cannot be started.</summary>
public sealed class PyZmqUnavailableException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="message">What is missing.</param>
    public PyZmqUnavailableException(string message)
        : base(message)
    {
    }
}

/// <summary>The peer process answered a request with an error, or broke the line protocol.</summary>
public sealed class PyZmqPeerException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="error">Error name from the peer, e.g. <c>EHOSTUNREACH</c>, <c>EAGAIN</c>, <c>EFSM</c>.</param>
    /// <param name="message">Description, including the request and the peer's stderr when useful.</param>
    public PyZmqPeerException(string error, string message)
        : base(message)
    {
        Error = error;
    }

    /// <summary>Error name from the peer (a libzmq errno name such as <c>EHOSTUNREACH</c>, or a Python exception type).</summary>
    public string Error { get; }
}
