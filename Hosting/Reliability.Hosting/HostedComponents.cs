using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Reliability.Mdp.Broker;
using Reliability.Mdp.Worker;
using Reliability.Transport;

namespace Reliability.Hosting;

/// <summary>
/// Runs the registered broker for the host's lifetime: binds on start (so a busy port fails the host's
/// start, not later), and on stop sends DISCONNECT to its workers and closes within its own shutdown timeout.
/// </summary>
internal sealed class BrokerHostedService(MajordomoBroker broker) : IHostedService
{
    private Task? _run;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        broker.Bind();

        // Stopped by disposal, which does what cancelling RunAsync would.
        _run = broker.RunAsync(CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await broker.DisposeAsync().AsTask().WaitAsync(cancellationToken).ConfigureAwait(false);
        if (_run is not null)
        {
            await _run.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }
}

/// <summary>
/// Runs one registered worker for the host's lifetime. Stopping is graceful
/// (<see cref="MajordomoWorker.StopAsync"/>): the request in progress is finished and answered, then
/// DISCONNECT is sent; the host's shutdown timeout (the token of <see cref="StopAsync"/>) bounds the wait.
/// </summary>
internal sealed class WorkerHostedService(
    WorkerOptions options,
    Func<MdpRequest, CancellationToken, ValueTask<Message>> handler,
    ILoggerFactory? loggerFactory,
    TimeProvider time) : IHostedService, IAsyncDisposable
{
    private MajordomoWorker? _worker;
    private Task? _run;

    /// <summary>The worker, once started (tests read its statistics).</summary>
    public MajordomoWorker? Worker => _worker;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _worker = new MajordomoWorker(options, loggerFactory, time);
        _run = _worker.RunAsync(handler, CancellationToken.None);
        return Task.CompletedTask;
    }

    /// <summary>Closes the worker if the host never stopped it (e.g. a later service failed to start).</summary>
    public ValueTask DisposeAsync() => _worker?.DisposeAsync() ?? ValueTask.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_worker is null)
        {
            return;
        }

        await _worker.StopAsync(cancellationToken).ConfigureAwait(false);

        // RunAsync has ended, or is unwinding after the handler's token was cancelled; a fault surfaces here.
        try
        {
            await _run!.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Out of time: the worker has closed; a handler that ignores its token is left behind.
        }
    }
}
