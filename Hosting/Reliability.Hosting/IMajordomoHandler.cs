using Reliability.Mdp.Worker;
using Reliability.Transport;

namespace Reliability.Hosting;

/// <summary>
/// Answers the requests of a hosted Majordomo worker
/// (<see cref="MajordomoServiceCollectionExtensions.AddMajordomoWorker{THandler}"/>). Resolved from a
/// dependency-injection scope of its own for each request, so it may depend on scoped services.
/// </summary>
public interface IMajordomoHandler
{
    /// <summary>Computes the reply to <paramref name="request"/>.</summary>
    /// <param name="request">The request: its body, its client, and (under MDP/0.2) <see cref="MdpRequest.SendPartialAsync"/> for partial replies.</param>
    /// <param name="cancellationToken">Cancelled when the host's shutdown runs out of time while this request is in progress.</param>
    /// <returns>The reply body.</returns>
    ValueTask<Message> HandleAsync(MdpRequest request, CancellationToken cancellationToken);
}
