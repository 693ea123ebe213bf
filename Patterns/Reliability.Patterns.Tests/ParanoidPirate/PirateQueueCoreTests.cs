using Microsoft.Extensions.Logging.Abstractions;
using Reliability.Patterns.Heartbeating;
using Reliability.Patterns.ParanoidPirate;
using Reliability.Patterns.Queueing;
using Reliability.Testing;
using Reliability.Transport;

namespace Reliability.Patterns.Tests.ParanoidPirate;

/// <summary>The Paranoid Pirate queue's decisions on a manual clock, with recorded sends and no sockets.</summary>
public sealed class PirateQueueCoreTests
{
    private static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    private readonly ManualTimeProvider _clock = new();
    private readonly RecordingSender _sender = new();
    private readonly List<(QueueEventKind Kind, RoutingKey Key)> _events = [];
    private readonly PirateQueueCore _core;

    public PirateQueueCoreTests()
    {
        var options = new ParanoidPirateQueueOptions { Heartbeat = new HeartbeatOptions { Interval = Interval, Liveness = 3 }, MaxRequeues = 1 };
        options.Validate();
        _core = new PirateQueueCore(options, _sender, _clock, NullLogger.Instance, (kind, key) => _events.Add((kind, key)));
    }

    [Fact]
    public void Ready_RegistersWorkerAndAnswersWithHeartbeatAtOnce()
    {
        _core.OnBackendMessage(Ready("W1"));

        _core.WorkerCount.Should().Be(1);
        _core.ReadyWorkerCount.Should().Be(1);
        _core.CanAcceptClientRequest.Should().BeTrue();
        _sender.ToWorkers.Should().ContainSingle().Which.Should().Equal("W1", "\u0002");
        _events.Should().ContainSingle().Which.Kind.Should().Be(QueueEventKind.WorkerRegistered);
    }

    [Fact]
    public void ClientRequests_GoToLeastRecentlyUsedWorker_AndReplyFreesIt()
    {
        _core.OnBackendMessage(Ready("W1"));
        _core.OnBackendMessage(Ready("W2"));
        _sender.ToWorkers.Clear();

        _core.OnFrontendMessage(Request("C1", "a"));
        _core.OnFrontendMessage(Request("C2", "b"));

        _sender.ToWorkers.Should().HaveCount(2);
        _sender.ToWorkers[0].Should().Equal("W1", "C1", string.Empty, "a");
        _sender.ToWorkers[1].Should().Equal("W2", "C2", string.Empty, "b");
        _core.CanAcceptClientRequest.Should().BeFalse("both workers are busy");

        _core.OnBackendMessage(Message.FromStrings("W2", "C2", string.Empty, "B"));
        _sender.ToClients.Should().ContainSingle().Which.Should().Equal("C2", string.Empty, "B");
        _core.ReadyWorkerCount.Should().Be(1);

        _core.OnFrontendMessage(Request("C3", "c"));
        _sender.ToWorkers[^1].Should().Equal("W2", "C3", string.Empty, "c");
    }

    [Fact]
    public void Heartbeat_DoesNotFreeBusyWorker_AndTimerHeartbeatsEveryWorker()
    {
        _core.OnBackendMessage(Ready("W1"));
        _core.OnBackendMessage(Ready("W2"));
        _core.OnFrontendMessage(Request("C1", "a"));
        _sender.ToWorkers.Clear();

        _core.OnBackendMessage(Message.FromStrings("W1", "\u0002"));
        _core.ReadyWorkerCount.Should().Be(1, "a heartbeat never makes a busy worker look free");

        _clock.Advance(Interval);
        _core.OnTimer();
        _sender.ToWorkers.Select(m => m[0]).Should().BeEquivalentTo(["W1", "W2"], "busy workers are heartbeated too");
        _core.NextDeadlineIn.Should().BeLessThanOrEqualTo(Interval);
    }

    [Fact]
    public void SilentWorker_ExpiresEvenWhenBusy_AndItsRequestGoesToTheNextWorker()
    {
        _core.OnBackendMessage(Ready("W1"));
        _core.OnFrontendMessage(Request("C1", "a"));

        // Half the expiry per step, so the loop is not taken for paused.
        for (int i = 0; i < 7; i++)
        {
            _clock.Advance(Interval / 2);
            _core.OnTimer();
        }

        _core.WorkerCount.Should().Be(0);
        _events.Select(e => e.Kind).Should().Contain([QueueEventKind.WorkerExpired, QueueEventKind.RequestRequeued]);
        _core.RequeuedCount.Should().Be(1);
        _core.CanAcceptClientRequest.Should().BeFalse("the requeued request comes before new ones");

        _sender.ToWorkers.Clear();
        _core.OnBackendMessage(Ready("W2"));
        _sender.ToWorkers.Should().Contain(m => m.SequenceEqual(new[] { "W2", "C1", string.Empty, "a" }));
        _core.RequeuedCount.Should().Be(0);
    }

    [Fact]
    public void WorkerConnectionLost_RequeuesItsRequestAtOnce_ThenTheLimitDropsIt()
    {
        _core.OnBackendMessage(Ready("W1"));
        _core.OnBackendMessage(Ready("W2"));
        _core.OnFrontendMessage(Request("C1", "a"));
        _sender.ToWorkers.Clear();

        _core.OnBackendMessage(Message.ForPeerEvent(PeerEventKind.Disconnected, "W1"u8.ToArray()));

        _core.WorkerCount.Should().Be(1);
        _sender.ToWorkers.Should().ContainSingle().Which.Should().Equal("W2", "C1", string.Empty, "a");

        _core.OnBackendMessage(Message.ForPeerEvent(PeerEventKind.Disconnected, "W2"u8.ToArray()));
        _core.RequeuedCount.Should().Be(0, "MaxRequeues is 1: a request that kills workers must not kill them all");
        _events.Select(e => e.Kind).Should().Contain(QueueEventKind.RequestAbandoned);
    }

