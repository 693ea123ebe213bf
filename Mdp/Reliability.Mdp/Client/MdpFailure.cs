namespace Reliability.Mdp.Client;

/// <summary>Why a Majordomo request was given up (<see cref="MdpRequestFailedException.Failure"/>).</summary>
public enum MdpFailure
{
    /// <summary>No reply came within the timeout, after every attempt: broker, service or worker may be gone or slow.</summary>
    NoReply,

    /// <summary>The reply was not a valid MDP reply for the request (on a REQ socket, which cannot skip it).</summary>
    InvalidReply,

    /// <summary>A worker received the request and its handler failed (it answered with a failure reply); not retried.</summary>
    HandlerFailed,
}
