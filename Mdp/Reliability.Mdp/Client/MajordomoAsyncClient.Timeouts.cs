using Reliability.Mdp.Protocol;

namespace Reliability.Mdp.Client;

// What happens when a request times out: it is resent (Retries) or failed, and with several brokers
// the client fails over to the next one (docs/patterns/binary-star.md §5).
public sealed partial class MajordomoAsyncClient
{
    /// <summary>
    /// The request's timeout elapsed or its caller cancelled: stop trusting its connection for its
    /// service, then resend it after the settle delay if it timed out and has resends left, else end it.
    /// </summary>
    private void Abandon(Pending pending, bool cancelled)
    {
        var sends = new List<(Lane Lane, Pending Pending)>();
        PendingState state;
        long laneId = 0;
        TimeSpan? resendAfter = null;
        lock (_gate)
        {
            state = pending.State;
            if (state is PendingState.Done or PendingState.New)
            {
                return;
            }

            _settling.Remove(pending);

            // A waiting request stays in its queue and is skipped when dequeued.
            if (state == PendingState.Sent && pending.Lane is { } lane)
            {
                laneId = lane.Id;
                lane.Slots.Remove(pending.Request.Service);
                lane.TimedOut.Add(pending.Request.Service);
                lane.Draining = true;
                if (!cancelled)
                {
                    FailOverLocked(lane, sends);
                }

                if (lane.Slots.Count == 0 && _lanes.Contains(lane))
                {
                    RetireLocked(lane, sends);
                }
            }

            if (!cancelled && state == PendingState.Sent && pending.Sends <= Options.Retries && !_disposed)
            {
                pending.State = PendingState.Settling;
                pending.Lane = null;
                _settling.Add(pending);
                _retries++;
                resendAfter = Options.Brokers.Count > 1 ? Options.SettleDelay : TimeSpan.Zero;
            }
            else
            {
                pending.State = PendingState.Done;
                if (cancelled)
                {
                    _cancelled++;
                }
                else
                {
                    _timedOut++;
                }
            }
        }

        string where = state == PendingState.Sent ? "sent" : "never sent: no free connection";
        if (resendAfter is { } delay)
        {
            ClientMetrics.Retries.Add(1, ClientMetrics.Async);
            MdpTelemetry.Retry(pending.Activity, pending.Sends + 1);
            ClientLog.Resending(_logger, pending.Id, pending.Request.Service, pending.Timeout.TotalMilliseconds, laneId, pending.Sends + 1, delay.TotalMilliseconds);
            _ = ResendAsync(pending, delay);
        }
        else if (cancelled)
        {
            pending.Cancel();
        }
        else
        {
            ClientMetrics.Abandoned.Add(1, ClientMetrics.Async);
            ClientLog.RequestTimedOut(_logger, pending.Id, pending.Request.Service, pending.Timeout.TotalMilliseconds, where, laneId);
            pending.Fail(new MdpRequestFailedException(
                pending.Request.Service,
                pending.Sends,
                Options.BrokerNames,
                $"no reply within {pending.Timeout.TotalMilliseconds} ms ({where})",
                new TimeoutException($"No reply within {pending.Timeout.TotalMilliseconds} ms.")));
        }

        foreach (var (nextLane, next) in sends)
        {
            Send(nextLane, next);
        }
    }

    /// <summary>
    /// A request timed out on <paramref name="lane"/>. If that connection goes to the current broker and
    /// there are others, the next broker becomes the current one: new connections go there, and the
    /// other connections to the old broker take no new requests (each is closed once its own requests
    /// have been answered or timed out). A connection to a broker the client already left changes nothing.
    /// </summary>
    private void FailOverLocked(Lane lane, List<(Lane Lane, Pending Pending)> sends)
    {
        int brokers = Options.Brokers.Count;
        if (brokers == 1 || lane.Broker != _currentBroker)
        {
            return;
        }

        int from = _currentBroker;
        _currentBroker = (from + 1) % brokers;
        ClientLog.FailingOver(_logger, Options.Brokers[from], Options.Brokers[_currentBroker]);
        foreach (var other in _lanes.ToArray())
        {
            if (other != lane && other.Broker == from)
            {
                other.Draining = true;
                if (other.Slots.Count == 0)
                {
                    RetireLocked(other, sends);
                }
            }
        }
    }

    /// <summary>After <paramref name="delay"/>, sends a timed-out request again, on a connection to the current broker, with a fresh timeout.</summary>
    private async Task ResendAsync(Pending pending, TimeSpan delay)
    {
        if (delay > TimeSpan.Zero)
        {
            await Task.Delay(delay, _time).ConfigureAwait(false);
        }

        Lane? lane;
        lock (_gate)
        {
            // Cancelled meanwhile, or failed by the disposal (which empties the set).
            if (_disposed || pending.State != PendingState.Settling || !_settling.Remove(pending))
            {
                return;
            }

            lane = AssignLocked(pending);
        }

        pending.StartTimer();
        if (lane is not null)
        {
            Send(lane, pending);
        }
    }
}
