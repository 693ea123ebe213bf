using System.Globalization;
using Reliability.Patterns.Freelance;
using Reliability.Transport;

namespace Reliability.Chaos.Workload;

/// <summary>
/// The workload's client of a Freelance group: the library's <see cref="FreelanceClient"/> (model 3,
/// one ROUTER connected to every server). Each try waits the workload's per-attempt timeout before the
/// request goes to the next live server; the request fails after all its attempts' worth of time.
/// </summary>
public sealed class FreelanceChaosClient : IChaosClient
{
    private readonly FreelanceClient _client;

    /// <summary>Creates a client of the servers at <paramref name="endpoints"/> (each also the server's identity).</summary>
    /// <param name="endpoints">The servers, in order of preference.</param>
    /// <param name="timeout">Per-try timeout.</param>
    /// <param name="attempts">Tries' worth of time a request may take in all.</param>
    /// <param name="ping">Ping interval; a server silent for three of them is dead.</param>
    public FreelanceChaosClient(IReadOnlyList<string> endpoints, TimeSpan timeout, int attempts, TimeSpan ping)
    {
        _client = new FreelanceClient(new FreelanceOptions
        {
            Endpoints = endpoints,
            TryTimeout = timeout,
            RequestTimeout = timeout * attempts,
            PingInterval = ping,
            ServerTtl = ping * 3,
        });
        Description = string.Create(CultureInfo.InvariantCulture, $"FreelanceClient (router, {endpoints.Count} servers), try timeout {timeout.TotalMilliseconds:F0} ms, deadline {(timeout * attempts).TotalMilliseconds:F0} ms, ping {ping.TotalMilliseconds:F0} ms");
    }

    /// <inheritdoc />
    public string Description { get; }

    /// <inheritdoc />
    public long Retries => _client.Statistics.Retries;

    /// <inheritdoc />
    public Task<Message> RequestAsync(string service, Message body, CancellationToken cancellationToken) =>
        _client.RequestAsync(body, cancellationToken: cancellationToken);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _client.DisposeAsync();
}
