using Microsoft.Extensions.Logging.Abstractions;
using Reliability.Patterns.Heartbeating;
using Reliability.Patterns.ParanoidPirate;
using Reliability.Patterns.Queueing;
using Reliability.Patterns.SimplePirate;
using Reliability.Transport;

namespace Reliability.Patterns.Tests.SimplePirate;

/// <summary>The Simple Pirate queue's decisions with recorded sends and no sockets.</summary>
public sealed class SimplePirateCoreTests
{
    private readonly RecordingSender _sender = new();
    private readonly List<RoutingKey> _registered = [];
    private readonly SimplePirateCore _core;

    public SimplePirateCoreTests()
    {
        _core = new SimplePirateCore(_sender, NullLogger.Instance, _registered.Add);
    }

    [Fact]
    public void Ready_RegistersOnce_AndRequestsGoToLeastRecentlyUsedWorker()
    {
        _core.OnBackendMessage(Ready("W1"));
        _core.OnBackendMessage(Ready("W2"));
        _core.OnBackendMessage(Ready("W1"));

        _registered.Should().HaveCount(2);
        _core.ReadyWorkerCount.Should().Be(2, "a repeated READY does not list a worker twice");

        _core.OnFrontendMessage(Message.FromStrings("C1", string.Empty, "a"));
        _sender.ToWorkers.Should().ContainSingle().Which.Should().Equal("W1", string.Empty, "C1", string.Empty, "a");
        _core.ReadyWorkerCount.Should().Be(1);
    }

    [Fact]
    public void Reply_GoesToItsClient_AndFreesTheWorker()
    {
        _core.OnBackendMessage(Ready("W1"));
        _core.OnFrontendMessage(Message.FromStrings("C1", string.Empty, "a"));
        _core.CanAcceptClientRequest.Should().BeFalse();

        _core.OnBackendMessage(Message.FromStrings("W1", string.Empty, "C1", string.Empty, "A"));

        _sender.ToClients.Should().ContainSingle().Which.Should().Equal("C1", string.Empty, "A");
        _core.CanAcceptClientRequest.Should().BeTrue();
    }

    [Fact]
    public void UnreachableWorker_IsSkipped_AndNextFreeWorkerGetsTheRequest()
    {
        _core.OnBackendMessage(Ready("W1"));
        _core.OnBackendMessage(Ready("W2"));
        _sender.Unreachable.Add("W1");

        _core.OnFrontendMessage(Message.FromStrings("C1", string.Empty, "a"));

        _core.WorkerCount.Should().Be(1);
        _sender.ToWorkers.Should().ContainSingle().Which[0].Should().Be("W2");
    }

    [Fact]
    public void WorkerConnectionLost_ForgetsTheWorkerEvenWhenBusy()
    {
        _core.OnBackendMessage(Ready("W1"));
        _core.OnFrontendMessage(Message.FromStrings("C1", string.Empty, "a"));

        _core.OnBackendMessage(Message.ForPeerEvent(PeerEventKind.Disconnected, "W1"u8.ToArray()));

        _core.WorkerCount.Should().Be(0);
    }

    [Fact]
    public void InvalidInput_IsDropped_AndNothingIsSent()
    {
        _core.OnBackendMessage(Ready("W1"));

        _core.OnBackendMessage(Message.FromStrings("W1", "\u0001"));
        _core.OnBackendMessage(Message.FromStrings("W1", string.Empty, "\u0007"));
        _core.OnFrontendMessage(Message.FromStrings("C1", "no delimiter"));
        _core.OnFrontendMessage(Message.ForPeerEvent(PeerEventKind.Disconnected, "C1"u8.ToArray()));

        _sender.ToWorkers.Should().BeEmpty();
        _sender.ToClients.Should().BeEmpty();
        _core.ReadyWorkerCount.Should().Be(1);
    }

    [Fact]
    public void Shutdown_ForgetsEveryWorker()
    {
        _core.OnBackendMessage(Ready("W1"));
        _core.OnBackendMessage(Ready("W2"));

        _core.Shutdown().Should().Be(2);
        _core.WorkerCount.Should().Be(0);
    }

    private static Message Ready(string worker) => Message.FromStrings(worker, string.Empty, "\u0001");

    /// <summary>Records what the core sends, as strings.</summary>
    private sealed class RecordingSender : IPirateQueueSender
    {
        public List<string[]> ToWorkers { get; } = [];

        public List<string[]> ToClients { get; } = [];

        public HashSet<string> Unreachable { get; } = [];

        public bool TrySendToWorker(Message message)
        {
            if (Unreachable.Contains(message.GetString(0)))
            {
                return false;
            }

            ToWorkers.Add(Strings(message));
            return true;
        }

        public PeerSendResult TrySend(Message message)
        {
            ToClients.Add(Strings(message));
            return PeerSendResult.Sent;
        }

        public void Pause(RoutingKey client) => throw new InvalidOperationException("The Simple Pirate queue never pauses a client.");

        public void Resume(RoutingKey client) => throw new InvalidOperationException("The Simple Pirate queue never pauses a client.");

        private static string[] Strings(Message message) => [.. Enumerable.Range(0, message.Count).Select(message.GetString)];
    }
}
