using System.Collections.Concurrent;
using System.Data.Common;
using Reliability.Mdp.Client;
using Reliability.Mdp.Protocol;
using Reliability.Mdp.Titanic.Store;

namespace Reliability.Mdp.Titanic.Service;

internal sealed partial class TitanicService
{
    /// <summary>How long an <c>mmi.service</c> answer is reused before asking the broker again.</summary>
    private static readonly TimeSpan ServiceCheckReuse = TimeSpan.FromSeconds(1);

    /// <summary>
    /// How soon a request whose service had no worker is first looked at again; the wait doubles with every claim
    /// up to <see cref="TitanicOptions.DispatchTimeout"/>, so a large backlog for an absent service costs few writes.
    /// </summary>
    private static readonly TimeSpan NoWorkerRetry = TimeSpan.FromSeconds(1);

    /// <summary>Longest sleep of an idle dispatcher: leases that ran out are found at least this often.</summary>
    private static readonly TimeSpan IdlePoll = TimeSpan.FromMilliseconds(250);

    private readonly ConcurrentDictionary<string, byte> _inFlight = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (bool HasWorkers, DateTimeOffset At)> _services = new(StringComparer.Ordinal);
    private readonly Signal _slotFree = new();

    /// <summary>
    /// Claims stored requests (each leased for one <see cref="TitanicOptions.DispatchTimeout"/>) and sends them to
    /// their services, at most <see cref="TitanicOptions.DispatchWindow"/> at once. A request whose service has no
    /// worker gets its lease shortened to <see cref="NoWorkerRetry"/> (doubling with each attempt); one whose worker did not answer in time is
    /// simply not answered. Either way a later claim takes it again once the lease runs out. That is also what makes a crash of this process safe: the next run finds it unanswered.
    /// </summary>
    private async Task DispatchAsync(IMajordomoClient client, CancellationToken cancellationToken)
    {
        var running = new List<Task>();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                running.RemoveAll(t => t.IsCompleted);
                int room = _options.DispatchWindow - running.Count;
                int claimed = 0;
                if (room > 0)
                {
                    IReadOnlyList<StoredRequest> requests;
                    var now = _time.GetUtcNow();
                    try
                    {
                        // Not cancellable: a claim that commits must reach SendAsync, which frees it again when
                        // stopping; an abandoned wait would leave the requests leased for a whole timeout.
                        requests = await _store.ClaimAsync(room, now, now + _options.DispatchTimeout, CancellationToken.None).ConfigureAwait(false);
                    }
                    catch (DbException ex)
                    {
                        TitanicLog.StoreFailed(_logger, "claim", ex);
                        requests = [];
                    }

                    foreach (var request in requests)
                    {
                        // Still in flight from an earlier claim whose lease ran out first: that attempt decides.
                        if (_inFlight.TryAdd(request.Id, 0))
                        {
                            running.Add(SendAsync(client, request, cancellationToken));
                            claimed++;
                        }
                    }
                }

                if (claimed == 0)
                {
                    // Nothing to send now: wait for a new request, a free slot, or leases running out.
                    var wake = room > 0 ? _stored.WaitAsync(IdlePoll, _time, cancellationToken) : _slotFree.WaitAsync(IdlePoll, _time, cancellationToken);
                    await wake.ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutting down: what is in flight stays leased in the store and is sent again by the next run.
        }

        await Task.WhenAll(running).ConfigureAwait(false);
    }

    private async Task SendAsync(IMajordomoClient client, StoredRequest request, CancellationToken cancellationToken)
    {
        bool sent = false;
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!await HasWorkersAsync(client, request.Service, cancellationToken).ConfigureAwait(false))
            {
                TitanicLog.NoWorker(_logger, request.Id, request.Service);
                int doublings = Math.Min(request.Attempts - 1, 16);
                var wait = TimeSpan.FromTicks(Math.Min(NoWorkerRetry.Ticks << doublings, _options.DispatchTimeout.Ticks));
                await _store.RetryAtAsync(request, _time.GetUtcNow() + wait, cancellationToken).ConfigureAwait(false);
                return;
            }

            Metrics.Dispatched.Add(1);
            sent = true;
            MdpReply reply;
            try
            {
                reply = await client.RequestAsync(request.Service, request.Body.Clone(), cancellationToken).ConfigureAwait(false);
            }
            catch (MdpRequestFailedException)
            {
                // The worker died or was too slow; forget what we knew of the service, so the retry asks again.
                _services.TryRemove(request.Service, out _);
                Metrics.Retried.Add(1);
                TitanicLog.Unanswered(_logger, request.Id, request.Service, request.Attempts);
                return;
            }

            if (await _store.AddReplyAsync(request.Id, reply.Body, _time.GetUtcNow(), cancellationToken).ConfigureAwait(false))
            {
                Metrics.Completed.Add(1);
            }
            else
            {
                TitanicLog.DuplicateReply(_logger, request.Id);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Shutting down mid-request. Not sent yet: free it now, so the next run takes it at once. Sent: a
            // worker may be at it, so the lease runs out first and the next run sends it again after that.
            if (!sent)
            {
                await ReleaseAsync(request).ConfigureAwait(false);
            }
        }
        catch (DbException ex)
        {
            TitanicLog.StoreFailed(_logger, "storing a reply", ex);
        }
        finally
        {
            _inFlight.TryRemove(request.Id, out _);
            _slotFree.Set();
        }
    }

    private async Task ReleaseAsync(StoredRequest request)
    {
        try
        {
            await _store.RetryAtAsync(request, _time.GetUtcNow(), CancellationToken.None).ConfigureAwait(false);
        }
        catch (DbException ex)
        {
            TitanicLog.StoreFailed(_logger, "releasing a lease", ex);
        }
    }

    private async Task<bool> HasWorkersAsync(IMajordomoClient client, string service, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (_services.TryGetValue(service, out var known) && now - known.At < ServiceCheckReuse)
        {
            return known.HasWorkers;
        }

        bool hasWorkers;
        try
        {
            hasWorkers = await client.QueryServiceAsync(service, cancellationToken).ConfigureAwait(false) == Mmi.Found;
        }
        catch (MdpRequestFailedException)
        {
            // The broker did not answer: as good as no worker for now.
            hasWorkers = false;
        }

        _services[service] = (hasWorkers, now);
        return hasWorkers;
    }
}
