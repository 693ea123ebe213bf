using System.Text;
using Reliability.Mdp.Protocol;

namespace Reliability.Mdp.Tests.Protocol;

/// <summary>Mistakes in our own code are programming errors: building throws <see cref="ArgumentException"/>.</summary>
public sealed class MdpBuildArgumentTests
{
    private static readonly ReadOnlyMemory<byte> Id = new byte[] { 0x00, 0x01, 0x02, 0x03, 0x04 };

    public static TheoryData<object, MdpVersion> NotFromWorker() => new()
    {
        { new WorkerRequest(Id), MdpVersion.V01 },
        { new WorkerRequest(Id), MdpVersion.V02 },
        { new WorkerReply(Id), MdpVersion.V02 },
        { new WorkerPartial(Id), MdpVersion.V01 },
        { new WorkerFinal(Id), MdpVersion.V01 },
    };

    public static TheoryData<object, MdpVersion> NotToWorker() => new()
    {
        { new WorkerReady("echo"), MdpVersion.V01 },
        { new WorkerReply(Id), MdpVersion.V01 },
        { new WorkerPartial(Id), MdpVersion.V02 },
        { new WorkerFinal(Id), MdpVersion.V02 },
    };

    [Theory]
    [MemberData(nameof(NotFromWorker))]
    public void BuildFromWorker_CommandWorkerMayNotSend_Throws(object cmdCase, MdpVersion version)
    {
        // Boxed: theory data of public test methods cannot name the internal command types.
        var cmd = (MdpWorkerCommand)cmdCase;
        var build = () => MdpCodec.BuildFromWorker(cmd, version);

        build.Should().Throw<ArgumentException>().WithParameterName("command");
    }

    [Theory]
    [MemberData(nameof(NotToWorker))]
    public void BuildToWorker_CommandBrokerMayNotSend_Throws(object cmdCase, MdpVersion version)
    {
        // Boxed: theory data of public test methods cannot name the internal command types.
        var cmd = (MdpWorkerCommand)cmdCase;
        var build = () => MdpCodec.BuildToWorker(Id, cmd, version);

        build.Should().Throw<ArgumentException>().WithParameterName("command");
    }

    [Fact]
    public void BuildToWorker_EmptyOrLongRoutingId_Throws()
    {
        var empty = () => MdpCodec.BuildToWorker(ReadOnlyMemory<byte>.Empty, WorkerHeartbeat.Instance, MdpVersion.V01);
        var tooLong = () => MdpCodec.BuildToWorker(new byte[256], WorkerHeartbeat.Instance, MdpVersion.V01);

        empty.Should().Throw<ArgumentException>().WithParameterName("workerId");
        tooLong.Should().Throw<ArgumentException>().WithParameterName("workerId");
    }

    [Fact]
    public void BuildFromClient_V02WithReq_Throws()
    {
        var build = () => MdpCodec.BuildFromClient(new ClientRequest("echo"), MdpVersion.V02, MdpClientSocket.Req);

        build.Should().Throw<ArgumentException>().WithMessage("*DEALER*");
    }

    [Fact]
    public void BuildFromClient_UndefinedVersion_Throws()
    {
        var build = () => MdpCodec.BuildFromClient(new ClientRequest("echo"), (MdpVersion)7, MdpClientSocket.Dealer);

        build.Should().Throw<ArgumentOutOfRangeException>();
    }

