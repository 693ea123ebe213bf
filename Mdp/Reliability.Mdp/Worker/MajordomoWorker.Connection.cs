using Reliability.Transport;

namespace Reliability.Mdp.Worker;

/// <summary>The per-connection parts of the worker: the heartbeat timer and the connection itself.</summary>
public sealed partial class MajordomoWorker
{
    /// <summary>
    /// The timer of one connection: a one-shot timer re-armed after each tick for the next heartbeat or
    /// expiry deadline, so ticks never overlap and a reply that postponed the heartbeat costs one early tick.
    /// </summary>
    private sealed class Pulse : IAsyncDisposable
    {
        private readonly MajordomoWorker _worker;
        private readonly Connection _connection;
        private readonly ITimer _timer;
        private int _stopped;

        public Pulse(MajordomoWorker worker, Connection connection)
        {
            _worker = worker;
            _connection = connection;

            // Created unarmed, so the callback can never run before the field is set.
            _timer = worker._time.CreateTimer(static s => ((Pulse)s!).OnTick(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }

        public void Arm(TimeSpan dueIn)
        {
            if (Volatile.Read(ref _stopped) == 0)
            {
                _timer.Change(dueIn, Timeout.InfiniteTimeSpan);
            }
        }

        public ValueTask DisposeAsync()
        {
            Volatile.Write(ref _stopped, 1);
            return _timer.DisposeAsync();
        }

        private void OnTick()
        {
            if (Volatile.Read(ref _stopped) != 0)
            {
                return;
            }

            try
            {
                if (_worker.Tick(_connection) is { } next)
                {
                    Arm(next);
                }
            }
            catch (Exception ex)
            {
                // A timer callback that throws would take the process down; end the connection instead.
                WorkerLog.LoopFailed(_worker._logger, _worker.Options.Service, ex);
                _connection.Abort(SessionEnd.BrokerSilent);
            }
        }
    }

    /// <summary>One logical connection to the broker: a socket used from READY until it is replaced.</summary>
    private sealed class Connection(long id, DealerSocket socket) : IDisposable
    {
        private readonly CancellationTokenSource _abort = new();
        private int _abortReason = -1;

        public long Id { get; } = id;

        public DealerSocket Socket { get; } = socket;

        public CancellationToken AbortToken => _abort.Token;

        public SessionEnd AbortReason => (SessionEnd)Volatile.Read(ref _abortReason);

        public void Abort(SessionEnd reason)
        {
            if (Interlocked.CompareExchange(ref _abortReason, (int)reason, -1) == -1)
            {
                try
                {
                    // The connection loop resumes on the thread pool, not inside whoever aborts (a
                    // failed handler, the pulse timer), so it can close that very socket.
                    _ = _abort.CancelAsync();
                }
                catch (ObjectDisposedException)
                {
                    // The connection ended meanwhile; nothing left to abort.
                }
            }
        }

        public void Dispose() => _abort.Dispose();
    }
}
