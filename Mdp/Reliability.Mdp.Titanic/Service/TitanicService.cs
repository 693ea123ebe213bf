using System.Data.Common;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Reliability.Mdp.Client;
using Reliability.Mdp.Titanic.Store;
using Reliability.Mdp.Worker;
using Reliability.Transport;

namespace Reliability.Mdp.Titanic.Service;

/// <summary>
/// The Titanic service (RFC 9, docs/patterns/titanic.md): a Majordomo worker for <c>titanic.request</c>,
/// <c>titanic.reply</c> and <c>titanic.close</c> over a durable <see cref="ITitanicStore"/>, and a Majordomo client
/// that sends the stored requests to their services and stores their replies.
/// </summary>
/// <remarks>
/// <c>titanic.request</c> has <see cref="TitanicOptions.RequestWorkers"/> workers, so that many submissions are in
/// the store's queue at once and share one commit; each is acknowledged only after that commit. The store is not
/// disposed here: the caller owns it and disposes it after <see cref="RunAsync"/> ends, which commits what is queued.
/// </remarks>
internal sealed partial class TitanicService
{
    private readonly TitanicOptions _options;
    private readonly ITitanicStore _store;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Signal _stored = new();
    private readonly Signal _expireDue = new();
    private long _count;

    /// <summary>Creates the service; nothing runs before <see cref="RunAsync"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="options"/> is invalid.</exception>
    public TitanicService(TitanicOptions options, ITitanicStore store, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(store);
        options.Validate();
        _options = options;
        _store = store;
        _loggerFactory = loggerFactory ?? NullLoggerFactory.Instance;
        _logger = _loggerFactory.CreateLogger("Reliability.Mdp.Titanic");
        _time = timeProvider ?? TimeProvider.System;
        Metrics = new TitanicMetrics(() => Interlocked.Read(ref _count));
    }

    /// <summary>The service's instruments.</summary>
    internal TitanicMetrics Metrics { get; }

    /// <summary>
    /// Registers the workers and dispatches stored requests until <paramref name="cancellationToken"/> is cancelled;
    /// then the workers send DISCONNECT and the dispatch stops (requests in flight stay in the store and are sent
    /// again by the next run).
    /// </summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        // Not cancellable: a stop signal during start-up still ends in an orderly stop below, not an exception.
        int count = await _store.CountAsync(CancellationToken.None).ConfigureAwait(false);
        Interlocked.Exchange(ref _count, count);
        TitanicLog.Started(_logger, _options.BrokerEndpoint, count, _store.MaxRequests);

