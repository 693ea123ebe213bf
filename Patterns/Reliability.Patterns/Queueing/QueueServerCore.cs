using Reliability.Patterns.Sessions;
using Reliability.Transport;

namespace Reliability.Patterns.Queueing;

/// <summary>The decisions of a queue between a frontend ROUTER (clients) and a backend ROUTER (workers): the Paranoid and Simple Pirate queues.</summary>
internal interface IQueueCore
{
    /// <summary>How long until <see cref="OnTimer"/> is due; <see cref="Timeout.InfiniteTimeSpan"/> when never.</summary>
    TimeSpan NextDeadlineIn { get; }

    /// <summary>Whether a client request could be handed to a worker at once.</summary>
    bool CanAcceptClientRequest { get; }

    /// <summary>Runs what is due (calling it early is harmless).</summary>
    void OnTimer();

    /// <summary>One item of the backend's receive stream (a worker's message or peer event).</summary>
    void OnBackendMessage(Message message);

    /// <summary>One item of the frontend's receive stream (a client's request or peer event).</summary>
    void OnFrontendMessage(Message message);
}

/// <summary>
/// A queue core as the <see cref="ServerLoop"/> drives it, over the sockets <c>[backend, frontend]</c>: the
/// backend is always read, the frontend only while a worker can take a request at once (the zguide's queues
/// do the same), so the requests a queue cannot place yet wait in the clients' own pipes and TCP pushes back.
/// </summary>
internal sealed class QueueServerCore(IQueueCore core) : IServerCore
{
    /// <summary>The backend's index in the loop's sockets (the frontend is the other one).</summary>
    public const int Backend = 0;

    /// <inheritdoc />
    public TimeSpan NextDeadlineIn => core.NextDeadlineIn;

    /// <inheritdoc />
    public void OnPass() => core.OnTimer();

    /// <inheritdoc />
    public bool Accepts(int socket) => socket == Backend || core.CanAcceptClientRequest;

    /// <inheritdoc />
    public void OnMessage(int socket, Message message)
    {
        if (socket == Backend)
        {
            core.OnBackendMessage(message);
        }
        else
        {
            core.OnFrontendMessage(message);
        }
    }
}
