using Reliability.Transport.Internal;

namespace Reliability.Transport;

/// <summary>The socket's pipes: creating and removing them, and round-robin over those that can take a message.</summary>
public abstract partial class ZmqSocket
{
    /// <summary>Pipes whose connection is up, as a snapshot (fan-out and subscription forwarding).</summary>
    private protected List<Pipe> ConnectedPipes()
    {
        lock (_gate)
        {
            return _allPipes.Where(p => p.Connection is not null && !p.IsTerminated).ToList();
        }
    }

    /// <summary>Round-robin over pipes that can take the message now (DEALER, REQ, PUSH).</summary>
    private protected bool TryRoundRobin(Message message, out Pipe? chosen)
    {
        lock (_gate)
        {
            int count = _loadBalanced.Count;
            for (int i = 0; i < count; i++)
            {
                int index = (_roundRobin + i) % count;
                var pipe = _loadBalanced[index];
                if (pipe.Outbound.TryEnqueue(message))
                {
                    _roundRobin = (index + 1) % count;
                    chosen = pipe;
                    return true;
                }
            }
        }

        chosen = null;
        return false;
    }

    /// <summary>Completes when any load-balanced pipe has room, or the pipe set changes.</summary>
    private protected Task LoadBalanceSignal()
    {
        lock (_gate)
        {
            _pipesChanged ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            if (_loadBalanced.Count == 0)
            {
                return _pipesChanged.Task;
            }

            var signals = new Task[_loadBalanced.Count + 1];
            for (int i = 0; i < _loadBalanced.Count; i++)
            {
                signals[i] = _loadBalanced[i].Outbound.WritableSignal();
            }

            signals[^1] = _pipesChanged.Task;
            return Task.WhenAny(signals);
        }
    }

    // ---- pipes -----------------------------------------------------------------------------

    private Pipe NewPipe(string endpoint, bool connectSide)
    {
        var pipe = new Pipe(endpoint, connectSide, Options.SendHighWaterMark, Options.ReceiveHighWaterMark, Options.SendHighWaterMarkBytes);
        lock (_gate)
        {
            _allPipes.Add(pipe);
        }

        return pipe;
    }

    /// <summary>Removes a pipe for good and drops whatever it still had queued.</summary>
    private void TerminatePipe(Pipe pipe)
    {
        pipe.IsTerminated = true;
        lock (_gate)
        {
            _allPipes.Remove(pipe);
        }

        RemoveLoadBalanced(pipe);
        pipe.Outbound.Complete();
        int lost = pipe.Outbound.Clear();
        if (lost > 0)
        {
            TransportMetrics.Dropped(Type, "peer gone", lost);
        }
    }

    private void AddLoadBalanced(Pipe pipe)
    {
        TaskCompletionSource? wake;
        lock (_gate)
        {
            _loadBalanced.Add(pipe);
            wake = _pipesChanged;
            _pipesChanged = null;
        }

        wake?.TrySetResult();
    }

    private void RemoveLoadBalanced(Pipe pipe)
    {
        TaskCompletionSource? wake;
        lock (_gate)
        {
            int index = _loadBalanced.IndexOf(pipe);
            if (index < 0)
            {
                return;
            }

            _loadBalanced.RemoveAt(index);
            if (_roundRobin > index)
            {
                _roundRobin--;
            }

            if (_loadBalanced.Count > 0)
            {
                _roundRobin %= _loadBalanced.Count;
            }
            else
            {
                _roundRobin = 0;
            }

            wake = _pipesChanged;
            _pipesChanged = null;
        }

        wake?.TrySetResult();
    }
}
