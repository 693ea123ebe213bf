using System.Text;
using Reliability.Patterns.BinaryStar;
using Reliability.Transport;

namespace Reliability.Patterns.Tests.BinaryStar;

public sealed class BinaryStarOptionsTests
{
    private static readonly BinaryStarOptions Valid = new() { LocalEndpoint = "tcp://*:5003", RemoteEndpoint = "tcp://127.0.0.1:5004" };

    [Fact]
    public void Defaults_AreTheZguideValues()
    {
        var options = new BinaryStarOptions();

        options.Role.Should().Be(BinaryStarRole.Primary);
        options.Heartbeat.Should().Be(TimeSpan.FromMilliseconds(1000));
        options.OnStateChanged.Should().BeNull();
    }

    [Fact]
    public void Validate_WithBothEndpoints_Passes()
    {
        Valid.Invoking(o => o.Validate()).Should().NotThrow();
        (Valid with { Role = BinaryStarRole.Backup }).Invoking(o => o.Validate()).Should().NotThrow();
    }

    [Fact]
    public void Validate_SeveralProblems_ReportsAllTogether()
    {
        var options = new BinaryStarOptions { Role = (BinaryStarRole)7, RemoteEndpoint = "nonsense", Heartbeat = TimeSpan.FromMilliseconds(1) };

        options.Invoking(o => o.Validate()).Should().Throw<ArgumentException>()
            .WithMessage("*Role must be Primary or Backup*")
            .WithMessage("*LocalEndpoint must look like transport://address*")
            .WithMessage("*RemoteEndpoint must look like transport://address (was 'nonsense')*")
            .WithMessage("*Heartbeat must be*");
    }

    [Theory]
    [InlineData(10, true)]
    [InlineData(60_000, true)]
    [InlineData(9, false)]
    [InlineData(60_001, false)]
    public void Validate_Heartbeat_AcceptsMinToMax(int milliseconds, bool valid)
    {
        var action = () => (Valid with { Heartbeat = TimeSpan.FromMilliseconds(milliseconds) }).Validate();

        if (valid)
        {
            action.Should().NotThrow();
        }
        else
        {
            action.Should().Throw<ArgumentException>().WithMessage("*Heartbeat*");
        }
    }

    [Fact]
    public void Node_InvalidOptions_ThrowsAtConstruction()
    {
        var create = () => new BinaryStarNode(new BinaryStarOptions());

        create.Should().Throw<ArgumentException>().WithMessage("*LocalEndpoint*");
    }

    [Theory]
    [InlineData("1", BinaryStarState.Primary)]
    [InlineData("2", BinaryStarState.Backup)]
    [InlineData("3", BinaryStarState.Active)]
    [InlineData("4", BinaryStarState.Passive)]
    public void TryParseState_OneDigitFrame_IsTheState(string frame, BinaryStarState expected)
    {
        BinaryStarNode.TryParseState(Message.FromStrings(frame), out var state).Should().BeTrue();

        state.Should().Be(expected);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("5")]
    [InlineData("13")]
    [InlineData(" 3")]
    [InlineData("")]
    [InlineData("A")]
    public void TryParseState_AnythingElseInOneFrame_IsRejected(string frame)
    {
        BinaryStarNode.TryParseState(Message.FromFrames(Encoding.ASCII.GetBytes(frame)), out _).Should().BeFalse();
    }

    [Fact]
    public void TryParseState_TwoFrames_IsRejected()
    {
        BinaryStarNode.TryParseState(Message.FromStrings("3", "3"), out _).Should().BeFalse();
    }
}
