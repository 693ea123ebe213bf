using Reliability.Patterns.LazyPirate;
using Reliability.Transport;

namespace Reliability.Patterns.Freelance;

/// <summary>The core's tries, server liveness transitions and completions.</summary>
internal sealed partial class FreelanceCore
{
    /// <summary>
    /// Starts a try of <paramref name="request"/>: router sends to the first live server after index
    /// <paramref name="after"/> (wrapping), shotgun to every live server. With none alive the request
    /// waits (until its deadline) for a server to answer a ping.
    /// </summary>
    private void Dispatch(FreelancePending request, long now, int after)
    {
        request.Version++;
        bool sent = _broadcast ? SendToAll(request) : SendToNext(request, after);
        if (!sent)
        {
            request.Server = -1;
            _timers.Enqueue((request, request.Version), request.Deadline);
            return;
        }

        request.Tries++;
        if (request.Tries > 1)
        {
            Statistics = Statistics with { Retries = Statistics.Retries + 1 };
            _metrics.Retries.Add(1, _metrics.Tags);
            string target = _broadcast ? "every live server" : _servers[request.Server].Endpoint;
            FreelanceLog.Retrying(_logger, request.Sequence, request.Tries, target);
            Callback.Invoke(_options.OnRetry, new RetryArguments(request.Sequence, request.Tries, target), _logger, nameof(FreelanceOptions.OnRetry));
        }

        _timers.Enqueue((request, request.Version), Math.Min(now + _tryUnits, request.Deadline));
    }

    private bool SendToNext(FreelancePending request, int after)
    {
        // Bounded: at most one pass over the servers; a refused send moves on to the next live one.
        for (int step = 1; step <= _servers.Length; step++)
        {
            int index = (after + step + _servers.Length) % _servers.Length;
            if (_servers[index].Alive && Send(_servers[index], FreelanceProtocol.RequestTo(_servers[index].Id, request.SequenceFrame, request.Body)))
            {
                request.Server = index;
                return true;
            }
        }

        return false;
    }

    private bool SendToAll(FreelancePending request)
    {
        bool any = false;
        foreach (var server in _servers)
        {
            if (server.Alive && Send(server, FreelanceProtocol.RequestTo(server.Id, request.SequenceFrame, request.Body)))
            {
                any = true;
            }
        }

        request.Server = any ? 0 : -1;
        return any;
    }

    private bool Send(Server server, Message message)
    {
        var result = _sender.TrySend(message);
        if (result != FreelanceSendResult.Sent)
        {
            FreelanceLog.SendRefused(_logger, server.Endpoint, result);
        }

        return result == FreelanceSendResult.Sent;
    }

    private void Ping(Server server, long now)
    {
        server.PingAt = now + _pingUnits;
        Send(server, FreelanceProtocol.PingTo(server.Id));
    }

    /// <summary>Any traffic from a server proves it alive; one coming back picks up the waiting requests.</summary>
    private void Heard(Server server, long now)
    {
        server.ExpiresAt = now + _ttlUnits;
        if (server.Alive)
        {
            return;
        }

        server.Alive = true;
        FreelanceLog.ServerAlive(_logger, server.Endpoint);
        Callback.Invoke(_options.OnServerChanged, new FreelanceServerArguments(server.Endpoint, true, "answered"), _logger, nameof(FreelanceOptions.OnServerChanged));
        foreach (var waiting in _pending.Values.Where(r => r.Server < 0).ToArray())
        {
            Dispatch(waiting, now, after: -1);
        }
    }

    /// <summary>A dead server's router tries move on to the next live server at once, without waiting for their timeout.</summary>
    private void Lose(Server server, long now, string reason)
    {
        server.Alive = false;
        server.ExpiresAt = long.MaxValue;
        FreelanceLog.ServerDead(_logger, server.Endpoint, reason);
        Callback.Invoke(_options.OnServerChanged, new FreelanceServerArguments(server.Endpoint, false, reason), _logger, nameof(FreelanceOptions.OnServerChanged));
        if (_broadcast)
        {
            return;
        }

        int index = Array.IndexOf(_servers, server);
        foreach (var request in _pending.Values.Where(r => r.Server == index).ToArray())
        {
            if (now >= request.Deadline)
            {
                Abandon(request);
            }
            else
            {
                Dispatch(request, now, after: index);
            }
        }
    }

    private void Reply(Server server, long sequence, Message message)
    {
        if (!_pending.Remove(sequence, out var request))
        {
            Statistics = Statistics with { LateReplies = Statistics.LateReplies + 1 };
            _metrics.Dropped.Add(1, _metrics.Tags);
            FreelanceLog.LateReply(_logger, sequence, server.Endpoint);
            return;
        }

        var reply = new Message(message.Count - 2);
        for (int i = 2; i < message.Count; i++)
        {
            reply.Append(message[i]);
        }

        Statistics = Statistics with { Replies = Statistics.Replies + 1 };
        request.Complete(reply);
    }

    private void Invalid(Message message, string reason)
    {
        Statistics = Statistics with { Invalid = Statistics.Invalid + 1 };
        _metrics.Dropped.Add(1, _metrics.Tags);
        FreelanceLog.InvalidMessage(_logger, message.Count, reason);
    }

    private void Abandon(FreelancePending request)
    {
        _pending.Remove(request.Sequence);
        Statistics = Statistics with { Failed = Statistics.Failed + 1 };
        _metrics.Abandoned.Add(1, _metrics.Tags);
        FreelanceLog.RequestAbandoned(_logger, request.Sequence, request.Tries);
        request.Fail(new RequestFailedException(request.Tries, _options.Endpoints, new TimeoutException("no reply before the request's deadline")));
    }
}
