using System.Text;
using Reliability.Mdp.Protocol;

namespace Reliability.Mdp.Tests.Protocol;

public sealed class MmiTests
{
    private static ReadOnlyMemory<byte> Utf8(string text) => Encoding.UTF8.GetBytes(text);

    [Theory]
    [InlineData("mmi.service", true)]
    [InlineData("mmi.anything", true)]
    [InlineData("mmi.", true)]
    [InlineData("MMI.service", false)]
    [InlineData("mmiservice", false)]
    [InlineData("echo", false)]
    public void IsMmiService_ChecksPrefixCaseSensitive(string service, bool expected)
    {
        Mmi.IsMmiService(service).Should().Be(expected);
    }

    [Fact]
    public void Evaluate_ServiceLookupWithWorkers_Returns200()
    {
        Mmi.Evaluate(new ClientRequest("mmi.service", Utf8("echo")), name => name == "echo").Should().Be("200");
    }

    [Fact]
    public void Evaluate_ServiceLookupWithoutWorkers_Returns404()
    {
        Mmi.Evaluate(new ClientRequest("mmi.service", Utf8("nope")), name => name == "echo").Should().Be("404");
    }

    [Fact]
    public void Evaluate_ServiceLookupWithMissingOrInvalidName_Returns404WithoutAskingForIt()
    {
        int asked = 0;
        bool HasWorkers(string _)
        {
            asked++;
            return true;
        }

        Mmi.Evaluate(new ClientRequest("mmi.service"), HasWorkers).Should().Be("404");
        Mmi.Evaluate(new ClientRequest("mmi.service", Utf8("")), HasWorkers).Should().Be("404");
        Mmi.Evaluate(new ClientRequest("mmi.service", new byte[300]), HasWorkers).Should().Be("404");
        asked.Should().Be(0);
    }

    [Fact]
    public void Evaluate_OtherMmiService_Returns501()
    {
        Mmi.Evaluate(new ClientRequest("mmi.workers", Utf8("echo")), _ => true).Should().Be("501");
    }

    [Fact]
    public void Evaluate_NonMmiService_Throws()
    {
        var evaluate = () => Mmi.Evaluate(new ClientRequest("echo"), _ => true);

        evaluate.Should().Throw<ArgumentException>().WithParameterName("request");
    }

    [Fact]
    public void CreateReplyAndFinal_EchoServiceWithStatusBody()
    {
        var request = Mmi.CreateLookup("echo");

        request.Should().Be(new ClientRequest("mmi.service", Utf8("echo")));
        Mmi.CreateReply(request, Mmi.NotFound).Should().Be(new ClientReply("mmi.service", Utf8("404")));
        Mmi.CreateFinal(request, Mmi.NotImplemented).Should().Be(new ClientFinal("mmi.service", Utf8("501")));
    }

    [Fact]
    public void StatusFrame_UnknownCode_Throws()
    {
        var frame = () => Mmi.StatusFrame("302");

        frame.Should().Throw<ArgumentException>();
    }

    [Fact]
    public void ReadStatus_ReturnsCodeOrNull()
    {
        Mmi.ReadStatus([Utf8("200")]).Should().Be(Mmi.Found);
        Mmi.ReadStatus([Utf8("404")]).Should().Be(Mmi.NotFound);
        Mmi.ReadStatus([Utf8("501")]).Should().Be(Mmi.NotImplemented);
        Mmi.ReadStatus([Utf8("418")]).Should().Be("418");
        Mmi.ReadStatus([]).Should().BeNull();
    }
}
