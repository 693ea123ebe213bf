namespace Reliability.Mdp.Worker;

/// <summary>What a <see cref="MajordomoWorker"/> does when its request handler throws (<see cref="WorkerOptions.OnHandlerFailure"/>).</summary>
public enum HandlerFailureAction
{
    /// <summary>
    /// Answer the request with a failure reply (the default): the client learns at once that the handler
    /// failed instead of waiting for its timeout, and the request is not run again. Our clients turn that
    /// reply into an <see cref="Client.MdpRequestFailedException"/> whose <see cref="Client.MdpRequestFailedException.Failure"/>
    /// is <see cref="Client.MdpFailure.HandlerFailed"/>; any other client gets the two frames of docs/wire/mdp.md §17.
    /// </summary>
    FailureReply,

    /// <summary>
    /// Send DISCONNECT and register again on a fresh socket, so the broker requeues the request for another
    /// worker (at most its requeue limit). For handlers that fail for reasons of this one process.
    /// </summary>
    Requeue,
}
