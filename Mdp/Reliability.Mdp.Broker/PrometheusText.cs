using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;

namespace Reliability.Mdp.Broker.Service;

/// <summary>
/// Listens to the instruments of the meters made by one <see cref="IMeterFactory"/> (the broker's) and
/// renders their running totals in the Prometheus text exposition format (version 0.0.4): counters as
/// <c>_total</c> counters, up-down counters as gauges, dots in names and tags turned into underscores.
/// Started before the broker is created, so the up-down counters (workers, queue depth) see every change.
/// </summary>
internal sealed class PrometheusText : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<Instrument, byte> _instruments = new();

    // Instrument and its one tag (the broker's instruments carry at most one) → running total.
    private readonly ConcurrentDictionary<(Instrument Instrument, string? Key, string? Value), StrongBox<long>> _series = new();

    public PrometheusText(IMeterFactory factory)
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, factory))
            {
                _instruments.TryAdd(instrument, 0);
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>(OnMeasurement);
        _listener.Start();
    }

    /// <summary>The total of <paramref name="name"/> for the series whose tag <paramref name="tag"/> is <paramref name="value"/>.</summary>
    public long Value(string name, string tag, string value) =>
        _series.Where(s => s.Key.Instrument.Name == name && s.Key.Key == tag && s.Key.Value == value).Sum(s => Interlocked.Read(ref s.Value.Value));

    /// <summary>The exposition text: every instrument (0 before its first measurement), one line per series.</summary>
    public string Render()
    {
        var text = new StringBuilder();
        foreach (var instrument in _instruments.Keys.OrderBy(i => i.Name, StringComparer.Ordinal))
        {
            bool counter = instrument is Counter<long>;
            string name = Sanitize(instrument.Name) + (counter ? "_total" : string.Empty);
            text.Append("# HELP ").Append(name).Append(' ').Append(instrument.Description?.Replace("\n", " ", StringComparison.Ordinal)).Append('\n');
            text.Append("# TYPE ").Append(name).Append(counter ? " counter\n" : " gauge\n");
            var series = _series.Where(s => s.Key.Instrument == instrument).OrderBy(s => s.Key.Value, StringComparer.Ordinal).ToList();
            if (series.Count == 0)
            {
                text.Append(name).Append(" 0\n");
            }

            foreach (var (key, total) in series)
            {
                text.Append(name);
                if (key.Key is not null)
                {
                    text.Append('{').Append(Sanitize(key.Key)).Append("=\"").Append(Escape(key.Value ?? string.Empty)).Append("\"}");
                }

                text.Append(' ').Append(Interlocked.Read(ref total.Value).ToString(CultureInfo.InvariantCulture)).Append('\n');
            }
        }

        return text.ToString();
    }

    public void Dispose() => _listener.Dispose();

    private void OnMeasurement(Instrument instrument, long measurement, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        // Several tags would be joined into one label set; the broker's instruments have none or one.
        var key = tags.Length switch
        {
            0 => (instrument, null, null),
            1 => (instrument, tags[0].Key, Convert.ToString(tags[0].Value, CultureInfo.InvariantCulture)),
            _ => (instrument, tags[0].Key, string.Join(",", tags.ToArray().Select(t => $"{t.Key}={t.Value}"))),
        };
        Interlocked.Add(ref _series.GetOrAdd(key, static _ => new StrongBox<long>()).Value, measurement);
    }

    private static string Sanitize(string name) => name.Replace('.', '_').Replace('-', '_');

    private static string Escape(string value) => value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal);
}
