using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using Reliability.Mdp.Protocol;
using Reliability.Mdp.Worker;
using Reliability.Patterns.Sessions;
using Reliability.Patterns.Tests.Sessions;
using Reliability.Testing;
using Reliability.Transport;

namespace Reliability.Mdp.Tests.Worker;

/// <summary>The Majordomo worker's decisions on a manual clock, with a recording link in place of a socket.</summary>
public sealed class WorkerCoreTests : IAsyncDisposable
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(2500);
    private static readonly byte[] Client = [0x00, 0x6B, 0x8B, 0x45, 0x67];

    private readonly ManualTimeProvider _clock = new();
    private readonly List<(long Connection, WorkerRequest Request)> _delivered = [];
    private readonly MajordomoWorker _owner = new(new WorkerOptions { BrokerEndpoint = "tcp://127.0.0.1:1", Service = "echo" });

    private WorkerCore Create(MdpVersion version = MdpVersion.V01, Action<Patterns.PeerLostArguments>? onPeerLost = null) => new(
        new WorkerOptions { BrokerEndpoint = "tcp://127.0.0.1:5555", Service = "echo", Version = version, OnPeerLost = onPeerLost },
        _clock,
        NullLogger.Instance,
        (connection, request, _) => _delivered.Add((connection, request)));

    [Fact]
    public void OnOpened_SendsReady_AndCountsTheConnection()
    {
        var core = Create();
        var link = new RecordingLink(1);

        core.OnOpened(link);

        Commands(link).Should().Equal("READY echo");
        core.Statistics.Connections.Should().Be(1);
        core.NextDeadlineIn.Should().Be(Interval);
    }

    [Fact]
    public void OnTimer_AfterAnIntervalOfQuiet_SendsOneHeartbeat()
    {
        var core = Create();
        var link = Opened(core);

        _clock.Advance(Interval);
        core.OnTimer(link);
        core.OnTimer(link);

        Commands(link).Should().Equal("HEARTBEAT");
        core.Statistics.HeartbeatsSent.Should().Be(1);
        link.Ended.Should().BeNull();
    }

    [Fact]
    public void OnTimer_BrokerSilentForHeartbeatTimesLiveness_EndsTheConnectionAsSilent()
    {
        var core = Create();
        var link = Opened(core);

        // Heartbeats go out every interval, but nothing comes back.
        for (int i = 0; i < 3; i++)
        {
            _clock.Advance(Interval);
            core.OnTimer(link);
        }

        link.Ended.Should().Be(SessionEnd.PeerSilent);
    }

    [Fact]
    public void OnMessage_BrokerHeartbeat_KeepsTheBrokerAlive()
    {
        var core = Create();
        var link = Opened(core);

        for (int i = 0; i < 10; i++)
        {
            _clock.Advance(Interval);
            core.OnMessage(link, FromBroker(WorkerHeartbeat.Instance));
            core.OnTimer(link);
        }

        link.Ended.Should().BeNull();
        core.Statistics.HeartbeatsReceived.Should().Be(10);
    }

    [Fact]
    public void OnMessage_Request_IsDeliveredWithItsConnection()
    {
        var core = Create();
        var link = Opened(core, id: 7);

        core.OnMessage(link, FromBroker(new WorkerRequest(Client, Encoding.ASCII.GetBytes("hello"))));

        _delivered.Should().ContainSingle();
        _delivered[0].Connection.Should().Be(7);
        _delivered[0].Request.ClientAddress.ToArray().Should().Equal(Client);
        core.Statistics.RequestsReceived.Should().Be(1);
    }

    [Fact]
    public void OnMessage_DisconnectFromBroker_EndsTheConnection_AndReconnectsAtOnceOnceRegistered()
    {
        var lost = new List<Patterns.PeerLostArguments>();
        var core = Create(onPeerLost: lost.Add);
        var link = Opened(core);
        core.OnMessage(link, FromBroker(WorkerHeartbeat.Instance));

        core.OnMessage(link, FromBroker(WorkerDisconnect.Instance));
        var closing = core.OnClosed(link.Ended!.Value);

        link.Ended.Should().Be(SessionEnd.PeerDisconnected);
        closing.Farewell.Should().BeNull("RFC 7: nothing more is sent to a broker that disconnected us");
        closing.ReconnectIn.Should().Be(TimeSpan.Zero);
        lost.Should().ContainSingle().Which.Reason.Should().Be("disconnected");
        core.Statistics.BrokerDisconnects.Should().Be(1);
        core.Statistics.Reconnects.Should().Be(1);
    }

    [Fact]
    public void OnMessage_PeerGone_EndsTheConnectionAsLost()
    {
        var core = Create();
        var link = Opened(core);

        core.OnMessage(link, Message.ForPeerEvent(PeerEventKind.Connected, ReadOnlyMemory<byte>.Empty));
        link.Ended.Should().BeNull();

        core.OnMessage(link, Message.ForPeerEvent(PeerEventKind.Disconnected, ReadOnlyMemory<byte>.Empty));

        link.Ended.Should().Be(SessionEnd.ConnectionLost);
    }

    [Fact]
    public void OnMessage_Garbage_IsCountedAndIsNoSignOfLife()
    {
        var core = Create();
        var link = Opened(core);

        _clock.Advance(Interval * 2);
        core.OnMessage(link, new Message(new ReadOnlyMemory<byte>[] { Encoding.ASCII.GetBytes("junk") }));
        _clock.Advance(Interval);
        core.OnTimer(link);

        core.Statistics.InvalidMessages.Should().Be(1);
        link.Ended.Should().Be(SessionEnd.PeerSilent);
    }

    [Fact]
    public async Task Reply_OnTheRequestsConnection_IsSentAndLeavesTheWorkerIdleBeforeTheNextInput()
    {
        var core = Create();
        var link = Opened(core, id: 3);
        core.OnMessage(link, FromBroker(new WorkerRequest(Client, Encoding.ASCII.GetBytes("hi"))));
        var reply = Reply(connection: 3);

        core.OnCommand(link, reply);
        link.CompleteWaitingSends(SendOutcome.Sent);

        Commands(link).Should().Equal("REPLY");
        reply.Done.Task.IsCompletedSuccessfully.Should().BeTrue();
        (await reply.Done.Task).Should().BeTrue();
        core.Statistics.RepliesSent.Should().Be(1);
    }

    [Fact]
    public async Task Reply_ForAnEarlierConnection_IsDroppedAsStale()
    {
        var core = Create();
        var link = Opened(core, id: 4);
        var reply = Reply(connection: 3);

        core.OnCommand(link, reply);

        link.Waiting.Should().BeEmpty();
        (await reply.Done.Task).Should().BeFalse();
        core.Statistics.StaleReplies.Should().Be(1);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Reply_NotHandedOver_IsNotCountedAsSent(bool timedOut)
    {
        var outcome = timedOut ? SendOutcome.TimedOut : SendOutcome.Closed;
        var core = Create();
        var link = Opened(core, id: 1);
        var reply = Reply(connection: 1);

        core.OnCommand(link, reply);
        link.CompleteWaitingSends(outcome);

        (await reply.Done.Task).Should().BeFalse();
        core.Statistics.RepliesSent.Should().Be(0);
    }

    [Fact]
    public void Reconnect_FromTheCurrentConnection_EndsIt_AndSaysDisconnectToTheBroker()
    {
        var core = Create();
        var link = Opened(core, id: 2);
        core.OnMessage(link, FromBroker(WorkerHeartbeat.Instance));

        core.OnCommand(link, new ReconnectCommand(1));
        link.Ended.Should().BeNull("a handler failure on a replaced connection changes nothing");
        core.OnCommand(link, new ReconnectCommand(2));
        var closing = core.OnClosed(link.Ended!.Value);

        link.Ended.Should().Be(SessionEnd.HandlerFailed);
        closing.Farewell.Should().NotBeNull("the broker must hear DISCONNECT to requeue the request");
        closing.ReconnectIn.Should().Be(TimeSpan.Zero);
    }

    [Fact]
    public void OnClosed_Stopping_SaysDisconnect()
    {
        var core = Create(MdpVersion.V02);
        Opened(core);

        var closing = core.OnClosed(SessionEnd.Stopping);

        MdpCodec.ParseAtBroker(new Message(new ReadOnlyMemory<byte>[] { Client }.Concat(closing.Farewell!))).Command.Should().BeOfType<WorkerDisconnect>();
        core.Statistics.Reconnects.Should().Be(0);
    }

    [Fact]
    public void OnClosed_SilentBroker_BacksOff()
    {
        var core = Create();
        Opened(core);

        core.OnClosed(SessionEnd.PeerSilent).ReconnectIn.Should().BeGreaterThan(TimeSpan.Zero);
        core.Statistics.BrokerSilences.Should().Be(1);
    }

    public ValueTask DisposeAsync() => _owner.DisposeAsync();

    private RecordingLink Opened(WorkerCore core, long id = 1)
    {
        var link = new RecordingLink(id);
        core.OnOpened(link);
        link.Sent.Clear();
        return link;
    }

    private ReplyCommand Reply(long connection) => new(
        new MdpRequest(_owner, 0, connection, new WorkerRequest(Client, Encoding.ASCII.GetBytes("hi")), MdpVersion.V01),
        new Message(new ReadOnlyMemory<byte>[] { Encoding.ASCII.GetBytes("hi") }),
        Final: true,
        new TaskCompletionSource<bool>(),
        CancellationToken.None);

    private static Message FromBroker(MdpWorkerCommand command, MdpVersion version = MdpVersion.V01) =>
        new(MdpCodec.BuildToWorker(Client, command, version).Skip(1));

    /// <summary>The commands a link carried, as "NAME" (and the service for READY), read back with the broker's parser.</summary>
    private static List<string> Commands(RecordingLink link) => link.Sent.Select(m =>
    {
        var parsed = MdpCodec.ParseAtBroker(new Message(new ReadOnlyMemory<byte>[] { Client }.Concat(m)));
        return parsed.Command switch
        {
            WorkerReady ready => "READY " + ready.Service,
            WorkerHeartbeat => "HEARTBEAT",
            WorkerReply => "REPLY",
            WorkerDisconnect => "DISCONNECT",
            var other => other?.GetType().Name ?? parsed.Error!,
        };
    }).ToList();
}
