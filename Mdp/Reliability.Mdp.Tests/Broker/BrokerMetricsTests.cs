using System.Diagnostics.Metrics;
using Reliability.Mdp.Broker;
using Reliability.Mdp.Protocol;

namespace Reliability.Mdp.Tests.Broker;

/// <summary>The broker's meter comes from the application's <see cref="IMeterFactory"/> when there is one, and stays the factory's.</summary>
public sealed class BrokerMetricsTests
{
    [Fact]
    public void WithFactory_MeterCreatedByItAndLeftToIt()
    {
        using var factory = new RecordingMeterFactory();
        long received = 0;
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (factory.Created.Contains(instrument.Meter))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            if (instrument.Name == "reliability.mdp.broker.requests.received")
            {
                Interlocked.Add(ref received, value);
            }
        });
        listener.Start();

        var metrics = new BrokerMetrics(factory);
        metrics.Meter.Should().BeSameAs(factory.Created.Single());
        metrics.Meter.Name.Should().Be("Reliability.Mdp");
        metrics.RequestReceived(MdpVersion.V01);
        metrics.Dispose();
        metrics.RequestReceived(MdpVersion.V01);

        Interlocked.Read(ref received).Should().Be(2, "disposing the broker's metrics leaves a factory's meter alive");
    }

    [Fact]
    public void WithoutFactory_OwnMeterOfTheAssemblyName()
    {
        using var metrics = new BrokerMetrics();

        metrics.Meter.Name.Should().Be("Reliability.Mdp");
        metrics.Meter.Version.Should().Be("1.0");
    }

    private sealed class RecordingMeterFactory : IMeterFactory
    {
        public List<Meter> Created { get; } = [];

        public Meter Create(MeterOptions options)
        {
            var meter = new Meter(options);
            Created.Add(meter);
            return meter;
        }

        public void Dispose()
        {
            foreach (var meter in Created)
            {
                meter.Dispose();
            }
        }
    }
}