    [Fact]
    public void BuildToClient_WrongCommandForVersion_Throws()
    {
        var request = () => MdpCodec.BuildToClient(Id, new ClientRequest("echo"), MdpVersion.V01);
        var replyIn02 = () => MdpCodec.BuildToClient(Id, new ClientReply("echo"), MdpVersion.V02);
        var finalIn01 = () => MdpCodec.BuildToClient(Id, new ClientFinal("echo"), MdpVersion.V01);
        var partialIn01 = () => MdpCodec.BuildToClient(Id, new ClientPartial("echo"), MdpVersion.V01);
        var noId = () => MdpCodec.BuildToClient(default, new ClientReply("echo"), MdpVersion.V01);

        request.Should().Throw<ArgumentException>().WithParameterName("reply");
        replyIn02.Should().Throw<ArgumentException>().WithParameterName("reply");
        finalIn01.Should().Throw<ArgumentException>().WithParameterName("reply");
        partialIn01.Should().Throw<ArgumentException>().WithParameterName("reply");
        noId.Should().Throw<ArgumentException>().WithParameterName("clientId");
    }

    [Fact]
    public void Build_NullCommand_ThrowsArgumentNull()
    {
        var fromWorker = () => MdpCodec.BuildFromWorker(null!, MdpVersion.V01);
        var fromClient = () => MdpCodec.BuildFromClient(null!, MdpVersion.V01, MdpClientSocket.Req);
        var parse = () => MdpCodec.ParseAtBroker(null!);

        fromWorker.Should().Throw<ArgumentNullException>();
        fromClient.Should().Throw<ArgumentNullException>();
        parse.Should().Throw<ArgumentNullException>();
    }

    [Theory]
    [InlineData("")]
    [InlineData("tab\there")]
    [InlineData("\u007f")]
    public void Constructors_InvalidServiceName_Throw(string name)
    {
        var request = () => new ClientRequest(name);
        var ready = () => new WorkerReady(name);

        request.Should().Throw<ArgumentException>().WithParameterName("service");
        ready.Should().Throw<ArgumentException>().WithParameterName("service");
    }

    [Fact]
    public void Constructors_ServiceNameWithLoneSurrogate_Throw()
    {
        // Not an InlineData: xunit's serialization of test cases would replace the lone surrogate.
        string name = "echo" + '\ud800';
        var request = () => new ClientRequest(name);

        request.Should().Throw<ArgumentException>().WithMessage("*surrogate*");
    }

    [Fact]
    public void Constructors_ServiceNameLength_CappedAt255Utf8Bytes()
    {
        var atLimit = () => new WorkerReady(new string('a', 255));
        var overLimit = () => new WorkerReady(new string('a', 256));
        var overLimitMultibyte = () => new WorkerReady(new string('é', 128)); // 256 UTF-8 bytes

        atLimit.Should().NotThrow();
        overLimit.Should().Throw<ArgumentException>().WithMessage("*255 bytes*");
        overLimitMultibyte.Should().Throw<ArgumentException>().WithMessage("*255 bytes*");
    }

    [Fact]
    public void Constructors_InvalidClientAddress_Throw()
    {
        var empty = () => new WorkerRequest(ReadOnlyMemory<byte>.Empty);
        var tooLong = () => new WorkerReply(new byte[256]);

        empty.Should().Throw<ArgumentException>().WithParameterName("clientAddress");
        tooLong.Should().Throw<ArgumentException>().WithParameterName("clientAddress");
    }

    [Fact]
    public void Constructors_NullArguments_ThrowArgumentNull()
    {
        var service = () => new ClientRequest(null!);
        var body = () => new ClientRequest("echo", (IEnumerable<ReadOnlyMemory<byte>>)null!);

        service.Should().Throw<ArgumentNullException>();
        body.Should().Throw<ArgumentNullException>();
    }

    [Fact]
    public void Build_DoesNotChangeCommand_MessageOwnsItsFrameList()
    {
        var request = new ClientRequest("echo", Encoding.UTF8.GetBytes("hello"));
        var first = MdpCodec.BuildFromClient(request, MdpVersion.V01, MdpClientSocket.Dealer);
        first.RemoveFront(first.Count); // a socket may consume the message in place

        var second = MdpCodec.BuildFromClient(request, MdpVersion.V01, MdpClientSocket.Dealer);

        second.Count.Should().Be(4);
        request.Body.Should().HaveCount(1);
    }
}
