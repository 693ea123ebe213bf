using Reliability.Patterns.Heartbeating;
using Reliability.Patterns.ParanoidPirate;
using Reliability.Patterns.SimplePirate;

namespace Reliability.Patterns.Tests.ParanoidPirate;

public sealed class OptionsTests
{
    [Fact]
    public void Validate_Defaults_Pass()
    {
        new ParanoidPirateQueueOptions().Validate();
        new ParanoidPirateWorkerOptions().Validate();
        new SimplePirateQueueOptions().Validate();
        new SimplePirateWorkerOptions().Validate();
    }

    [Fact]
    public void Validate_QueueOptionsWithSeveralProblems_AllReportedTogether()
    {
        var options = new ParanoidPirateQueueOptions
        {
            FrontendEndpoint = " ",
            Heartbeat = new HeartbeatOptions { Liveness = 0 },
            MaxRequeues = -1,
            RequeueMaxAge = TimeSpan.Zero,
        };

        var act = options.Validate;

        act.Should().Throw<ArgumentException>()
            .Which.Message.Should().ContainAll("FrontendEndpoint", "Liveness", "MaxRequeues", "RequeueMaxAge");
    }

    [Fact]
    public void Validate_WorkerOptionsWithSeveralProblems_AllReportedTogether()
    {
        var options = new ParanoidPirateWorkerOptions
        {
            Endpoint = "",
            RoutingId = new byte[] { 0, 1 },
            MaxQueuedRequests = -1,
        };

        var act = options.Validate;

        act.Should().Throw<ArgumentException>()
            .Which.Message.Should().ContainAll("Endpoint", "RoutingId", "MaxQueuedRequests");
    }

    [Fact]
    public void Constructor_InvalidOptions_Throws()
    {
        var queue = () => new ParanoidPirateQueue(new ParanoidPirateQueueOptions { MaxRequeues = 99 });
        var worker = () => new ParanoidPirateWorker(PirateTestKit.Echo, new ParanoidPirateWorkerOptions { Heartbeat = null! });
        var spQueue = () => new SimplePirateQueue(new SimplePirateQueueOptions { BackendEndpoint = "" });
        var spWorker = () => new SimplePirateWorker(PirateTestKit.Echo, new SimplePirateWorkerOptions { RoutingId = new byte[256] });

        queue.Should().Throw<ArgumentException>();
        worker.Should().Throw<ArgumentException>();
        spQueue.Should().Throw<ArgumentException>();
        spWorker.Should().Throw<ArgumentException>();
    }
}
