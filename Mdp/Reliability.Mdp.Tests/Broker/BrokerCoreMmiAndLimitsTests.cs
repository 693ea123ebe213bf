using Reliability.Patterns.Queueing;
using System.Text;
using Reliability.Mdp.Broker;
using Reliability.Mdp.Protocol;

namespace Reliability.Mdp.Tests.Broker;

/// <summary>MMI answers and the configured limits.</summary>
public sealed class BrokerCoreMmiAndLimitsTests
{
    [Fact]
    public void MmiService_LiveWorker_200()
    {
        using var h = new CoreHarness();
        h.Ready("w1", "echo");

        h.MmiLookup("echo").Should().Be(Mmi.Found);
    }

    [Fact]
    public void MmiService_NoWorker_404AndNoServiceCreated()
    {
        using var h = new CoreHarness();

        h.MmiLookup("echo").Should().Be(Mmi.NotFound);
        h.Core.ServiceCount.Should().Be(0);
    }

    [Fact]
    public void MmiService_ServiceWithQueuedRequestsButNoWorker_404()
    {
        using var h = new CoreHarness();
        h.Request("c1", "echo", "waiting");

        h.MmiLookup("echo").Should().Be(Mmi.NotFound);
    }

    [Fact]
    public void MmiService_WorkerPastItsDeadlineBeforeTheTimerRan_404()
    {
        using var h = new CoreHarness();
        h.Ready("w1", "echo");
        h.Clock.Advance(TimeSpan.FromSeconds(4));

        // MMI reflects live workers, not the books as of the last timer run (docs/wire/mmi.md §4).
        h.MmiLookup("echo").Should().Be(Mmi.NotFound);
    }

    [Fact]
    public void MmiService_AfterLastWorkerDisconnected_404()
    {
        using var h = new CoreHarness();
        h.Ready("w1", "echo");
        h.Disconnect("w1");

        h.MmiLookup("echo").Should().Be(Mmi.NotFound);
    }

    [Fact]
    public void MmiUnknown_501InClientVersion()
    {
        using var h = new CoreHarness();

        h.Request("c1", "mmi.nonsense", "x", MdpVersion.V01);
        h.Request("c2", "mmi.nonsense", "x", MdpVersion.V02);

        var v1 = h.TakeClientReplies("c1").Should().ContainSingle().Which.Should().BeOfType<ClientReply>().Subject;
        Mmi.ReadStatus(v1.Body).Should().Be(Mmi.NotImplemented);
        v1.Service.Should().Be("mmi.nonsense");
        var v2 = h.TakeClientReplies("c2").Should().ContainSingle().Which.Should().BeOfType<ClientFinal>().Subject;
        Mmi.ReadStatus(v2.Body).Should().Be(Mmi.NotImplemented);
    }

    [Fact]
    public void MmiWorkers_CountsLiveWorkersOfAServiceOrAll()
    {
        using var h = new CoreHarness();
        h.Ready("w1", "echo");
        h.Ready("w2", "echo");
        h.Ready("w3", "time");

        h.Request("c1", MajordomoBroker.WorkersService, "echo");
        h.Request("c2", MajordomoBroker.WorkersService, [], MdpVersion.V01);
        h.Request("c3", MajordomoBroker.WorkersService, "none");

        BodyText(h.TakeClientReplies("c1").Single()).Should().Equal("200", "2");
        BodyText(h.TakeClientReplies("c2").Single()).Should().Equal("200", "3");
        BodyText(h.TakeClientReplies("c3").Single()).Should().Equal("200", "0");
    }

    [Fact]
    public void MmiServices_ListsServicesWithLiveWorkersInOrder()
    {
        using var h = new CoreHarness();
        h.Ready("w1", "time");
        h.Ready("w2", "echo");
        h.Request("c0", "queued-only", "x");

        h.Request("c1", MajordomoBroker.ServicesService, "");

        BodyText(h.TakeClientReplies("c1").Single()).Should().Equal("200", "echo", "time");
    }

    [Fact]
    public void Limits_MaxWorkers_FurtherReadyGetsDisconnect()
    {
        using var h = new CoreHarness(new BrokerOptions { MaxWorkers = 1 });
        h.Ready("w1", "echo");

        h.Ready("w2", "echo");

        h.TakeWorkerCommands("w2").Should().ContainSingle().Which.Should().Be(WorkerDisconnect.Instance);
        h.Core.WorkerCount.Should().Be(1);
    }

    [Fact]
    public void Limits_MaxServices_RequestForAnotherServiceDroppedAndReadyRefused()
    {
        using var h = new CoreHarness(new BrokerOptions { MaxServices = 1 });
        h.Ready("w1", "echo");

        h.Request("c1", "other", "x");
        h.Ready("w2", "other");

        h.Core.ServiceCount.Should().Be(1);
        h.Metric("requests.dropped", "service_limit").Should().Be(1);
        h.TakeWorkerCommands("w2").Should().ContainSingle().Which.Should().Be(WorkerDisconnect.Instance);
    }

    [Fact]
    public void Limits_ServicesForgottenWhenEmpty_DoNotCountAgainstMaxServices()
    {
        using var h = new CoreHarness(new BrokerOptions { MaxServices = 1 });
        for (int i = 0; i < 5; i++)
        {
            h.Ready($"w{i}", $"svc{i}");
            h.Disconnect($"w{i}");
        }

        h.Ready("last", "final");

        h.Core.ServiceCount.Should().Be(1);
        h.Core.FindWorkerState("last"u8).Should().Be(WorkerState.Ready);
    }

    [Fact]
    public void Limits_MaxServiceNameLength_LongerNamesRefused()
    {
        using var h = new CoreHarness(new BrokerOptions { MaxServiceNameLength = 4 });

        h.Ready("w1", "toolong");
        h.Request("c1", "toolong", "x");
        h.Ready("w2", "echo");

        h.TakeWorkerCommands("w1").Should().ContainSingle().Which.Should().Be(WorkerDisconnect.Instance);
        h.Metric("requests.dropped", "service_name_too_long").Should().Be(1);
        h.Core.FindWorkerState("w2"u8).Should().Be(WorkerState.Ready);
        h.Core.ServiceCount.Should().Be(1);
    }

    private static List<string> BodyText(MdpClientCommand reply) => reply.Body.Select(f => Encoding.UTF8.GetString(f.Span)).ToList();
}
