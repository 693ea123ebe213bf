using Reliability.Mdp.Protocol;
using Reliability.Mdp.Worker;

namespace Reliability.Mdp.Tests.Worker;

public sealed class WorkerOptionsTests
{
    private static readonly WorkerOptions Valid = new() { BrokerEndpoint = "tcp://127.0.0.1:5555", Service = "echo" };

    [Fact]
    public void Validate_Defaults_ZguideValuesAndMdp01()
    {
        Valid.Validate();
        Valid.Heartbeat.Should().Be(TimeSpan.FromMilliseconds(2500));
        Valid.Liveness.Should().Be(3);
        Valid.ReconnectDelay.Should().Be(TimeSpan.FromMilliseconds(2500));
        Valid.Version.Should().Be(MdpVersion.V01);
    }

    [Fact]
    public void Validate_NothingSet_ReportsEndpointAndServiceTogether()
    {
        var act = () => new WorkerOptions().Validate();

        act.Should().Throw<ArgumentException>().Which.Message.Should().Contain("BrokerEndpoint").And.Contain("Service");
    }

    [Fact]
    public void Validate_MmiService_RejectedAsReserved()
    {
        var act = () => (Valid with { Service = "mmi.service" }).Validate();

        act.Should().Throw<ArgumentException>().WithMessage("*reserved*");
    }

    [Fact]
    public void Validate_OutOfRangeValues_AllReported()
    {
        var act = () => (Valid with
        {
            Heartbeat = TimeSpan.Zero,
            Liveness = 0,
            ReconnectDelay = TimeSpan.FromSeconds(5),
            ReconnectDelayMax = TimeSpan.FromSeconds(1),
            Service = new string('s', 300),
        }).Validate();

        act.Should().Throw<ArgumentException>().Which.Message.Should()
            .Contain("Heartbeat").And.Contain("Liveness").And.Contain("ReconnectDelayMax").And.Contain("Service");
    }

    [Fact]
    public void Constructor_InvalidOptions_Throws()
    {
        var act = () => new MajordomoWorker(Valid with { BrokerEndpoint = "localhost:5555" });

        act.Should().Throw<ArgumentException>().WithMessage("*transport://address*");
    }
}