    [Fact]
    public void ClientConnectionLost_DropsItsRequeuedRequest()
    {
        _core.OnBackendMessage(Ready("W1"));
        _core.OnFrontendMessage(Request("C1", "a"));
        _core.OnBackendMessage(Message.ForPeerEvent(PeerEventKind.Disconnected, "W1"u8.ToArray()));
        _core.RequeuedCount.Should().Be(1);

        _core.OnFrontendMessage(Message.ForPeerEvent(PeerEventKind.Disconnected, "C1"u8.ToArray()));

        _core.RequeuedCount.Should().Be(0, "no reply could reach a client that is gone");
        _events[^1].Kind.Should().Be(QueueEventKind.RequestAbandoned);
    }

    [Fact]
    public void UnsendableRequest_GoesBackWithoutCountingAsRequeue()
    {
        _core.OnBackendMessage(Ready("W1"));
        _sender.FailWorkerSends = true;

        _core.OnFrontendMessage(Request("C1", "a"));

        _core.WorkerCount.Should().Be(0);
        _core.RequeuedCount.Should().Be(1);
        _events.Select(e => e.Kind).Should().Contain(QueueEventKind.WorkerUnreachable);
    }

    [Fact]
    public void InvalidInput_IsCountedAndDropped_AndNothingIsSent()
    {
        _core.OnBackendMessage(Ready("W1"));
        _sender.ToWorkers.Clear();

        _core.OnBackendMessage(Message.FromStrings("W1", "\u0007"));
        _core.OnBackendMessage(Message.FromStrings("W1", "x", "y"));
        _core.OnFrontendMessage(Message.FromStrings("C1", "no delimiter"));
        _core.OnBackendMessage(Message.FromStrings("W1", "C9", string.Empty, "late"));

        _events.Count(e => e.Kind == QueueEventKind.InvalidMessage).Should().Be(3);
        _events[^1].Kind.Should().Be(QueueEventKind.ReplyDropped, "a reply from a worker holding no request is dropped");
        _sender.ToWorkers.Should().BeEmpty();
        _sender.ToClients.Should().BeEmpty();
        _core.ReadyWorkerCount.Should().Be(1, "bad input changes no state");
    }

    [Fact]
    public void ReplyForClientNotReading_IsHeld_ThenDeliveredByTheTimer()
    {
        _core.OnBackendMessage(Ready("W1"));
        _core.OnFrontendMessage(Request("C1", "a"));
        _sender.FullClients.Add("C1");

        _core.OnBackendMessage(Message.FromStrings("W1", "C1", string.Empty, "A"));
        _core.HeldReplyCount.Should().Be(1, "a reply is never dropped while its client is connected");
        _core.NextDeadlineIn.Should().BeLessThanOrEqualTo(TimeSpan.FromMilliseconds(10));

        _sender.FullClients.Clear();
        _core.OnTimer();
        _core.HeldReplyCount.Should().Be(0);
        _sender.ToClients.Should().ContainSingle().Which.Should().Equal("C1", string.Empty, "A");
    }

    [Fact]
    public void ClientConnectionLost_DropsItsHeldReplies()
    {
        _core.OnBackendMessage(Ready("W1"));
        _core.OnFrontendMessage(Request("C1", "a"));
        _sender.FullClients.Add("C1");
        _core.OnBackendMessage(Message.FromStrings("W1", "C1", string.Empty, "A"));

        _core.OnFrontendMessage(Message.ForPeerEvent(PeerEventKind.Disconnected, "C1"u8.ToArray()));

        _core.HeldReplyCount.Should().Be(0);
    }

    [Fact]
    public void LongPauseOfTheLoop_DefersExpiryOnce()
    {
        _core.OnBackendMessage(Ready("W1"));

        _clock.Advance(Interval * 10);
        _core.OnTimer();
        _core.WorkerCount.Should().Be(1, "the queue's own pause is not blamed on its workers");

        _core.OnTimer();
        _core.WorkerCount.Should().Be(0);
    }

    private static Message Ready(string worker) => Message.FromStrings(worker, "\u0001");

    private static Message Request(string client, string body) => Message.FromStrings(client, string.Empty, body);

    /// <summary>Records what the core sends, as strings.</summary>
    private sealed class RecordingSender : IPirateQueueSender
    {
        public List<string[]> ToWorkers { get; } = [];

        public List<string[]> ToClients { get; } = [];

        public bool FailWorkerSends { get; set; }

        public bool TrySendToWorker(Message message)
        {
            if (FailWorkerSends)
            {
                return false;
            }

            ToWorkers.Add(Strings(message));
            return true;
        }

        public HashSet<string> FullClients { get; } = [];

        public List<string> Paused { get; } = [];

        public PeerSendResult TrySend(Message message)
        {
            if (FullClients.Contains(message.GetString(0)))
            {
                return PeerSendResult.QueueFull;
            }

            ToClients.Add(Strings(message));
            return PeerSendResult.Sent;
        }

        public void Pause(RoutingKey client) => Paused.Add(client.ToString());

        public void Resume(RoutingKey client) => Paused.Remove(client.ToString());

        private static string[] Strings(Message message) => [.. Enumerable.Range(0, message.Count).Select(message.GetString)];
    }
}
