using Reliability.Patterns.LazyPirate;
using Reliability.Testing;
using Reliability.Transport;

namespace Reliability.Patterns.Tests.LazyPirate;

/// <summary>The Lazy Pirate attempt logic alone: inputs in, outputs out, on a manual clock; no sockets, no tasks.</summary>
public sealed class LazyPirateCoreTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMilliseconds(2500);

    private readonly ManualTimeProvider _clock = new();

    private LazyPirateCore<string, string> Create(LazyPirateOptions? options = null, int maxIdle = 16) =>
        new(options ?? new LazyPirateOptions { Endpoints = ["tcp://a:1"] }, new TestCodec(), maxIdle, _clock);

    private static List<LazyPirateOutput<string, string>> Take(LazyPirateCore<string, string> core)
    {
        var outputs = new List<LazyPirateOutput<string, string>>();
        while (core.TryTakeOutput(out var output))
        {
            outputs.Add(output);
        }

        return outputs;
    }

    private static LazyPirateAction[] Actions(List<LazyPirateOutput<string, string>> outputs) => [.. outputs.Select(o => o.Action)];

    private void Pass(LazyPirateCore<string, string> core, TimeSpan by)
    {
        _clock.Advance(by);
        core.OnTimer();
    }

    [Fact]
    public void Submit_NoIdleConnection_OpensOneSendsTheRequestAndSetsTheTimeout()
    {
        var core = Create();
        long start = _clock.GetTimestamp();

        long id = core.Submit("hello");

        var outputs = Take(core);
        Actions(outputs).Should().Equal(LazyPirateAction.Open, LazyPirateAction.Send);
        outputs[0].Should().Match<LazyPirateOutput<string, string>>(o => o.ConnectionId == 1 && o.FirstEndpoint == 0);
        outputs[1].Should().Match<LazyPirateOutput<string, string>>(o => o.ConnectionId == 1 && o.RequestId == id && o.Attempt == 1);
        outputs[1].Frames!.GetString(0).Should().Be("hello");
        core.NextDeadline.Should().Be(start + Timeout.Ticks);
    }

    [Fact]
    public void OnReply_AnswersTheRequestAndKeepsTheConnectionForTheNext()
    {
        var core = Create();
        long id = core.Submit("one");
        Take(core);

        core.OnReply(1, Message.FromStrings("ONE")).Should().BeFalse("the attempt needs nothing more");

        var answered = Take(core).Should().ContainSingle().Which;
        answered.Should().Match<LazyPirateOutput<string, string>>(o => o.Action == LazyPirateAction.Answered && o.RequestId == id && o.Reply == "ONE" && o.Attempt == 1);
        core.IdleConnections.Should().Be(1);
        core.NextDeadline.Should().Be(long.MaxValue, "nothing waits any more");

        core.Submit("two");
        var reused = Take(core).Should().ContainSingle().Which;
        reused.Should().Match<LazyPirateOutput<string, string>>(o => o.Action == LazyPirateAction.Send && o.ConnectionId == 1);
        core.Statistics.SocketsOpened.Should().Be(1);
    }

    [Fact]
    public void OnTimer_ShortOfTheTimeout_DoesNothing()
    {
        var core = Create();
        core.Submit("slow");
        Take(core);

        Pass(core, Timeout - TimeSpan.FromTicks(1));

        Take(core).Should().BeEmpty();
        core.OnReply(1, Message.FromStrings("in time")).Should().BeFalse();
        Take(core).Single().Reply.Should().Be("in time");
    }

    [Fact]
    public void OnTimer_AttemptTimedOut_ClosesItsConnectionAndRetriesOnAFreshOneToTheNextEndpoint()
    {
        var core = Create(new LazyPirateOptions { Endpoints = ["tcp://a:1", "tcp://b:1"] });
        long id = core.Submit("job");
        Take(core);

        Pass(core, Timeout);

        var outputs = Take(core);
        Actions(outputs).Should().Equal(
            LazyPirateAction.AttemptTimedOut, LazyPirateAction.Close, LazyPirateAction.Retrying, LazyPirateAction.Open, LazyPirateAction.Send);
        outputs[1].ConnectionId.Should().Be(1);
        outputs[2].Should().Match<LazyPirateOutput<string, string>>(o => o.RequestId == id && o.Attempt == 2);
        outputs[3].Should().Match<LazyPirateOutput<string, string>>(o => o.ConnectionId == 2 && o.FirstEndpoint == 1);
        outputs[4].Frames!.GetString(0).Should().Be("job", "the retry resends the same request");
    }

    [Fact]
    public void OnReply_LateReplyOnAClosedConnection_IsDropped()
    {
        var core = Create();
        core.Submit("job");
        Pass(core, Timeout);
        Take(core);

        core.OnReply(1, Message.FromStrings("late")).Should().BeFalse();

        Take(core).Should().BeEmpty("the late reply answers nothing");
        core.InFlight.Should().Be(1);
    }

    [Fact]
    public void OnTimer_EveryAttemptTimedOut_GivesUpWithNoReply()
    {
        var core = Create();
        long id = core.Submit("ping");
        Take(core);
        Pass(core, Timeout);
        Pass(core, Timeout);
        Take(core);

        Pass(core, Timeout);

        var outputs = Take(core);
        Actions(outputs).Should().Equal(LazyPirateAction.AttemptTimedOut, LazyPirateAction.Close, LazyPirateAction.GaveUp);
        outputs[2].Should().Match<LazyPirateOutput<string, string>>(o => o.RequestId == id && o.Failure == LazyPirateFailure.NoReply && o.Attempt == 3);
        core.Statistics.Should().Be(new LazyPirateStatistics(Requests: 1, Succeeded: 0, Retries: 2, Abandoned: 1, Cancelled: 0, SocketsOpened: 3));
        core.NextDeadline.Should().Be(long.MaxValue);
    }

    [Fact]
    public void OnTimer_RetryDelay_NextAttemptOnlyWhenTheDelayIsOver()
    {
        var core = Create(new LazyPirateOptions { Endpoints = ["tcp://a:1"], RetryDelay = TimeSpan.FromSeconds(1) });
        core.Submit("x");
        Take(core);

        Pass(core, Timeout);
        Actions(Take(core)).Should().Equal(LazyPirateAction.AttemptTimedOut, LazyPirateAction.Close);
        core.NextDeadline.Should().Be(_clock.GetTimestamp() + TimeSpan.FromSeconds(1).Ticks);

        Pass(core, TimeSpan.FromSeconds(1) - TimeSpan.FromTicks(1));
        Take(core).Should().BeEmpty();
        Pass(core, TimeSpan.FromTicks(1));
        Actions(Take(core)).Should().Equal(LazyPirateAction.Retrying, LazyPirateAction.Open, LazyPirateAction.Send);
    }

    [Fact]
    public void OnTimer_ExponentialBackoff_DoublesTheDelayUpToTheCap()
    {
        var core = Create(new LazyPirateOptions
        {
            Endpoints = ["tcp://a:1"],
            Attempts = 5,
            RetryDelay = TimeSpan.FromSeconds(1),
            RetryDelayMax = TimeSpan.FromSeconds(3),
        });
        core.Submit("x");
        Take(core);

        var delays = new List<TimeSpan>();
        for (int i = 0; i < 4; i++)
        {
            Pass(core, Timeout);
            delays.Add(TimeSpan.FromTicks(core.NextDeadline - _clock.GetTimestamp()));
            Pass(core, delays[^1]);
        }

        delays.Should().Equal(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(3));
    }

    [Fact]
    public void Cancel_DuringAnAttempt_ClosesItsConnectionAndRetriesNothing()
    {
        var core = Create();
        long id = core.Submit("x");
        Take(core);

        core.Cancel(id);

        var outputs = Take(core);
        Actions(outputs).Should().Equal(LazyPirateAction.Close, LazyPirateAction.GaveUp);
        outputs[1].Failure.Should().Be(LazyPirateFailure.Cancelled);
        Pass(core, Timeout * 10);
        Take(core).Should().BeEmpty();
        core.Statistics.Cancelled.Should().Be(1);
        core.IdleConnections.Should().Be(0, "a connection still waiting for a reply is never reused");
    }

    [Fact]
    public void Cancel_DuringTheRetryDelay_EndsTheRequestWithoutAnotherAttempt()
    {
        var core = Create(new LazyPirateOptions { Endpoints = ["tcp://a:1"], RetryDelay = TimeSpan.FromSeconds(1) });
        long id = core.Submit("x");
        Pass(core, Timeout);
        Take(core);

        core.Cancel(id);
        Pass(core, TimeSpan.FromSeconds(1));

        Take(core).Should().ContainSingle().Which.Failure.Should().Be(LazyPirateFailure.Cancelled);
        core.Statistics.SocketsOpened.Should().Be(1);
    }

    [Fact]
    public void OnConnectionFailed_FailsTheRequestWithTheErrorAndNoRetry()
    {
        var core = Create();
        long id = core.Submit("x");
        Take(core);
        var error = new InvalidOperationException("broken pipe");

        core.OnConnectionFailed(1, error);

        var outputs = Take(core);
        Actions(outputs).Should().Equal(LazyPirateAction.AttemptFailed, LazyPirateAction.Close, LazyPirateAction.GaveUp);
        outputs[2].Should().Match<LazyPirateOutput<string, string>>(o => o.RequestId == id && o.Failure == LazyPirateFailure.AttemptFailed && o.Error == error);
        core.Statistics.Retries.Should().Be(0);
    }

    [Fact]
    public void OnReply_ReaderNeedsSeveralMessagesOrRejectsOne_KeepsReadingOrFails()
    {
        var core = Create();
        core.Submit("a");
        core.Submit("b");
        Take(core);

        core.OnReply(1, Message.FromStrings("partial")).Should().BeTrue("the reader wants more");
        Take(core).Should().BeEmpty();
        core.OnReply(1, Message.FromStrings("final")).Should().BeFalse();
        Take(core).Single().Reply.Should().Be("partial+final");

        core.OnReply(2, Message.FromStrings("bad")).Should().BeFalse();
        var outputs = Take(core);
        Actions(outputs).Should().Equal(LazyPirateAction.AttemptFailed, LazyPirateAction.Close, LazyPirateAction.GaveUp);
        outputs[2].Error.Should().BeOfType<FormatException>();
    }

    [Fact]
    public void OnReply_MoreAnsweredConnectionsThanTheIdleLimit_ClosesTheExtraOnes()
    {
        var core = Create(maxIdle: 1);
        core.Submit("a");
        core.Submit("b");
        Take(core);

        core.OnReply(1, Message.FromStrings("A"));
        core.OnReply(2, Message.FromStrings("B"));

        var outputs = Take(core);
        Actions(outputs).Should().Equal(LazyPirateAction.Answered, LazyPirateAction.Close, LazyPirateAction.Answered);
        outputs[1].ConnectionId.Should().Be(2);
        core.IdleConnections.Should().Be(1);
    }

    [Fact]
    public void Dispose_ClosesEveryConnectionAndGivesEveryRequestUp_ThenDisposedLast()
    {
        var core = Create();
        core.Submit("answered");
        core.Submit("in flight");
        core.OnReply(1, Message.FromStrings("ok"));
        Take(core);

        core.Dispose();
        core.Dispose();

        var outputs = Take(core);
        Actions(outputs).Should().Equal(LazyPirateAction.Close, LazyPirateAction.GaveUp, LazyPirateAction.Close, LazyPirateAction.Disposed);
        outputs.Where(o => o.Action == LazyPirateAction.Close).Select(o => o.ConnectionId).Should().BeEquivalentTo([1L, 2L]);
        outputs[1].Failure.Should().Be(LazyPirateFailure.Disposed);
        core.NextDeadline.Should().Be(long.MaxValue);
        core.Invoking(c => c.Submit("late")).Should().Throw<ObjectDisposedException>();
    }

    /// <summary>Requests are one string frame; "partial" replies wait for the next message, "bad" ones fail the attempt.</summary>
    private sealed class TestCodec : IRequestCodec<string, string>
    {
        public Message Encode(string request) => Message.FromStrings(request);

        public IReplyReader<string> StartReply(string request, int attempt, long connectionId) => new Reader();

        private sealed class Reader : IReplyReader<string>
        {
            private string? _partial;

            public ReplyStep<string> Read(Message message)
            {
                string text = message.GetString(0);
                if (text == "bad")
                {
                    return ReplyStep<string>.Fail(new FormatException("not a reply"));
                }

                if (text == "partial")
                {
                    _partial = text;
                    return ReplyStep<string>.More;
                }

                return ReplyStep<string>.Done(_partial is null ? text : $"{_partial}+{text}");
            }
        }
    }
}
