using System.Threading.Channels;
using Microsoft.Extensions.Logging.Abstractions;
using Reliability.Patterns.Heartbeating;
using Reliability.Patterns.ParanoidPirate;
using Reliability.Patterns.Sessions;
using Reliability.Patterns.Tests.Sessions;
using Reliability.Testing;
using Reliability.Transport;

namespace Reliability.Patterns.Tests.ParanoidPirate;

/// <summary>The Paranoid Pirate worker's decisions on a manual clock, with a recording link in place of a socket.</summary>
public sealed class PirateWorkerCoreTests : IDisposable
{
    private static readonly HeartbeatOptions Heartbeat = new()
    {
        Interval = TimeSpan.FromSeconds(1),
        Liveness = 3,
        ReconnectInitial = TimeSpan.FromSeconds(1),
        ReconnectMax = TimeSpan.FromSeconds(8),
    };

    private readonly ManualTimeProvider _clock = new();
    private readonly Channel<HandlerDone> _done = Channel.CreateUnbounded<HandlerDone>();
    private readonly List<PeerLostArguments> _lost = [];
    private readonly RecordingLink _link = new(1);

    public void Dispose() => _link.Dispose();

    [Fact]
    public void OnOpened_QueuesReady_AndWaitsForTheHandshakeBeforeAnyDeadline()
    {
        var core = Create();

        core.OnOpened(_link);

        _link.Sent.Should().ContainSingle().Which[0].ToArray().Should().Equal(PirateProtocol.ReadyByte);
        core.NextDeadlineIn.Should().Be(Timeout.InfiniteTimeSpan, "liveness starts when the queue is reachable");
        _clock.Advance(Heartbeat.ExpiryTimeout * 5);
        core.OnTimer(_link);
        _link.Ended.Should().BeNull("an absent queue is not declared dead again and again");
    }

    [Fact]
    public void AfterTheHandshake_HeartbeatsEveryInterval_AndGivesASilentQueueUp()
    {
        var core = Connected();

        for (int i = 0; i < 2; i++)
        {
            _clock.Advance(Heartbeat.Interval);
            core.OnTimer(_link);
        }

        _link.Sent.Select(m => m[0].Span[0]).Should().Equal(PirateProtocol.HeartbeatByte, PirateProtocol.HeartbeatByte);
        _link.Ended.Should().BeNull();

        _clock.Advance(Heartbeat.Interval);
        core.OnTimer(_link);

        _link.Ended.Should().Be(SessionEnd.PeerSilent);
        var closing = core.OnClosed(SessionEnd.PeerSilent);
        closing.Farewell.Should().BeNull("nothing queued for a dead queue is flushed");
        closing.ReconnectIn.Should().Be(Heartbeat.ReconnectInitial);
        _lost.Should().ContainSingle().Which.Reason.Should().Be("silent");
    }

    [Fact]
    public void QueueHeartbeats_KeepTheConnection()
    {
        var core = Connected();

        for (int i = 0; i < 10; i++)
        {
            _clock.Advance(Heartbeat.Interval);
            core.OnMessage(_link, Message.FromFrames([PirateProtocol.HeartbeatByte]));
            core.OnTimer(_link);
        }

        _link.Ended.Should().BeNull();
    }

    [Fact]
    public async Task Request_IsHandled_AndTheReplyKeepsTheEnvelope()
    {
        var core = Connected();

        core.OnMessage(_link, Message.FromFrames("client"u8.ToArray(), [], "hello"u8.ToArray()));
        var done = await NextDoneAsync();
        core.OnCommand(_link, done);

        var reply = _link.Sent.Should().ContainSingle().Subject;
        reply.Count.Should().Be(3);
        reply.GetString(0).Should().Be("client");
        reply[1].Length.Should().Be(0);
        reply.GetString(2).Should().Be("hello");
        core.RepliesSent.Should().Be(1);
    }

    [Fact]
    public async Task FailedHandler_AnswersWithReady_SoTheQueueKnowsTheWorkerIsFree()
    {
        var core = Connected(handler: (_, _) => throw new InvalidOperationException("boom"));

        core.OnMessage(_link, Message.FromFrames("client"u8.ToArray(), [], "hello"u8.ToArray()));
        core.OnCommand(_link, await NextDoneAsync());

        _link.Sent.Should().ContainSingle().Which[0].ToArray().Should().Equal(PirateProtocol.ReadyByte);
        core.RepliesSent.Should().Be(0);
    }

