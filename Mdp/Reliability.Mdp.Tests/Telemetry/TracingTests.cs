using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Reliability.Mdp.Client;
using Reliability.Mdp.Protocol;
using Reliability.Mdp.Tests.Broker;
using Reliability.Mdp.Worker;
using Reliability.Transport;

namespace Reliability.Mdp.Tests.Telemetry;

/// <summary>
/// Trace context across client, broker and worker (docs/wire/mdp.md §18, docs/telemetry.md). Each test uses
/// its own service name, so activities of other tests running at the same time are filtered out.
/// </summary>
public sealed class TracingTests : IDisposable
{
    private static readonly TimeSpan Wait = LoopbackBroker.Wait;

    private readonly ActivityListener _listener;
    private readonly ConcurrentQueue<Activity> _stopped = new();
    private readonly SemaphoreSlim _stoppedSignal = new(0);
    private readonly string _service = "traced-" + Guid.NewGuid().ToString("N")[..8];

    public TracingTests()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => MdpTelemetry.SourceNames.Contains(source.Name),
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                if (Equals(activity.GetTagItem("messaging.destination.name"), _service))
                {
                    _stopped.Enqueue(activity);
                    _stoppedSignal.Release();
                }
            },
        };
        ActivitySource.AddActivityListener(_listener);
    }

    public void Dispose()
    {
        _listener.Dispose();
        _stoppedSignal.Dispose();
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Request_V02ThroughOurClientBrokerAndWorker_OneTraceWithClientBrokerWorkerChain(bool asyncClient)
    {
        await using var broker = LoopbackBroker.Start();
        using var stop = new CancellationTokenSource();
        string? seen = null;
        var worker = new MajordomoWorker(new WorkerOptions { BrokerEndpoint = broker.Endpoint, Service = _service, Version = MdpVersion.V02, TraceContext = true });
        var serving = worker.RunAsync(
            (request, _) =>
            {
                seen = string.Join("|", request.Body.Select(f => Encoding.UTF8.GetString(f.Span)));
                return ValueTask.FromResult(new Message().Append("pong"u8.ToArray()));
            },
            stop.Token);

        var reply = asyncClient
            ? await RequestAsyncClient(broker.Endpoint, MdpVersion.V02)
            : await RequestSyncClient(broker.Endpoint, MdpVersion.V02);
        reply.Body[0].ToArray().Should().Equal("pong"u8.ToArray());
        seen.Should().Be("ping|two", "the handler sees the client's body, without the trace frame");

        var activities = await WhenStoppedAsync(3);
        var client = activities.Single(a => a.Source.Name == MdpTelemetry.ClientSourceName);
        var dispatch = activities.Single(a => a.Source.Name == MdpTelemetry.BrokerSourceName);
        var handling = activities.Single(a => a.Source.Name == MdpTelemetry.WorkerSourceName);
        activities.Select(a => a.TraceId).Distinct().Should().ContainSingle("client, broker and worker share one trace");
        client.ParentSpanId.Should().Be(default(ActivitySpanId));
        dispatch.ParentSpanId.Should().Be(client.SpanId);
        handling.ParentSpanId.Should().Be(dispatch.SpanId);
        client.Kind.Should().Be(ActivityKind.Client);
        client.DisplayName.Should().Be("request " + _service);
        dispatch.DisplayName.Should().Be("dispatch " + _service);
        handling.DisplayName.Should().Be("process " + _service);
        dispatch.GetTagItem("messaging.system").Should().Be("majordomo");
        dispatch.GetTagItem("network.protocol.version").Should().Be("0.2");
        ((double)dispatch.GetTagItem("messaging.majordomo.queue_wait")!).Should().BeGreaterThanOrEqualTo(0);

        await stop.CancelAsync();
        await serving.WaitAsync(Wait);
    }

    [Fact]
    public async Task Request_V02ToForeignWorker_WorkerSeesNoTraceFrameAndBrokerSpanStillJoinsTheTrace()
    {
        await using var broker = LoopbackBroker.Start();

        // A worker that did not opt in (plain MDP/0.2 READY, as a zguide-style worker sends it).
        await using var foreign = new RawWorker(broker.Endpoint, _service, MdpVersion.V02);
        var replying = Task.Run(async () =>
        {
            var request = await foreign.ReceiveRequestAsync();
            foreign.Send(new WorkerFinal(request.ClientAddress, request.Body));
            return request;
        });

        var reply = await RequestAsyncClient(broker.Endpoint, MdpVersion.V02);
        var received = await replying.WaitAsync(Wait);
        received.Body.Select(f => Encoding.UTF8.GetString(f.Span)).Should().Equal("ping", "two");
        reply.Body.Select(f => Encoding.UTF8.GetString(f.Span)).Should().Equal("ping", "two");

        var activities = await WhenStoppedAsync(2);
        var client = activities.Single(a => a.Source.Name == MdpTelemetry.ClientSourceName);
        activities.Single(a => a.Source.Name == MdpTelemetry.BrokerSourceName).ParentSpanId.Should().Be(client.SpanId);
    }

    [Fact]
    public async Task Request_V01WithTraceContextOn_NothingExtraOnTheWireAndTheRequestWorks()
    {
        await using var broker = LoopbackBroker.Start();
        await using var worker = new RawWorker(broker.Endpoint, _service, MdpVersion.V01);
        var replying = Task.Run(async () =>
        {
            var request = await worker.ReceiveRequestAsync();
            worker.Send(new WorkerReply(request.ClientAddress, request.Body));
            return request;
        });

        var reply = await RequestSyncClient(broker.Endpoint, MdpVersion.V01);
        (await replying.WaitAsync(Wait)).Body.Select(f => Encoding.UTF8.GetString(f.Span)).Should().Equal("ping", "two");
        reply.Body.Should().HaveCount(2);

        // MDP/0.1 carries no context: the broker's span starts a trace of its own.
        var activities = await WhenStoppedAsync(2);
        var client = activities.Single(a => a.Source.Name == MdpTelemetry.ClientSourceName);
        activities.Single(a => a.Source.Name == MdpTelemetry.BrokerSourceName).TraceId.Should().NotBe(client.TraceId);
    }

    [Fact]
    public async Task Request_V01ClientBodyShapedLikeATraceFrame_ReachesTheWorkerUntouched()
    {
        // An MDP/0.1 client's body is never inspected: a first frame shaped like a trace frame reaches the worker.
        await using var broker = LoopbackBroker.Start();
        await using var worker = new RawWorker(broker.Endpoint, _service, MdpVersion.V02);
        await using var client = new RawClient(broker.Endpoint, MdpVersion.V01);
        string lookalike = Encoding.ASCII.GetString(TraceFrame.Encode(new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded)));
        client.Send(_service, lookalike, "body");

        var request = await worker.ReceiveRequestAsync();
        request.Body.Select(f => Encoding.ASCII.GetString(f.Span)).Should().Equal(lookalike, "body");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Request_NoWorkerAndOneRetry_ClientSpanHasARetryEventAndFails(bool asyncClient)
    {
        await using var broker = LoopbackBroker.Start();
        var timeout = TimeSpan.FromMilliseconds(200);
        var body = new Message().Append("ping"u8.ToArray());
        using var caller = new Activity("caller").Start();
        Func<Task> request = asyncClient
            ? async () =>
            {
                await using var client = new MajordomoAsyncClient(new MajordomoAsyncClientOptions { BrokerEndpoint = broker.Endpoint, Timeout = timeout, Retries = 1 });
                await client.RequestAsync(_service, body);
            }
            : async () =>
            {
                await using var client = new MajordomoClient(new MajordomoClientOptions { BrokerEndpoint = broker.Endpoint, Timeout = timeout, Retries = 1 });
                await client.RequestAsync(_service, body);
            };

        await request.Should().ThrowAsync<MdpRequestFailedException>();
        Activity.Current.Should().BeSameAs(caller, "the client's span does not stay current after the call");
        var span = (await WhenStoppedAsync(1)).Single(a => a.Source.Name == MdpTelemetry.ClientSourceName);
        span.ParentSpanId.Should().Be(caller.SpanId);
        span.Status.Should().Be(ActivityStatusCode.Error);
        span.GetTagItem("error.type").Should().Be(typeof(MdpRequestFailedException).FullName);
        span.Events.Should().ContainSingle(e => e.Name == "retry")
            .Which.Tags.Should().Contain(new KeyValuePair<string, object?>("messaging.majordomo.attempt", 2));
    }

    private async Task<MdpReply> RequestSyncClient(string endpoint, MdpVersion version)
    {
        await using var client = new MajordomoClient(new MajordomoClientOptions
        {
            BrokerEndpoint = endpoint,
            Version = version,
            SocketType = MdpClientSocket.Dealer,
            TraceContext = true,
            Timeout = Wait,
            Retries = 0,
        });
        return await client.RequestAsync(_service, new Message(new ReadOnlyMemory<byte>[] { "ping"u8.ToArray(), "two"u8.ToArray() }));
    }

    private async Task<MdpReply> RequestAsyncClient(string endpoint, MdpVersion version)
    {
        await using var client = new MajordomoAsyncClient(new MajordomoAsyncClientOptions
        {
            BrokerEndpoint = endpoint,
            Version = version,
            TraceContext = true,
            Timeout = Wait,
        });
        return await client.RequestAsync(_service, new Message(new ReadOnlyMemory<byte>[] { "ping"u8.ToArray(), "two"u8.ToArray() }));
    }

    /// <summary>The activities of this test's service once <paramref name="count"/> have stopped (the worker's span ends after its reply is sent).</summary>
    private async Task<List<Activity>> WhenStoppedAsync(int count)
    {
        for (int i = 0; i < count; i++)
        {
            (await _stoppedSignal.WaitAsync(Wait)).Should().BeTrue($"{count} spans of '{_service}' end within {Wait}");
        }

        return [.. _stopped];
    }
}