        var workers = new List<MajordomoWorker>();
        var clientOptions = new MajordomoAsyncClientOptions
        {
            BrokerEndpoint = _options.BrokerEndpoint,
            Timeout = _options.DispatchTimeout,

            // One connection per request in flight for one service (the client's rule), and a few for mmi.service.
            MaxConnections = _options.DispatchWindow + 8,
        };
        await using var client = new MajordomoAsyncClient(clientOptions, _loggerFactory, _time);
        try
        {
            var tasks = new List<Task>();
            for (int i = 0; i < _options.RequestWorkers; i++)
            {
                tasks.Add(Serve(workers, Tsp.RequestService, HandleRequestAsync, cancellationToken));
            }

            tasks.Add(Serve(workers, Tsp.ReplyService, HandleReplyAsync, cancellationToken));
            tasks.Add(Serve(workers, Tsp.ReplyService, HandleReplyAsync, cancellationToken));
            tasks.Add(Serve(workers, Tsp.CloseService, HandleCloseAsync, cancellationToken));
            tasks.Add(DispatchAsync(client, cancellationToken));
            tasks.Add(ExpireAsync(cancellationToken));
            await Task.WhenAll(tasks).ConfigureAwait(false);
        }
        finally
        {
            foreach (var worker in workers)
            {
                await worker.DisposeAsync().ConfigureAwait(false);
            }

            TitanicLog.Stopped(_logger);
        }
    }

    private Task Serve(List<MajordomoWorker> workers, string service, Func<MdpRequest, CancellationToken, ValueTask<Message>> handler, CancellationToken cancellationToken)
    {
        var worker = new MajordomoWorker(new WorkerOptions { BrokerEndpoint = _options.BrokerEndpoint, Service = service }, _loggerFactory, _time);
        workers.Add(worker);
        return worker.RunAsync(handler, cancellationToken);
    }

    private async ValueTask<Message> HandleRequestAsync(MdpRequest request, CancellationToken cancellationToken)
    {
        if (!Tsp.TryParseRequest(request.Body, out string service, out var body))
        {
            TitanicLog.Malformed(_logger, Tsp.RequestService, request.Body.Count);
            return Tsp.StatusReply(Tsp.Unknown);
        }

        string? id;
        try
        {
            id = await _store.AddRequestAsync(service, body, cancellationToken).ConfigureAwait(false);
        }
        catch (DbException ex)
        {
            TitanicLog.StoreFailed(_logger, Tsp.RequestService, ex);
            Metrics.Refused.Add(1);
            return Tsp.StatusReply(Tsp.Error);
        }

        if (id is null)
        {
            TitanicLog.Full(_logger, _store.MaxRequests);
            Metrics.Refused.Add(1);
            return Tsp.StatusReply(Tsp.Error);
        }

        Interlocked.Increment(ref _count);
        Metrics.Stored.Add(1);
        _stored.Set();
        return Tsp.StoredReply(id);
    }

    private async ValueTask<Message> HandleReplyAsync(MdpRequest request, CancellationToken cancellationToken)
    {
        if (!Tsp.TryParseId(request.Body, out string id))
        {
            TitanicLog.Malformed(_logger, Tsp.ReplyService, request.Body.Count);
            return Tsp.StatusReply(Tsp.Unknown);
        }

        ReplyLookup lookup;
        try
        {
            lookup = await _store.GetReplyAsync(id, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is DbException or InvalidDataException)
        {
            TitanicLog.StoreFailed(_logger, Tsp.ReplyService, ex);
            return Tsp.StatusReply(Tsp.Error);
        }

        return lookup.State switch
        {
            ReplyState.Answered => Tsp.FoundReply(lookup.Reply!),
            ReplyState.Pending => Tsp.StatusReply(Tsp.Pending),
            _ => Tsp.StatusReply(Tsp.Unknown),
        };
    }

    private async ValueTask<Message> HandleCloseAsync(MdpRequest request, CancellationToken cancellationToken)
    {
        if (!Tsp.TryParseId(request.Body, out string id))
        {
            TitanicLog.Malformed(_logger, Tsp.CloseService, request.Body.Count);
            return Tsp.StatusReply(Tsp.Unknown);
        }

        try
        {
            await _store.CloseAsync(id, cancellationToken).ConfigureAwait(false);
            Interlocked.Exchange(ref _count, await _store.CountAsync(cancellationToken).ConfigureAwait(false));
        }
        catch (DbException ex)
        {
            TitanicLog.StoreFailed(_logger, Tsp.CloseService, ex);
            return Tsp.StatusReply(Tsp.Error);
        }

        return Tsp.StatusReply(Tsp.Ok);
    }

    private async Task ExpireAsync(CancellationToken cancellationToken)
    {
        // A quarter of the time to live, at most a minute: a reply outlives its TTL by at most that.
        var interval = TimeSpan.FromTicks(Math.Min(_options.ReplyTtl.Ticks / 4, TimeSpan.FromMinutes(1).Ticks));
        using var timer = _time.CreateTimer(_ => _expireDue.Set(), null, interval, interval);
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await _expireDue.WaitAsync(cancellationToken).ConfigureAwait(false);
                int expired = await _store.ExpireAsync(_time.GetUtcNow() - _options.ReplyTtl, cancellationToken).ConfigureAwait(false);
                if (expired > 0)
                {
                    Metrics.Expired.Add(expired);
                    TitanicLog.Expired(_logger, expired, _options.ReplyTtl);
                    Interlocked.Exchange(ref _count, await _store.CountAsync(cancellationToken).ConfigureAwait(false));
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (DbException ex)
            {
                TitanicLog.StoreFailed(_logger, "expiry", ex);
            }
        }
    }
}
