using System.Diagnostics.Metrics;
using Reliability.Patterns.LazyPirate;
using Reliability.Testing;
using Reliability.Transport;

namespace Reliability.Patterns.Tests.LazyPirate;

/// <summary>Retry, abandon, cancellation and socket handling on a manual clock, over scripted connections.</summary>
public sealed class LazyPirateClientTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromMilliseconds(2500);

    private readonly ManualTimeProvider _clock = new();
    private readonly FakeServer _server = new();

    private LazyPirateClient CreateClient(LazyPirateOptions? options = null) =>
        new(options ?? new LazyPirateOptions { Endpoints = [Limits.UniqueEndpoint()] }, null, _clock, _server.Connect);

    [Fact]
    public async Task RequestAsync_ServerAnswersFirstAttempt_ReturnsReplyWithoutRetry()
    {
        await using var client = CreateClient();

        var pending = client.RequestAsync(Message.FromStrings("hello"));
        var attempt = await _server.NextAttemptAsync();
        attempt.Request.GetString(0).Should().Be("hello");
        attempt.Answer("world");

        (await pending.Within()).GetString(0).Should().Be("world");
        client.Statistics.Should().Be(new LazyPirateStatistics(Requests: 1, Succeeded: 1, Retries: 0, Abandoned: 0, Cancelled: 0, SocketsOpened: 1));
        _server.Connections.Single().IsDisposed.Should().BeFalse("an answered socket is kept for the next request");
    }

    [Fact]
    public async Task RequestAsync_NoReplyOnAnyAttempt_ThrowsRequestFailedAfterConfiguredAttempts()
    {
        await using var client = CreateClient();

        var pending = client.RequestAsync(Message.FromStrings("ping"));
        for (int i = 0; i < 3; i++)
        {
            await _server.NextAttemptAsync();
            _clock.Advance(Timeout);
        }

        var failure = (await pending.Awaiting(p => p.Within()).Should().ThrowAsync<RequestFailedException>()).Which;
        failure.Attempts.Should().Be(3);
        failure.InnerException.Should().BeOfType<TimeoutException>();
        failure.Endpoints.Should().Equal(client.Options.Endpoints);
        failure.Message.Should().Contain("3 attempt(s)");
        _server.Connections.Should().HaveCount(3).And.OnlyContain(c => c.IsDisposed && c.Requests == 1, "each timed-out socket is closed and never reused");
        _server.HasPendingAttempt.Should().BeFalse();
        client.Statistics.Should().Be(new LazyPirateStatistics(Requests: 1, Succeeded: 0, Retries: 2, Abandoned: 1, Cancelled: 0, SocketsOpened: 3));
    }

    [Fact]
    public async Task RequestAsync_FirstAttemptTimesOut_RetriesOnFreshSocketAndReturnsReply()
    {
        await using var client = CreateClient();

        var pending = client.RequestAsync(Message.FromStrings("job"));
        var first = await _server.NextAttemptAsync();
        _clock.Advance(Timeout);
        var second = await _server.NextAttemptAsync();

        second.Connection.Should().NotBeSameAs(first.Connection);
        first.Connection.IsDisposed.Should().BeTrue("the stuck socket is closed before the retry");
        second.Request.GetString(0).Should().Be("job", "the retry resends the same request");
        second.Answer("done");

        (await pending.Within()).GetString(0).Should().Be("done");
        client.Statistics.Retries.Should().Be(1);
        client.Statistics.Abandoned.Should().Be(0);
    }

    [Fact]
    public async Task RequestAsync_FirstAttemptTimesOut_OnRetryToldOfTheSecondAttempt()
    {
        var retries = new List<RetryArguments>();
        string endpoint = Limits.UniqueEndpoint();
        await using var client = CreateClient(new LazyPirateOptions { Endpoints = [endpoint], OnRetry = retries.Add });

        var pending = client.RequestAsync(Message.FromStrings("job"));
        (await _server.NextAttemptAsync()).Connection.Should().NotBeNull();
        retries.Should().BeEmpty("the first attempt is not a retry");
        _clock.Advance(Timeout);
        (await _server.NextAttemptAsync()).Answer("done");
        await pending.Within();

        retries.Should().ContainSingle().Which.Should().Be(new RetryArguments(1, 2, endpoint));
    }

    [Fact]
    public async Task RequestAsync_OnRetryThrows_RetryGoesOn()
    {
        await using var client = CreateClient(new LazyPirateOptions
        {
            Endpoints = [Limits.UniqueEndpoint()],
            OnRetry = _ => throw new InvalidOperationException("broken hook"),
        });

        var pending = client.RequestAsync(Message.FromStrings("job"));
        await _server.NextAttemptAsync();
        _clock.Advance(Timeout);
        (await _server.NextAttemptAsync()).Answer("done");

        (await pending.Within()).GetString(0).Should().Be("done");
    }

    [Fact]
    public async Task RequestAsync_ClockShortOfTimeout_DoesNotRetry()
    {
        await using var client = CreateClient();

        var pending = client.RequestAsync(Message.FromStrings("slow"));
        var attempt = await _server.NextAttemptAsync();
        _clock.Advance(Timeout - TimeSpan.FromTicks(1));

        pending.IsCompleted.Should().BeFalse();
        _server.HasPendingAttempt.Should().BeFalse();
        attempt.Answer("late but in time");
        (await pending.Within()).GetString(0).Should().Be("late but in time");
        client.Statistics.Retries.Should().Be(0);
    }

    [Fact]
    public async Task RequestAsync_SingleAttempt_AbandonsAfterOneTimeout()
    {
        await using var client = CreateClient(new LazyPirateOptions { Endpoints = [Limits.UniqueEndpoint()], Attempts = 1, RequestTimeout = TimeSpan.FromSeconds(1) });

        var pending = client.RequestAsync(Message.FromStrings("once"));
        await _server.NextAttemptAsync();
        _clock.Advance(TimeSpan.FromSeconds(1));

        (await pending.Awaiting(p => p.Within()).Should().ThrowAsync<RequestFailedException>()).Which.Attempts.Should().Be(1);
        _server.Connections.Should().ContainSingle().Which.IsDisposed.Should().BeTrue();
    }

    [Fact]
    public async Task RequestAsync_CallerCancels_ThrowsOperationCanceledWithoutRetryAndClosesSocket()
    {
        await using var client = CreateClient();
        using var cancel = new CancellationTokenSource();

        var pending = client.RequestAsync(Message.FromStrings("never mind"), cancel.Token);
        var attempt = await _server.NextAttemptAsync();
        await cancel.CancelAsync();

        await pending.Awaiting(p => p.Within()).Should().ThrowAsync<OperationCanceledException>();
        attempt.Connection.IsDisposed.Should().BeTrue("a socket still waiting for a reply must not be reused");
        _server.HasPendingAttempt.Should().BeFalse();
        client.Statistics.Should().Be(new LazyPirateStatistics(Requests: 1, Succeeded: 0, Retries: 0, Abandoned: 0, Cancelled: 1, SocketsOpened: 1));
    }

    [Fact]
    public async Task RequestAsync_CancelledDuringRetryDelay_ThrowsOperationCanceledWithoutNextAttempt()
    {
        await using var client = CreateClient(new LazyPirateOptions { Endpoints = [Limits.UniqueEndpoint()], RetryDelay = TimeSpan.FromSeconds(1) });
        using var cancel = new CancellationTokenSource();

        var pending = client.RequestAsync(Message.FromStrings("x"), cancel.Token);
        await _server.NextAttemptAsync();
        _clock.Advance(Timeout);
        await Limits.UntilAsync(() => _clock.ActiveTimerCount == 1, "the retry delay is armed");
        await cancel.CancelAsync();

        await pending.Awaiting(p => p.Within()).Should().ThrowAsync<OperationCanceledException>();
        _server.Connections.Should().ContainSingle();
        client.Statistics.Cancelled.Should().Be(1);
    }

    [Fact]
    public async Task RequestAsync_TokenAlreadyCancelled_ThrowsWithoutOpeningSocket()
    {
        await using var client = CreateClient();

        await client.Awaiting(c => c.RequestAsync(Message.FromStrings("x"), new CancellationToken(true))).Should().ThrowAsync<OperationCanceledException>();
        _server.Connections.Should().BeEmpty();
    }

    [Fact]
    public async Task RequestAsync_RetryDelay_NextAttemptOnlyAfterTheDelay()
    {
        await using var client = CreateClient(new LazyPirateOptions { Endpoints = [Limits.UniqueEndpoint()], RetryDelay = TimeSpan.FromSeconds(1) });

        var pending = client.RequestAsync(Message.FromStrings("x"));
        await _server.NextAttemptAsync();
        _clock.Advance(Timeout);
        await Limits.UntilAsync(() => _clock.ActiveTimerCount == 1, "the retry delay is armed");
        _clock.Advance(TimeSpan.FromMilliseconds(999));
        _server.HasPendingAttempt.Should().BeFalse("the delay has not elapsed");

        _clock.Advance(TimeSpan.FromMilliseconds(1));
        (await _server.NextAttemptAsync()).Answer("ok");
        (await pending.Within()).GetString(0).Should().Be("ok");
    }

    [Fact]
    public async Task RequestAsync_ExponentialBackoff_DoublesDelayUpToCap()
    {
        var options = new LazyPirateOptions
        {
            Endpoints = [Limits.UniqueEndpoint()],
            Attempts = 4,
            RetryDelay = TimeSpan.FromSeconds(1),
            RetryDelayMax = TimeSpan.FromSeconds(1.5),
        };
        await using var client = CreateClient(options);

        var pending = client.RequestAsync(Message.FromStrings("x"));
        await _server.NextAttemptAsync();
        foreach (var delay in new[] { TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(1.5) })
        {
            _clock.Advance(Timeout);
            await Limits.UntilAsync(() => _clock.ActiveTimerCount == 1, "the retry delay is armed");
            _clock.Advance(delay - TimeSpan.FromTicks(1));
            _server.HasPendingAttempt.Should().BeFalse($"the {delay} delay has not elapsed");
            _clock.Advance(TimeSpan.FromTicks(1));
            await _server.NextAttemptAsync();
        }

        _clock.Advance(Timeout);
        (await pending.Awaiting(p => p.Within()).Should().ThrowAsync<RequestFailedException>()).Which.Attempts.Should().Be(4);
    }

    [Fact]
    public async Task RequestAsync_AfterAnsweredRequest_ReusesTheSocket()
    {
        await using var client = CreateClient();

        for (int i = 0; i < 3; i++)
        {
            var pending = client.RequestAsync(Message.FromStrings($"r{i}"));
            (await _server.NextAttemptAsync()).Answer($"a{i}");
            (await pending.Within()).GetString(0).Should().Be($"a{i}");
        }

        _server.Connections.Should().ContainSingle().Which.Requests.Should().Be(3);
    }

    [Fact]
    public async Task RequestAsync_ConcurrentRequests_EachGetsItsOwnSocketAndReply()
    {
        await using var client = CreateClient();

        var first = client.RequestAsync(Message.FromStrings("one"));
        var second = client.RequestAsync(Message.FromStrings("two"));
        var a = await _server.NextAttemptAsync();
        var b = await _server.NextAttemptAsync();
        a.Connection.Should().NotBeSameAs(b.Connection);

        b.Answer(b.Request.GetString(0) + "!");
        a.Answer(a.Request.GetString(0) + "!");

        (await first.Within()).GetString(0).Should().Be("one!");
        (await second.Within()).GetString(0).Should().Be("two!");
    }

    [Fact]
    public async Task RequestAsync_SeveralEndpoints_FreshSocketStartsWithNextEndpoint()
    {
        await using var client = CreateClient(new LazyPirateOptions { Endpoints = [Limits.UniqueEndpoint(), Limits.UniqueEndpoint()] });

        var pending = client.RequestAsync(Message.FromStrings("x"));
        await _server.NextAttemptAsync();
        _clock.Advance(Timeout);
        (await _server.NextAttemptAsync()).Answer("ok");
        await pending.Within();

        _server.Connections.Select(c => c.FirstEndpoint).Should().Equal(0, 1);
    }

    [Fact]
    public async Task RequestAsync_CallersMessage_IsNotModified()
    {
        await using var client = CreateClient();
        var request = Message.FromStrings("a", "b");

        var pending = client.RequestAsync(request);
        var attempt = await _server.NextAttemptAsync();
        attempt.Request.Prepend("envelope");
        attempt.Answer("ok");
        await pending.Within();

        request.Should().HaveCount(2);
        request.GetString(0).Should().Be("a");
    }

    [Fact]
    public async Task RequestAsync_EmptyMessage_ThrowsArgumentException()
    {
        await using var client = CreateClient();

        await client.Awaiting(c => c.RequestAsync(new Message())).Should().ThrowAsync<ArgumentException>();
    }

    [Fact]
    public async Task RequestAsync_OnRetryStartsAnotherRequest_BothGoOutAndAreAnswered()
    {
        Task<Message>? nested = null;
        LazyPirateClient? client = null;
        client = CreateClient(new LazyPirateOptions
        {
            Endpoints = [Limits.UniqueEndpoint()],
            OnRetry = _ => nested ??= client!.RequestAsync(Message.FromStrings("nested")),
        });
        await using var owned = client;

        var pending = client.RequestAsync(Message.FromStrings("first"));
        await _server.NextAttemptAsync();
        _clock.Advance(Timeout);
        for (int i = 0; i < 2; i++)
        {
            var attempt = await _server.NextAttemptAsync();
            attempt.Answer(attempt.Request.GetString(0) + "!");
        }

        (await pending.Within()).GetString(0).Should().Be("first!");
        nested.Should().NotBeNull("the callback ran, outside the core, and could start a request");
        (await nested!.Within()).GetString(0).Should().Be("nested!");
    }

    [Fact]
    public async Task RequestAsync_ConnectionCannotBeOpened_ThrowsThatErrorWithoutRetry()
    {
        await using var client = new LazyPirateClient(
            new LazyPirateOptions { Endpoints = [Limits.UniqueEndpoint()] },
            null,
            _clock,
            (_, _) => throw new InvalidOperationException("no route"));

        (await client.Awaiting(c => c.RequestAsync(Message.FromStrings("x")).Within()).Should().ThrowAsync<InvalidOperationException>())
            .Which.Message.Should().Be("no route");
        client.Statistics.Retries.Should().Be(0);
        client.Statistics.Abandoned.Should().Be(0, "only requests that got no reply in time count as abandoned");
    }

    [Fact]
    public async Task DisposeAsync_RequestInFlight_ThrowsObjectDisposedAndClosesSocket()
    {
        var client = CreateClient();
        var pending = client.RequestAsync(Message.FromStrings("x"));
        var attempt = await _server.NextAttemptAsync();

        await client.DisposeAsync().AsTask().Within();

        await pending.Awaiting(p => p.Within()).Should().ThrowAsync<ObjectDisposedException>();
        attempt.Connection.IsDisposed.Should().BeTrue();
        _server.HasPendingAttempt.Should().BeFalse();
    }

    [Fact]
    public async Task DisposeAsync_IdleSocket_IsClosedAndLaterRequestsThrow()
    {
        var client = CreateClient();
        var pending = client.RequestAsync(Message.FromStrings("x"));
        (await _server.NextAttemptAsync()).Answer("ok");
        await pending.Within();

        await client.DisposeAsync().AsTask().Within();
        await client.DisposeAsync().AsTask().Within();

        _server.Connections.Should().ContainSingle().Which.IsDisposed.Should().BeTrue();
        await client.Awaiting(c => c.RequestAsync(Message.FromStrings("y"))).Should().ThrowAsync<ObjectDisposedException>();
    }

    [Fact]
    public async Task Metrics_AbandonedRequest_CountsRequestRetriesAndAbandon()
    {
        string endpoint = Limits.UniqueEndpoint();
        var seen = new Dictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Reliability.Patterns" && instrument.Name.StartsWith("reliability.lazy_pirate.", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "endpoint" && (string?)tag.Value == endpoint)
                {
                    lock (seen)
                    {
                        seen[instrument.Name] = seen.GetValueOrDefault(instrument.Name) + value;
                    }
                }
            }
        });
        listener.Start();
        await using var client = CreateClient(new LazyPirateOptions { Endpoints = [endpoint] });

        var pending = client.RequestAsync(Message.FromStrings("x"));
        for (int i = 0; i < 3; i++)
        {
            await _server.NextAttemptAsync();
            _clock.Advance(Timeout);
        }

        await pending.Awaiting(p => p.Within()).Should().ThrowAsync<RequestFailedException>();
        lock (seen)
        {
            seen.Should().BeEquivalentTo(new Dictionary<string, long>
            {
                ["reliability.lazy_pirate.requests"] = 1,
                ["reliability.lazy_pirate.retries"] = 2,
                ["reliability.lazy_pirate.abandoned"] = 1,
            });
        }
    }
}
