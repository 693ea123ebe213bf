using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Reliability.Mdp;

namespace Reliability.Hosting;

/// <summary>
/// Adds Reliability's activity sources and meter to an OpenTelemetry pipeline (docs/telemetry.md §4).
/// The libraries themselves only use <c>System.Diagnostics</c>; this is the one place that knows OpenTelemetry.
/// </summary>
public static class ReliabilityInstrumentationExtensions
{
    /// <summary>Listens to the client, broker and worker sources (<see cref="MdpTelemetry.SourceNames"/>).</summary>
    /// <param name="builder">The tracer provider builder.</param>
    /// <returns><paramref name="builder"/>, for chaining.</returns>
    public static TracerProviderBuilder AddReliabilityInstrumentation(this TracerProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddSource([.. MdpTelemetry.SourceNames]);
    }

    /// <summary>Collects the <c>Reliability.Mdp</c> meter (<see cref="MdpTelemetry.MeterName"/>): brokers, clients and workers.</summary>
    /// <param name="builder">The meter provider builder.</param>
    /// <returns><paramref name="builder"/>, for chaining.</returns>
    public static MeterProviderBuilder AddReliabilityInstrumentation(this MeterProviderBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.AddMeter(MdpTelemetry.MeterName);
    }
}