    [Fact]
    public async Task RequestsWhileBusy_WaitInOrder_UpToTheLimit()
    {
        var release = new TaskCompletionSource();
        var core = Connected(maxQueued: 1, handler: async (body, ct) =>
        {
            await release.Task.WaitAsync(ct);
            return body;
        });

        foreach (var body in new[] { "a", "b", "c" })
        {
            core.OnMessage(_link, Message.FromFrames("client"u8.ToArray(), [], System.Text.Encoding.ASCII.GetBytes(body)));
        }

        release.SetResult();
        core.OnCommand(_link, await NextDoneAsync());
        core.OnCommand(_link, await NextDoneAsync());

        _link.Sent.Select(m => m.GetString(2)).Should().Equal("a", "b");
        _done.Reader.TryRead(out _).Should().BeFalse("the third request was dropped: one running, one waiting is the limit");
    }

    [Fact]
    public async Task HandlerDone_FromAnEarlierConnection_IsIgnored()
    {
        var core = Connected();
        core.OnMessage(_link, Message.FromFrames("client"u8.ToArray(), [], "hello"u8.ToArray()));
        var done = await NextDoneAsync();

        using var next = new RecordingLink(2);
        core.OnClosed(SessionEnd.ConnectionLost);
        core.OnOpened(next);
        next.Sent.Clear();
        core.OnCommand(next, done);

        next.Sent.Should().BeEmpty("the client of that request was given up with the old connection");
    }

    [Fact]
    public void PeerGone_EndsTheConnection_AndBackOffDoublesUntilTheQueueAnswers()
    {
        var core = Connected();

        core.OnMessage(_link, PeerEvent(PeerEventKind.Disconnected));

        _link.Ended.Should().Be(SessionEnd.ConnectionLost);
        core.OnClosed(SessionEnd.ConnectionLost).ReconnectIn.Should().Be(TimeSpan.FromSeconds(1));
        core.OnClosed(SessionEnd.ConnectionLost).ReconnectIn.Should().Be(TimeSpan.FromSeconds(2));
        core.OnOpened(_link);
        core.OnMessage(_link, PeerEvent(PeerEventKind.Connected));
        core.OnMessage(_link, Message.FromFrames([PirateProtocol.HeartbeatByte]));
        core.OnClosed(SessionEnd.ConnectionLost).ReconnectIn.Should().Be(TimeSpan.FromSeconds(1), "any message from the queue resets the back-off");
        _lost.Select(l => l.Reason).Should().AllBe("connection_lost");
    }

    [Fact]
    public void InvalidQueueMessage_IsDropped()
    {
        var core = Connected();

        core.OnMessage(_link, Message.FromFrames([0x07]));
        core.OnMessage(_link, Message.FromFrames("no"u8.ToArray(), "delimiter"u8.ToArray()));

        _link.Sent.Should().BeEmpty();
        _done.Reader.TryRead(out _).Should().BeFalse();
    }

    private PirateWorkerCore Create(int maxQueued = 16, Func<Message, CancellationToken, ValueTask<Message>>? handler = null)
    {
        var options = new ParanoidPirateWorkerOptions { Endpoint = "tcp://127.0.0.1:5556", Heartbeat = Heartbeat, MaxQueuedRequests = maxQueued, OnPeerLost = _lost.Add };
        var core = new PirateWorkerCore(options, handler ?? PirateTestKit.Echo, done => _done.Writer.TryWrite(done), _clock, NullLogger.Instance, random: null);
        core.NextIdentity();
        return core;
    }

    private PirateWorkerCore Connected(int maxQueued = 16, Func<Message, CancellationToken, ValueTask<Message>>? handler = null)
    {
        var core = Create(maxQueued, handler);
        core.OnOpened(_link);
        core.OnMessage(_link, PeerEvent(PeerEventKind.Connected));
        _link.Sent.Clear();
        return core;
    }

    private async Task<HandlerDone> NextDoneAsync() => await _done.Reader.ReadAsync().AsTask().WaitAsync(PirateTestKit.Wait);

    private static Message PeerEvent(PeerEventKind kind) => Message.ForPeerEvent(kind, ReadOnlyMemory<byte>.Empty);
}
