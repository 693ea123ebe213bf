using System.Globalization;
using Reliability.Patterns.LazyPirate;
using Reliability.Transport;

namespace Reliability.Chaos.Workload;

/// <summary>The workload's client for Lazy Pirate servers and Pirate queues: the library's <see cref="LazyPirateClient"/>.</summary>
public sealed class LazyPirateChaosClient : IChaosClient
{
    private readonly LazyPirateClient _client;

    /// <summary>Creates a client for <paramref name="endpoint"/>.</summary>
    /// <param name="endpoint">The server or queue frontend.</param>
    /// <param name="timeout">Per-attempt timeout.</param>
    /// <param name="attempts">Tries per request, the first included.</param>
    public LazyPirateChaosClient(string endpoint, TimeSpan timeout, int attempts)
    {
        _client = new LazyPirateClient(new LazyPirateOptions
        {
            Endpoints = [endpoint],
            RequestTimeout = timeout,
            Attempts = attempts,
        });
        Description = string.Create(CultureInfo.InvariantCulture, $"LazyPirateClient, timeout {timeout.TotalMilliseconds:F0} ms, {attempts} attempts");
    }

    /// <summary>Creates a failover client of a Binary Star pair: one node at a time, the other after a timeout and <paramref name="settle"/>.</summary>
    /// <param name="endpoints">The pair's frontends, primary first.</param>
    /// <param name="timeout">Per-attempt timeout.</param>
    /// <param name="attempts">Tries per request, the first included.</param>
    /// <param name="settle">Pause before resending to the other node.</param>
    public LazyPirateChaosClient(IReadOnlyList<string> endpoints, TimeSpan timeout, int attempts, TimeSpan settle)
    {
        _client = new LazyPirateClient(new LazyPirateOptions
        {
            Endpoints = endpoints,
            Failover = true,
            RequestTimeout = timeout,
            RetryDelay = settle,
            Attempts = attempts,
        });
        Description = string.Create(CultureInfo.InvariantCulture, $"LazyPirateClient (failover), timeout {timeout.TotalMilliseconds:F0} ms, settle {settle.TotalMilliseconds:F0} ms, {attempts} attempts");
    }

    /// <inheritdoc />
    public string Description { get; }

    /// <inheritdoc />
    public long Retries => _client.Statistics.Retries;

    /// <inheritdoc />
    public Task<Message> RequestAsync(string service, Message body, CancellationToken cancellationToken) =>
        _client.RequestAsync(body, cancellationToken);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _client.DisposeAsync();
}
