using System.Diagnostics.Metrics;

namespace Reliability.Mdp.Titanic.Service;

/// <summary>
/// The assembly's meter, <c>Reliability.Mdp.Titanic</c>: instruments <c>reliability.titanic.*</c> (stored, dispatched,
/// completed, retried, expired, refused, and the gauge of requests held).
/// </summary>
internal sealed class TitanicMetrics : IDisposable
{
    public const string MeterName = "Reliability.Mdp.Titanic";

    private readonly Meter _meter = new(MeterName, "1.0");

    public TitanicMetrics(Func<long> held)
    {
        Stored = _meter.CreateCounter<long>("reliability.titanic.stored", "{request}", "Requests durably stored and acknowledged with 200");
        Refused = _meter.CreateCounter<long>("reliability.titanic.refused", "{request}", "titanic.request answered 500 (store full or failing)");
        Dispatched = _meter.CreateCounter<long>("reliability.titanic.dispatched", "{request}", "Attempts at sending a stored request to its service");
        Completed = _meter.CreateCounter<long>("reliability.titanic.completed", "{request}", "Replies stored (each request at most once)");
        Retried = _meter.CreateCounter<long>("reliability.titanic.retried", "{request}", "Attempts that got no reply in time, sent again later");
        Expired = _meter.CreateCounter<long>("reliability.titanic.expired", "{request}", "Answered requests deleted after the reply time to live");
        _meter.CreateObservableGauge("reliability.titanic.requests", held, "{request}", "Requests held in the store (pending and answered)");
    }

    public Counter<long> Stored { get; }

    public Counter<long> Refused { get; }

    public Counter<long> Dispatched { get; }

    public Counter<long> Completed { get; }

    public Counter<long> Retried { get; }

    public Counter<long> Expired { get; }

    public void Dispose() => _meter.Dispose();
}
