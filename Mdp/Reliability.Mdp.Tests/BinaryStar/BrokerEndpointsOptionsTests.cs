using Reliability.Mdp.Client;
using Reliability.Mdp.Worker;

namespace Reliability.Mdp.Tests.BinaryStar;

/// <summary>The several-brokers settings of the worker and both clients: one set of checks, one failover policy.</summary>
public sealed class BrokerEndpointsOptionsTests
{
    private static readonly string[] Pair = ["tcp://127.0.0.1:5001", "tcp://127.0.0.1:5002"];

    [Fact]
    public void Validate_SeveralBrokers_Accepted()
    {
        new WorkerOptions { BrokerEndpoints = Pair, Service = "echo" }.Validate();
        new MajordomoClientOptions { BrokerEndpoints = Pair }.Validate();
        new MajordomoAsyncClientOptions { BrokerEndpoints = Pair, Retries = 3 }.Validate();
    }

    [Fact]
    public void Validate_BothSingleAndSeveral_RepeatedOrMalformed_AllReported()
    {
        var act = () => new MajordomoClientOptions { BrokerEndpoint = Pair[0], BrokerEndpoints = [Pair[0], Pair[0], "5003"] }.Validate();

        act.Should().Throw<ArgumentException>().Which.Message.Should()
            .Contain("BrokerEndpoint and BrokerEndpoints are both set")
            .And.Contain("BrokerEndpoints must not repeat a broker")
            .And.Contain("BrokerEndpoints[2] must look like transport://address (was '5003')");
    }

    [Fact]
    public void Validate_NeitherSingleNorSeveral_AsksForTheBroker()
    {
        var act = () => new WorkerOptions { Service = "echo" }.Validate();

        act.Should().Throw<ArgumentException>().WithMessage("*BrokerEndpoint must look like transport://address*");
    }

    [Fact]
    public void Validate_AsyncRetriesAndSettleOutOfRange_Reported()
    {
        var act = () => new MajordomoAsyncClientOptions { BrokerEndpoints = Pair, Retries = -1, SettleDelay = TimeSpan.FromSeconds(-1) }.Validate();

        act.Should().Throw<ArgumentException>().Which.Message.Should().Contain("Retries must be 0..1000").And.Contain("SettleDelay must be between zero");
    }

    [Fact]
    public void LazyPirate_SeveralBrokers_FailOverWithTheSettleDelay_OneBrokerRetriesWithTheRetryDelay()
    {
        var pair = new MajordomoClientOptions { BrokerEndpoints = Pair, Retries = 4, SettleDelay = TimeSpan.FromMilliseconds(700), RetryDelay = TimeSpan.FromMilliseconds(5) }.LazyPirate;
        var lone = new MajordomoClientOptions { BrokerEndpoint = Pair[0], RetryDelay = TimeSpan.FromMilliseconds(5) }.LazyPirate;

        pair.Failover.Should().BeTrue();
        pair.Endpoints.Should().Equal(Pair);
        pair.RetryDelay.Should().Be(TimeSpan.FromMilliseconds(700));
        pair.Attempts.Should().Be(5);
        lone.Failover.Should().BeFalse();
        lone.Endpoints.Should().Equal(Pair[0]);
        lone.RetryDelay.Should().Be(TimeSpan.FromMilliseconds(5));
    }
}
