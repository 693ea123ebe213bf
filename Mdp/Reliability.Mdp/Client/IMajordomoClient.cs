using Reliability.Mdp.Protocol;
using Reliability.Transport;

namespace Reliability.Mdp.Client;

/// <summary>
/// Sends requests to Majordomo services and returns their replies. Implemented by
/// <see cref="MajordomoClient"/> (one request at a time, retried on a fresh socket) and
/// <see cref="MajordomoAsyncClient"/> (many outstanding requests, each with its own timeout, no
/// retries); depend on this interface to swap one for the other or to stand in a fake in tests.
/// </summary>
/// <remarks>
/// Disposal is left to whoever created the client (both implementations are <see cref="IAsyncDisposable"/>),
/// so code that is only handed a client can use it but not end it.
/// </remarks>
public interface IMajordomoClient
{
    /// <summary>Sends <paramref name="body"/> to <paramref name="service"/> and returns its reply.</summary>
    /// <param name="service">The service name (1 to 255 UTF-8 bytes, no control characters).</param>
    /// <param name="body">The request frames (zero or more); the message is not modified.</param>
    /// <param name="cancellationToken">Abandons the request.</param>
    /// <returns>The reply: its final body and, under MDP/0.2, the partial replies before it.</returns>
    /// <exception cref="MdpRequestFailedException">No valid reply came in time (after the implementation's retries, if any).</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    /// <exception cref="ObjectDisposedException">The client was disposed.</exception>
    Task<MdpReply> RequestAsync(string service, Message body, CancellationToken cancellationToken = default);
}

/// <summary>Requests built on <see cref="IMajordomoClient.RequestAsync"/>, available on every Majordomo client.</summary>
public static class MajordomoClientExtensions
{
    /// <summary>
    /// Asks the broker's MMI whether <paramref name="service"/> has a worker (RFC 8 <c>mmi.service</c>),
    /// with the same timeout and retries as any request of <paramref name="client"/>.
    /// </summary>
    /// <param name="client">The client to ask through.</param>
    /// <param name="service">The service to look up.</param>
    /// <param name="cancellationToken">Abandons the lookup.</param>
    /// <returns>The status code: <c>"200"</c> (has workers), <c>"404"</c> (none), <c>"501"</c> (lookup not implemented), or what the broker sent.</returns>
    /// <exception cref="MdpRequestFailedException">The broker did not answer.</exception>
    public static async Task<string> QueryServiceAsync(this IMajordomoClient client, string service, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        var lookup = Mmi.CreateLookup(service);
        var reply = await client.RequestAsync(lookup.Service, new Message(lookup.Body), cancellationToken).ConfigureAwait(false);
        return Mmi.ReadStatus(reply.Body) ?? string.Empty;
    }
}
