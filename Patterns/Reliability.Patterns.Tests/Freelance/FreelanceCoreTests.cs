using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using Reliability.Patterns.Freelance;
using Reliability.Patterns.LazyPirate;
using Reliability.Transport;

namespace Reliability.Patterns.Tests.Freelance;

public sealed class FreelanceCoreTests
{
    private const string A = "tcp://127.0.0.1:7001";
    private const string B = "tcp://127.0.0.1:7002";

    private readonly FakeTimeProvider _time = new();
    private readonly RecordingSender _sender = new();

    [Fact]
    public void Pings_every_server_at_once_and_every_interval()
    {
        var core = Create();
        core.OnTimer();
        _sender.Sent.Select(m => (m.GetString(0), m.GetString(1))).Should().Equal((A, "PING"), (B, "PING"));

        _sender.Sent.Clear();
        _time.Advance(TimeSpan.FromMilliseconds(1999));
        core.OnTimer();
        _sender.Sent.Should().BeEmpty();
        _time.Advance(TimeSpan.FromMilliseconds(1));
        core.OnTimer();
        _sender.Sent.Should().HaveCount(2);
    }

    [Fact]
    public void Server_is_dead_after_6000_ms_of_silence()
    {
        var core = Create();
        core.OnMessage(Message.FromStrings(A, "PONG"));
        core.IsAlive(A).Should().BeTrue();
        _time.Advance(TimeSpan.FromMilliseconds(5999));
        core.OnTimer();
        core.IsAlive(A).Should().BeTrue();
        _time.Advance(TimeSpan.FromMilliseconds(1));
        core.OnTimer();
        core.IsAlive(A).Should().BeFalse();
    }

    [Fact]
    public async Task Request_goes_to_first_live_server_then_next_after_try_timeout()
    {
        var core = Create();
        core.OnMessage(Message.FromStrings(A, "PONG"));
        core.OnMessage(Message.FromStrings(B, "PONG"));
        core.OnTimer();
        _sender.Sent.Clear();
        var request = Submit(core, "hello");
        Strings(_sender.Sent.Single()).Should().Equal(A, "1", "hello");

        _sender.Sent.Clear();
        _time.Advance(TimeSpan.FromMilliseconds(1000));
        core.OnTimer();
        Strings(_sender.Sent.Single()).Should().Equal(B, "1", "hello");
        core.Statistics.Retries.Should().Be(1);

        core.OnMessage(Message.FromStrings(B, "1", "world"));
        request.Task.IsCompletedSuccessfully.Should().BeTrue();
        Strings(await request.Task).Should().Equal("world");
    }

    [Fact]
    public async Task Request_fails_at_its_deadline()
    {
        var core = Create();
        core.OnMessage(Message.FromStrings(A, "PONG"));
        var request = Submit(core, "x");
        for (int i = 0; i < 3; i++)
        {
            _time.Advance(TimeSpan.FromMilliseconds(1000));
            core.OnMessage(Message.FromStrings(A, "PONG"));
            core.OnTimer();
        }

        await request.Invoking(r => r.Task).Should().ThrowAsync<RequestFailedException>();
        core.Statistics.Failed.Should().Be(1);
        core.Outstanding.Should().Be(0);
    }

    [Fact]
    public async Task Replies_not_outstanding_are_ignored_and_counted()
    {
        var core = Create();
        core.OnMessage(Message.FromStrings(A, "PONG"));
        var first = Submit(core, "1");
        var second = Submit(core, "2");
        core.Outstanding.Should().Be(2);

        core.OnMessage(Message.FromStrings(A, "2", "two"));
        core.OnMessage(Message.FromStrings(A, "2", "again"));
        core.OnMessage(Message.FromStrings(A, "99", "never"));
        Strings(await second.Task).Should().Equal("two");
        first.Task.IsCompleted.Should().BeFalse();
        core.Statistics.LateReplies.Should().Be(2);
    }

    [Fact]
    public void Request_waits_for_a_live_server()
    {
        var core = Create();
        var request = Submit(core, "wait");
        _sender.Sent.Should().BeEmpty();
        core.OnMessage(Message.FromStrings(B, "PONG"));
        Strings(_sender.Sent.Single()).Should().Equal(B, "1", "wait");
        request.Task.IsCompleted.Should().BeFalse();
    }

    [Fact]
    public void Unknown_sender_and_bad_frames_are_counted_invalid()
    {
        var core = Create();
        core.OnMessage(Message.FromStrings("tcp://elsewhere:1", "PONG"));
        core.OnMessage(Message.FromStrings(A, "-1"));
        core.Statistics.Invalid.Should().Be(2);
    }

    [Fact]
    public async Task Shotgun_sends_to_every_live_server_and_keeps_the_first_reply()
    {
        var core = Create(FreelanceStrategy.Shotgun);
        core.OnMessage(Message.FromStrings(A, "PONG"));
        core.OnMessage(Message.FromStrings(B, "PONG"));
        var request = Submit(core, "s");
        _sender.Sent.Select(m => m.GetString(0)).Should().Equal(A, B);
        core.OnMessage(Message.FromStrings(B, "1", "fromB"));
        core.OnMessage(Message.FromStrings(A, "1", "fromA"));
        Strings(await request.Task).Should().Equal("fromB");
        core.Statistics.LateReplies.Should().Be(1);
    }

    private static string[] Strings(Message message) => [.. Enumerable.Range(0, message.Count).Select(message.GetString)];

    private FreelancePending Submit(FreelanceCore core, string body)
    {
        var request = new FreelancePending(Message.FromStrings(body), null);
        core.Submit(request);
        return request;
    }

    private FreelanceCore Create(FreelanceStrategy strategy = FreelanceStrategy.Router)
    {
        var options = new FreelanceOptions { Endpoints = [A, B], Strategy = strategy };
        options.Validate();
        return new FreelanceCore(options, _sender, _time, NullLogger.Instance, new FreelanceMetrics(options.Endpoints));
    }

    private sealed class RecordingSender : IFreelanceSender
    {
        public List<Message> Sent { get; } = [];

        public FreelanceSendResult TrySend(Message message)
        {
            Sent.Add(message);
            return FreelanceSendResult.Sent;
        }
    }
}
