namespace Reliability.Transport;

/// <summary>
/// Steers a running <see cref="Proxy"/>: the equivalent of the <c>PAUSE</c>, <c>RESUME</c>,
/// <c>TERMINATE</c> and <c>STATISTICS</c> commands of libzmq's <c>zmq_proxy_steerable</c>, as
/// method calls instead of a control socket. Thread-safe; every method returns at once.
/// A control drives one <see cref="Proxy.RunAsync"/> at a time, and a terminated control stays
/// terminated (a run started with it returns immediately).
/// </summary>
public sealed class ProxyControl : IDisposable
{
    private readonly object _gate = new();
    private readonly CancellationTokenSource _terminate = new();
    private TaskCompletionSource? _resumed;
    private volatile bool _paused;
    private int _attached;
    private volatile bool _disposed;

    // Written by the proxy loop only; read from any thread through Interlocked.
    private long _frontendToBackendMessages;
    private long _frontendToBackendBytes;
    private long _backendToFrontendMessages;
    private long _backendToFrontendBytes;
    private long _capturedMessages;
    private long _captureDrops;

    /// <summary>True between <see cref="Pause"/> and <see cref="Resume"/>.</summary>
    public bool IsPaused => _paused;

    /// <summary>True once <see cref="Terminate"/> was called.</summary>
    public bool IsTerminated => _terminate.IsCancellationRequested;

    /// <summary>True while a <see cref="Proxy.RunAsync"/> is using this control.</summary>
    public bool IsRunning => Volatile.Read(ref _attached) != 0;

    /// <summary>What the proxy has moved so far (counters keep growing across pause/resume).</summary>
    public ProxyStatistics Statistics => new(
        Interlocked.Read(ref _frontendToBackendMessages),
        Interlocked.Read(ref _frontendToBackendBytes),
        Interlocked.Read(ref _backendToFrontendMessages),
        Interlocked.Read(ref _backendToFrontendBytes),
        Interlocked.Read(ref _capturedMessages),
        Interlocked.Read(ref _captureDrops));

    /// <summary>
    /// Stops forwarding: the proxy receives nothing more from either socket, so messages wait in the
    /// sockets' queues (and, past their high-water marks, in the peers'). A message the proxy already
    /// took is delivered after <see cref="Resume"/>. Any message that reaches the proxy after this call
    /// returns is held until then. Calling it while paused does nothing.
    /// </summary>
    public void Pause()
    {
        lock (_gate)
        {
            if (!_paused)
            {
                _resumed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                _paused = true;
            }
        }
    }

    /// <summary>Resumes forwarding after <see cref="Pause"/>; nothing is lost. Calling it while running does nothing.</summary>
    public void Resume()
    {
        TaskCompletionSource? wake;
        lock (_gate)
        {
            wake = _resumed;
            _resumed = null;
            _paused = false;
        }

        wake?.TrySetResult();
    }

    /// <summary>
    /// Ends the proxy: <see cref="Proxy.RunAsync"/> returns normally (it does not throw) as soon as its
    /// loop notices, also when paused. Messages it took but did not deliver yet are dropped, as with
    /// libzmq. Permanent: a control cannot be restarted.
    /// </summary>
    public void Terminate()
    {
        try
        {
            // Asynchronous callbacks: the proxy's wake-up must not run on the caller's thread.
            _ = _terminate.CancelAsync();
        }
        catch (ObjectDisposedException)
        {
            // Disposed: nothing left to terminate.
        }
    }

    /// <summary>Releases the termination signal. Terminates a proxy still using this control.</summary>
    public void Dispose()
    {
        _disposed = true;
        Terminate();
        if (!IsRunning)
        {
            _terminate.Dispose();
        }
    }

    /// <summary>Fires when <see cref="Terminate"/> is called.</summary>
    internal CancellationToken TerminationToken => _terminate.Token;

    /// <summary>Claims the control for one run; false when another run holds it.</summary>
    internal bool TryAttach()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return Interlocked.CompareExchange(ref _attached, 1, 0) == 0;
    }

    internal void Detach() => Volatile.Write(ref _attached, 0);

    /// <summary>Completes when not paused (at once if running).</summary>
    internal Task ResumedSignal()
    {
        lock (_gate)
        {
            return _resumed?.Task ?? Task.CompletedTask;
        }
    }

    internal void CountForwarded(bool frontendToBackend, long bytes)
    {
        if (frontendToBackend)
        {
            Interlocked.Increment(ref _frontendToBackendMessages);
            Interlocked.Add(ref _frontendToBackendBytes, bytes);
        }
        else
        {
            Interlocked.Increment(ref _backendToFrontendMessages);
            Interlocked.Add(ref _backendToFrontendBytes, bytes);
        }
    }

    internal void CountCapture(bool accepted)
    {
        if (accepted)
        {
            Interlocked.Increment(ref _capturedMessages);
        }
        else
        {
            Interlocked.Increment(ref _captureDrops);
        }
    }
}
