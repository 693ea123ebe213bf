using System.Diagnostics;
using System.Diagnostics.Metrics;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Reliability.Mdp;

namespace Reliability.Hosting.Tests;

/// <summary><c>AddReliabilityInstrumentation()</c> wires our source and meter names into OpenTelemetry's providers.</summary>
public sealed class ReliabilityInstrumentationTests
{
    [Fact]
    public void TracerProvider_WithReliabilityInstrumentation_ExportsSpansOfEveryReliabilitySource()
    {
        var exported = new List<Activity>();
        using (var provider = Sdk.CreateTracerProviderBuilder().AddReliabilityInstrumentation().AddInMemoryExporter(exported).Build())
        {
            // Sources of the same names as the libraries' own: a provider listens by name.
            foreach (string name in MdpTelemetry.SourceNames)
            {
                using var source = new ActivitySource(name);
                using var activity = source.StartActivity("probe " + name);
                activity.Should().NotBeNull($"the provider listens to {name}");
            }

            provider.ForceFlush();
        }

        exported.Select(a => a.Source.Name).Should().BeEquivalentTo(MdpTelemetry.SourceNames);
    }

    [Fact]
    public void MeterProvider_WithReliabilityInstrumentation_ExportsTheReliabilityMeter()
    {
        var exported = new List<Metric>();
        using var meter = new Meter(MdpTelemetry.MeterName);
        var counter = meter.CreateCounter<long>("reliability.mdp.test.probe." + Guid.NewGuid().ToString("N"));
        using (var provider = Sdk.CreateMeterProviderBuilder().AddReliabilityInstrumentation().AddInMemoryExporter(exported).Build())
        {
            counter.Add(3);
            provider.ForceFlush();
        }

        exported.Should().Contain(m => m.Name == counter.Name && m.MeterName == MdpTelemetry.MeterName);
    }
}
