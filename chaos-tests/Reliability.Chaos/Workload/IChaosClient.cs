using Reliability.Transport;

namespace Reliability.Chaos.Workload;

/// <summary>
/// One in-process client the workload sends requests through (a Lazy Pirate client, a Majordomo
/// client...). Implementations retry as their library does and throw when they give up.
/// </summary>
public interface IChaosClient : IAsyncDisposable
{
    /// <summary>A short description for reports, such as <c>LazyPirateClient timeout 1000 ms × 10</c>.</summary>
    string Description { get; }

    /// <summary>Retries the client has made so far (0 when it cannot tell).</summary>
    long Retries { get; }

    /// <summary>Sends one request and returns the reply's body frames.</summary>
    /// <param name="service">The service name (ignored by clients of service-less patterns).</param>
    /// <param name="body">The request body frames.</param>
    /// <param name="cancellationToken">Abandons the request.</param>
    /// <returns>The reply's body frames.</returns>
    Task<Message> RequestAsync(string service, Message body, CancellationToken cancellationToken);
}

/// <summary>Creates the client for workload client <paramref name="index"/> (0-based) connected to <paramref name="endpoint"/>.</summary>
/// <param name="index">Which workload client.</param>
/// <param name="endpoint">Where to connect.</param>
/// <returns>The client.</returns>
public delegate IChaosClient ChaosClientFactory(int index, string endpoint);
