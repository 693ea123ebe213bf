using Reliability.Patterns.Queueing;
using System.Diagnostics.Metrics;
using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Reliability.Mdp.Broker;
using Reliability.Mdp.Protocol;
using Reliability.Testing;
using Reliability.Transport;

namespace Reliability.Mdp.Tests.Broker;

/// <summary>One message the core sent: the peer it went to and the message as that peer would parse it.</summary>
internal sealed record Sent(string Peer, Message Frames)
{
    public MdpParseResult<MdpWorkerCommand> AsWorker => MdpCodec.ParseAtWorker(Frames);

    public MdpParseResult<MdpClientCommand> AsClient => MdpCodec.ParseAtClient(Frames, MdpClientSocket.Dealer);
}

/// <summary>Records what the core sends; peers can be made unreachable or full.</summary>
internal sealed class RecordingSender : IBrokerSender
{
    public List<Sent> Messages { get; } = [];

    public HashSet<string> Unreachable { get; } = [];

    public HashSet<string> Full { get; } = [];

    /// <summary>Peers whose reading the core has paused now.</summary>
    public HashSet<string> Paused { get; } = [];

    public void Pause(Reliability.Patterns.Heartbeating.RoutingKey client) => Paused.Add(Encoding.UTF8.GetString(client.Span));

    public void Resume(Reliability.Patterns.Heartbeating.RoutingKey client) => Paused.Remove(Encoding.UTF8.GetString(client.Span));

    public PeerSendResult TrySend(Message message)
    {
        string peer = Encoding.UTF8.GetString(message[0].Span);
        if (Unreachable.Contains(peer))
        {
            return PeerSendResult.Unreachable;
        }

        if (Full.Contains(peer))
        {
            return PeerSendResult.QueueFull;
        }

        var copy = new Message(message.Skip(1));
        Messages.Add(new Sent(peer, copy));
        return PeerSendResult.Sent;
    }
}

