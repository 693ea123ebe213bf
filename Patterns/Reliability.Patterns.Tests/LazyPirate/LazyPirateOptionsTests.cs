using Reliability.Patterns.LazyPirate;
using Reliability.Transport;

namespace Reliability.Patterns.Tests.LazyPirate;

public sealed class LazyPirateOptionsTests
{
    private static readonly LazyPirateOptions Valid = new() { Endpoints = ["tcp://127.0.0.1:5555"] };

    [Fact]
    public void Defaults_AreTheZguideValues()
    {
        var options = new LazyPirateOptions();

        options.RequestTimeout.Should().Be(TimeSpan.FromMilliseconds(2500));
        options.Attempts.Should().Be(3);
        options.RetryDelay.Should().Be(TimeSpan.Zero);
        options.Socket.Linger.Should().Be(TimeSpan.Zero);
        options.Failover.Should().BeFalse();
    }

    [Fact]
    public void Validate_WithOneEndpoint_Passes()
    {
        Valid.Invoking(o => o.Validate()).Should().NotThrow();
    }

    [Fact]
    public void Validate_NoEndpoints_Throws()
    {
        new LazyPirateOptions().Invoking(o => o.Validate()).Should().Throw<ArgumentException>().WithMessage("*Endpoints must name at least one server*");
    }

    [Fact]
    public void Validate_SeveralProblems_ReportsAllTogether()
    {
        var options = Valid with
        {
            Endpoints = ["nonsense", "tcp://127.0.0.1:1", "tcp://127.0.0.1:1"],
            RequestTimeout = TimeSpan.Zero,
            Attempts = 0,
            RetryDelay = TimeSpan.FromSeconds(-1),
            Socket = new SocketOptions { RequestCorrelate = true, SendHighWaterMark = -1 },
        };

        options.Invoking(o => o.Validate()).Should().Throw<ArgumentException>()
            .WithMessage("*Endpoints[0]*")
            .WithMessage("*must not repeat*")
            .WithMessage("*RequestTimeout*")
            .WithMessage("*Attempts must be 1..100*")
            .WithMessage("*RetryDelay must be*")
            .WithMessage("*Socket: *SendHighWaterMark*")
            .WithMessage("*RequestCorrelate are not supported*");
    }

    [Theory]
    [InlineData(1, true)]
    [InlineData(100, true)]
    [InlineData(101, false)]
    [InlineData(-1, false)]
    public void Validate_Attempts_AcceptsOneToMax(int attempts, bool valid)
    {
        var action = () => (Valid with { Attempts = attempts }).Validate();

        if (valid)
        {
            action.Should().NotThrow();
        }
        else
        {
            action.Should().Throw<ArgumentException>().WithMessage("*Attempts*");
        }
    }

    [Fact]
    public void Validate_RetryDelayMaxBelowRetryDelay_Throws()
    {
        (Valid with { RetryDelay = TimeSpan.FromSeconds(2), RetryDelayMax = TimeSpan.FromSeconds(1) })
            .Invoking(o => o.Validate()).Should().Throw<ArgumentException>().WithMessage("*RetryDelayMax*");
    }

    [Fact]
    public void Validate_InfiniteRequestTimeout_Throws()
    {
        (Valid with { RequestTimeout = System.Threading.Timeout.InfiniteTimeSpan })
            .Invoking(o => o.Validate()).Should().Throw<ArgumentException>().WithMessage("*RequestTimeout*");
    }

    [Fact]
    public void EffectiveSocketOptions_AnyLinger_IsForcedToZero()
    {
        var options = Valid with { Socket = new SocketOptions { Linger = TimeSpan.FromSeconds(5), ReconnectInterval = TimeSpan.FromMilliseconds(50) } };

        options.EffectiveSocketOptions.Linger.Should().Be(TimeSpan.Zero);
        options.EffectiveSocketOptions.ReconnectInterval.Should().Be(TimeSpan.FromMilliseconds(50));
    }

    [Fact]
    public void Constructor_InvalidOptions_ThrowsBeforeOpeningAnything()
    {
        var create = () => new LazyPirateClient(new LazyPirateOptions());

        create.Should().Throw<ArgumentException>();
    }
}
