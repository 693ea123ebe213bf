using Reliability.Mdp.Protocol;
using Reliability.Transport;

namespace Reliability.Mdp.Client;

// The bookkeeping types of the asynchronous client: its connections (lanes) and its requests.
public sealed partial class MajordomoAsyncClient
{
    private enum PendingState
    {
        New,
        Waiting,
        Sent,

        /// <summary>Timed out and waiting for the settle delay before it is resent.</summary>
        Settling,
        Done,
    }

    /// <summary>One DEALER connection and the requests in flight on it, at most one per service.</summary>
    private sealed class Lane(long id, int broker, DealerSocket socket)
    {
        public long Id { get; } = id;

        /// <summary>Index of the broker (in <see cref="MajordomoAsyncClientOptions.Brokers"/>) the connection goes to.</summary>
        public int Broker { get; } = broker;

        public DealerSocket Socket { get; } = socket;

        public CancellationTokenSource Stop { get; } = new();

        public Dictionary<string, Pending> Slots { get; } = new(StringComparer.Ordinal);

        /// <summary>Services whose request on this connection timed out: their replies, if any, are late.</summary>
        public HashSet<string> TimedOut { get; } = new(StringComparer.Ordinal);

        /// <summary>Takes no new requests; closed once <see cref="Slots"/> is empty.</summary>
        public bool Draining { get; set; }

        public Task? ReceiveLoop { get; set; }
    }

    /// <summary>One request: its completion, timer and cancellation registration. State changes happen under the client's lock.</summary>
    private sealed class Pending(MajordomoAsyncClient owner, ClientRequest request, TimeSpan timeout, CancellationToken caller)
    {
        private readonly TaskCompletionSource<MdpReply> _completion = new(
            owner.Options.UnsafeInlineCompletions ? TaskCreationOptions.None : TaskCreationOptions.RunContinuationsAsynchronously);
        private ITimer? _timer;
        private CancellationTokenRegistration _registration;

        public long Id { get; set; }

        public ClientRequest Request { get; } = request;

        /// <summary>The request's client span, ended with the task; null when nobody listens.</summary>
        public System.Diagnostics.Activity? Activity { get; init; }

        public TimeSpan Timeout { get; } = timeout;

        public PendingState State { get; set; }

        public Lane? Lane { get; set; }

        public List<Message> Partials { get; } = [];

        /// <summary>Times the request was handed to a connection.</summary>
        public int Sends { get; set; }

        public Task<MdpReply> Task => _completion.Task;

        /// <summary>Starts the timeout and watches the caller's token (after the request was placed, so both may fire at once).</summary>
        public void Arm()
        {
            StartTimer();
            if (caller.CanBeCanceled)
            {
                _registration = caller.UnsafeRegister(static s => ((Pending)s!).CallerCancelled(), this);
            }

            if (_completion.Task.IsCompleted)
            {
                Release();
            }
        }

        /// <summary>Starts the timeout of one attempt (the first, or a resend: the timer that fired is gone).</summary>
        public void StartTimer()
        {
            var timer = owner._time.CreateTimer(static s => ((Pending)s!).TimerFired(), this, Timeout, System.Threading.Timeout.InfiniteTimeSpan);
            Interlocked.Exchange(ref _timer, timer)?.Dispose();
            if (_completion.Task.IsCompleted)
            {
                Interlocked.Exchange(ref _timer, null)?.Dispose();
            }
        }

        public void Succeed(MdpReply reply)
        {
            Release();
            Activity?.Dispose();
            _completion.TrySetResult(reply);
        }

        public void Fail(Exception exception)
        {
            Release();
            MdpTelemetry.Fail(Activity, exception);
            Activity?.Dispose();
            CompleteWithoutReply(completion => completion.TrySetException(exception));
        }

        public void Cancel()
        {
            Release();
            Activity?.SetStatus(System.Diagnostics.ActivityStatusCode.Error, "cancelled");
            Activity?.Dispose();
            CompleteWithoutReply(completion => completion.TrySetCanceled(caller));
        }

        /// <summary>
        /// Ends the task of a request that got no reply. Inline completions mean the I/O thread with a
        /// reply; a timeout, a cancellation or a disposal must not run the caller's code on the timer
        /// thread or inside someone's Cancel(), so with UnsafeInlineCompletions it goes to the thread pool.
        /// </summary>
        private void CompleteWithoutReply(Action<TaskCompletionSource<MdpReply>> complete)
        {
            if (owner.Options.UnsafeInlineCompletions)
            {
                ThreadPool.UnsafeQueueUserWorkItem(static s => s.Complete(s.Completion), (Complete: complete, Completion: _completion), preferLocal: false);
                return;
            }

            complete(_completion);
        }

        private void TimerFired() => owner.Abandon(this, cancelled: false);

        private void CallerCancelled() => owner.Abandon(this, cancelled: true);

        private void Release()
        {
            Interlocked.Exchange(ref _timer, null)?.Dispose();
            _registration.Dispose();
        }
    }
}