/// <summary>
/// A <see cref="BrokerCore"/> on a manual clock, fed with messages built by <see cref="MdpCodec"/> exactly as
/// the ROUTER would deliver them (routing id first). Peer ids are short ASCII strings for readable tests.
/// </summary>
internal sealed class CoreHarness : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly Dictionary<string, long> _counters = new(StringComparer.Ordinal);

    public CoreHarness(BrokerOptions? options = null, ILogger? logger = null)
    {
        Options = options ?? new BrokerOptions
        {
            HeartbeatInterval = TimeSpan.FromSeconds(1),
            Liveness = 3,
            RequestExpiry = TimeSpan.FromSeconds(10),
        };
        Metrics = new BrokerMetrics();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter == Metrics.Meter)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            string key = instrument.Name;
            foreach (var tag in tags)
            {
                if (tag.Key is "reason" or "mdp.service")
                {
                    key += "|" + tag.Value;
                }
            }

            lock (_counters)
            {
                _counters[key] = _counters.GetValueOrDefault(key) + value;
                _counters[instrument.Name + "|*"] = _counters.GetValueOrDefault(instrument.Name + "|*") + value;
            }
        });
        _listener.Start();
        Core = new BrokerCore(Options, Sender, Clock, logger ?? NullLogger.Instance, Metrics);
    }

    public BrokerOptions Options { get; }

    public ManualTimeProvider Clock { get; } = new();

    public RecordingSender Sender { get; } = new();

    public BrokerMetrics Metrics { get; }

    public BrokerCore Core { get; }

    /// <summary>Sum of a metric; <paramref name="tag"/> selects a reason or service tag, "*" sums all.</summary>
    public long Metric(string name, string tag = "*")
    {
        lock (_counters)
        {
            return _counters.GetValueOrDefault($"reliability.mdp.broker.{name}|{tag}");
        }
    }

    public void Deliver(string peer, Message message)
    {
        message.Prepend(Encoding.UTF8.GetBytes(peer));
        Core.OnMessage(message);
    }

    public void Ready(string worker, string service, MdpVersion version = MdpVersion.V01) =>
        Deliver(worker, MdpCodec.BuildFromWorker(new WorkerReady(service), version));

    public void Heartbeat(string worker, MdpVersion version = MdpVersion.V01) =>
        Deliver(worker, MdpCodec.BuildFromWorker(WorkerHeartbeat.Instance, version));

    public void Disconnect(string worker, MdpVersion version = MdpVersion.V01) =>
        Deliver(worker, MdpCodec.BuildFromWorker(WorkerDisconnect.Instance, version));

    /// <summary>REPLY in MDP/0.1, FINAL in MDP/0.2.</summary>
    public void Reply(string worker, string client, string body, MdpVersion version = MdpVersion.V01)
    {
        ReadOnlyMemory<byte> address = Encoding.UTF8.GetBytes(client);
        MdpWorkerCommand reply = version == MdpVersion.V01
            ? new WorkerReply(address, Encoding.UTF8.GetBytes(body))
            : new WorkerFinal(address, Encoding.UTF8.GetBytes(body));
        Deliver(worker, MdpCodec.BuildFromWorker(reply, version));
    }

    public void Partial(string worker, string client, string body) =>
        Deliver(worker, MdpCodec.BuildFromWorker(new WorkerPartial(Encoding.UTF8.GetBytes(client), Encoding.UTF8.GetBytes(body)), MdpVersion.V02));

    public void Request(string client, string service, string body, MdpVersion version = MdpVersion.V01) =>
        Deliver(client, MdpCodec.BuildFromClient(new ClientRequest(service, Encoding.UTF8.GetBytes(body)), version, MdpClientSocket.Dealer));

    public void Request(string client, string service, IEnumerable<ReadOnlyMemory<byte>> body, MdpVersion version = MdpVersion.V01) =>
        Deliver(client, MdpCodec.BuildFromClient(new ClientRequest(service, body), version, MdpClientSocket.Dealer));

    /// <summary>Moves the clock forward the way the socket loop does: <see cref="BrokerCore.OnTimer"/> at every deadline on the way.</summary>
    public void Advance(TimeSpan by)
    {
        long target = Clock.GetTimestamp() + by.Ticks;

        // Bounded: every deadline lies ahead of the clock after OnTimer, and the clock only moves forward.
        for (int i = 0; i < 1_000_000; i++)
        {
            long deadline = Core.NextDeadline;
            if (deadline > target)
            {
                break;
            }

            Clock.Advance(TimeSpan.FromTicks(Math.Max(0, deadline - Clock.GetTimestamp())));
            Core.OnTimer();
        }

        Clock.Advance(TimeSpan.FromTicks(Math.Max(0, target - Clock.GetTimestamp())));
    }

    /// <summary>Removes and returns what was sent to <paramref name="peer"/>, in order.</summary>
    public List<Sent> Take(string peer)
    {
        var taken = Sender.Messages.Where(m => m.Peer == peer).ToList();
        Sender.Messages.RemoveAll(m => m.Peer == peer);
        return taken;
    }

    /// <summary>Removes what was sent to <paramref name="peer"/> and returns the worker commands, heartbeats left out.</summary>
    public List<MdpWorkerCommand> TakeWorkerCommands(string peer, bool includeHeartbeats = false) =>
        Take(peer).Select(s => s.AsWorker)
            .Select(r => r.IsSuccess ? r.Command : throw new InvalidOperationException("broker sent an invalid worker message: " + r.Error))
            .Where(c => includeHeartbeats || c is not WorkerHeartbeat)
            .ToList();

    public List<MdpClientCommand> TakeClientReplies(string peer) =>
        Take(peer).Select(s => s.AsClient)
            .Select(r => r.IsSuccess ? r.Command : throw new InvalidOperationException("broker sent an invalid client message: " + r.Error))
            .ToList();

    /// <summary>The one REQUEST sent to <paramref name="worker"/> since the last take, as (client, body).</summary>
    public (string Client, string Body) TakeRequest(string worker)
    {
        var request = TakeWorkerCommands(worker).Should().ContainSingle().Which.Should().BeOfType<WorkerRequest>().Subject;
        return (Encoding.UTF8.GetString(request.ClientAddress.Span), Encoding.UTF8.GetString(request.Body[0].Span));
    }

    /// <summary>The body text of the one reply sent to <paramref name="client"/>, checking its type.</summary>
    public string TakeReply<TReply>(string client)
        where TReply : MdpClientCommand
    {
        var reply = TakeClientReplies(client).Should().ContainSingle().Which.Should().BeOfType<TReply>().Subject;
        return reply.Body.Count == 0 ? string.Empty : Encoding.UTF8.GetString(reply.Body[0].Span);
    }

    /// <summary>Asks <c>mmi.service</c> about <paramref name="service"/> and returns the status.</summary>
    public string? MmiLookup(string service, string client = "mmi-client")
    {
        Deliver(client, MdpCodec.BuildFromClient(Mmi.CreateLookup(service), MdpVersion.V01, MdpClientSocket.Dealer));
        var reply = TakeClientReplies(client).Should().ContainSingle().Subject;
        reply.Service.Should().Be(Mmi.ServiceLookup);
        return Mmi.ReadStatus(reply.Body);
    }

    public void Dispose()
    {
        _listener.Dispose();
        Metrics.Dispose();
    }
}
