using Reliability.Mdp.Broker;

namespace Reliability.Mdp.Tests.Broker;

public sealed class BrokerOptionsTests
{
    [Fact]
    public void Default_ZguideValues_Valid()
    {
        var options = BrokerOptions.Default;

        options.Endpoints.Should().Equal("tcp://*:5555");
        options.HeartbeatInterval.Should().Be(TimeSpan.FromMilliseconds(2500));
        options.Liveness.Should().Be(3);
        options.WorkerExpiry.Should().Be(TimeSpan.FromMilliseconds(7500));
        options.RequestExpiry.Should().Be(TimeSpan.FromSeconds(30));
        options.MaxRequeues.Should().Be(2);
        options.MaxServiceNameLength.Should().Be(255);
        options.GetProblems().Should().BeEmpty();
    }

    [Fact]
    public void Validate_SeveralBadValues_AllReportedTogether()
    {
        var options = new BrokerOptions
        {
            Endpoints = [],
            HeartbeatInterval = TimeSpan.Zero,
            Liveness = 0,
            RequestExpiry = TimeSpan.FromDays(2),
            MaxRequeues = -1,
            MaxQueuedRequestsPerService = 0,
            MaxServices = 0,
            MaxServiceNameLength = 256,
            MaxWorkers = 0,
            ShutdownTimeout = TimeSpan.FromMinutes(1),
        };

        var act = () => options.Validate();

        var message = act.Should().Throw<ArgumentException>().Which.Message;
        foreach (var name in new[] { "Endpoints", "HeartbeatInterval", "Liveness", "RequestExpiry", "MaxRequeues", "MaxQueuedRequestsPerService", "MaxServices", "MaxServiceNameLength", "MaxWorkers", "ShutdownTimeout" })
        {
            message.Should().Contain(name);
        }

        options.GetProblems().Should().HaveCount(10);
    }

    [Theory]
    [InlineData("")]
    [InlineData("tcp:// *:5555")]
    [InlineData("localhost:5555")]
    public void Validate_MalformedEndpoint_Reported(string endpoint)
    {
        var options = new BrokerOptions { Endpoints = [endpoint] };

        options.GetProblems().Should().ContainSingle().Which.Should().Contain("Endpoint");
    }

    [Fact]
    public void Constructor_InvalidOptions_Throws()
    {
        var act = () => new MajordomoBroker(new BrokerOptions { Liveness = 1000 });

        act.Should().Throw<ArgumentException>().WithMessage("*Liveness*");
    }
}
