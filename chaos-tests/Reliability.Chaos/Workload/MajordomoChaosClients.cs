using System.Globalization;
using Reliability.Mdp.Client;
using Reliability.Mdp.Protocol;
using Reliability.Transport;

namespace Reliability.Chaos.Workload;

/// <summary>The workload's synchronous Majordomo client: the library's <see cref="MajordomoClient"/> (Lazy Pirate retries).</summary>
public sealed class MajordomoChaosClient : IChaosClient
{
    private readonly MajordomoClient _client;

    /// <summary>Creates a client of the broker(s) at <paramref name="endpoints"/>.</summary>
    /// <param name="endpoints">The broker, or the two of a Binary Star pair (the client fails over between them).</param>
    /// <param name="timeout">Per-attempt timeout.</param>
    /// <param name="attempts">Tries per request, the first included.</param>
    /// <param name="version">MDP/0.1 (REQ socket) or MDP/0.2 (DEALER socket).</param>
    /// <param name="settle">With several brokers, the pause before resending to the next one.</param>
    public MajordomoChaosClient(IReadOnlyList<string> endpoints, TimeSpan timeout, int attempts, MdpVersion version, TimeSpan settle)
    {
        _client = new MajordomoClient(new MajordomoClientOptions
        {
            BrokerEndpoint = endpoints.Count == 1 ? endpoints[0] : string.Empty,
            BrokerEndpoints = endpoints.Count == 1 ? [] : endpoints,
            SettleDelay = settle,
            Timeout = timeout,
            Retries = attempts - 1,
            Version = version,
            SocketType = version == MdpVersion.V02 ? MdpClientSocket.Dealer : MdpClientSocket.Req,
        });
        Description = string.Create(CultureInfo.InvariantCulture, $"MajordomoClient {version}, timeout {timeout.TotalMilliseconds:F0} ms, {attempts} attempts");
    }

    /// <inheritdoc />
    public string Description { get; }

    /// <inheritdoc />
    public long Retries => _client.Statistics.Retries;

    /// <inheritdoc />
    public async Task<Message> RequestAsync(string service, Message body, CancellationToken cancellationToken) =>
        (await _client.RequestAsync(service, body, cancellationToken).ConfigureAwait(false)).Body;

    /// <summary>Asks the broker's MMI whether <paramref name="service"/> has workers (<c>200</c>/<c>404</c>).</summary>
    /// <param name="service">The service.</param>
    /// <param name="cancellationToken">Abandons the lookup.</param>
    /// <returns>The status code.</returns>
    public Task<string> QueryServiceAsync(string service, CancellationToken cancellationToken) =>
        _client.QueryServiceAsync(service, cancellationToken);

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _client.DisposeAsync();
}

/// <summary>
/// The workload's asynchronous Majordomo client: the library's <see cref="MajordomoAsyncClient"/>
/// (many requests outstanding). Against one broker, like an application would, this adapter resends a
/// request whose timeout elapsed, up to the attempt budget; against a Binary Star pair the library's own
/// failover resends it (<see cref="MajordomoAsyncClientOptions.Retries"/>).
/// </summary>
public sealed class MajordomoAsyncChaosClient : IChaosClient
{
    private readonly MajordomoAsyncClient _client;
    private readonly int _attempts;
    private long _retries;

    /// <summary>Creates a client of the broker(s) at <paramref name="endpoints"/>.</summary>
    /// <param name="endpoints">The broker, or the two of a Binary Star pair (the client fails over between them).</param>
    /// <param name="timeout">Per-attempt timeout.</param>
    /// <param name="attempts">Tries per request, the first included.</param>
    /// <param name="version">MDP/0.1 or MDP/0.2.</param>
    /// <param name="settle">With several brokers, the pause before resending to the next one.</param>
    public MajordomoAsyncChaosClient(IReadOnlyList<string> endpoints, TimeSpan timeout, int attempts, MdpVersion version, TimeSpan settle)
    {
        _client = new MajordomoAsyncClient(new MajordomoAsyncClientOptions
        {
            BrokerEndpoint = endpoints.Count == 1 ? endpoints[0] : string.Empty,
            BrokerEndpoints = endpoints.Count == 1 ? [] : endpoints,
            SettleDelay = settle,
            Timeout = timeout,
            Version = version,

            // Over a pair the library resends itself, to the next broker after the settle delay.
            Retries = endpoints.Count > 1 ? attempts - 1 : 0,
        });
        _attempts = endpoints.Count > 1 ? 1 : attempts;
        Description = string.Create(CultureInfo.InvariantCulture, $"MajordomoAsyncClient {version}, timeout {timeout.TotalMilliseconds:F0} ms, {attempts} attempts");
    }

    /// <inheritdoc />
    public string Description { get; }

    /// <inheritdoc />
    public long Retries => Interlocked.Read(ref _retries) + _client.Statistics.Retries;

    /// <inheritdoc />
    public async Task<Message> RequestAsync(string service, Message body, CancellationToken cancellationToken)
    {
        // Bounded by the attempt budget.
        for (int attempt = 1; ; attempt++)
        {
            try
            {
                return (await _client.RequestAsync(service, body.Clone(), cancellationToken).ConfigureAwait(false)).Body;
            }
            catch (MdpRequestFailedException) when (attempt < _attempts)
            {
                Interlocked.Increment(ref _retries);
            }
        }
    }

    /// <inheritdoc />
    public ValueTask DisposeAsync() => _client.DisposeAsync();
}
