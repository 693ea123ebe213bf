using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;

namespace Reliability.Mdp.Broker.Service;

/// <summary>
/// <c>--metrics-listen</c>: one HTTP listener for operators with <c>/metrics</c> (the broker's instruments
/// in Prometheus text), <c>/healthz</c> (live: the service answers) and <c>/readyz</c> (ready: bound and,
/// with <c>--ready-services</c>, at least one worker for each listed service), the checks run through
/// Microsoft.Extensions.Diagnostics.HealthChecks. Our own small listener rather than the OpenTelemetry
/// Prometheus exporter, whose listener serves only the metrics path and so could not carry the checks.
/// </summary>
internal sealed class OperatorEndpoints : IAsyncDisposable
{
    private const string LiveTag = "live";
    private const string ReadyTag = "ready";
    private const string WorkersInstrument = "reliability.mdp.broker.workers";

    private readonly ServiceProvider _services;
    private readonly PrometheusText _metrics;
    private readonly HttpListener _http = new();
    private readonly string _prefix;
    private readonly ILogger _logger;
    private MajordomoBroker? _broker;
    private Task? _serving;

    /// <summary>Prepares the meter factory and the checks; nothing listens before <see cref="Start"/>.</summary>
    public OperatorEndpoints(string prefix, IReadOnlyList<string> readyServices, ILoggerFactory loggerFactory)
    {
        _prefix = prefix;
        _logger = loggerFactory.CreateLogger("mdbroker");
        var services = new ServiceCollection().AddSingleton(loggerFactory).AddLogging().AddMetrics();
        var checks = services.AddHealthChecks()
            .AddCheck("alive", () => HealthCheckResult.Healthy(), [LiveTag])
            .AddCheck("bound", () => _broker is { BoundEndpoints.Count: > 0 } broker
                ? HealthCheckResult.Healthy("listening on " + string.Join(", ", broker.BoundEndpoints))
                : HealthCheckResult.Unhealthy("not listening yet"), [ReadyTag]);
        if (readyServices.Count > 0)
        {
            checks.AddCheck("workers", () =>
            {
                var missing = readyServices.Where(s => _metrics!.Value(WorkersInstrument, "mdp.service", s) <= 0).ToList();
                return missing.Count == 0
                    ? HealthCheckResult.Healthy("every listed service has a worker")
                    : HealthCheckResult.Unhealthy("no worker for " + string.Join(", ", missing));
            }, [ReadyTag]);
        }

        _services = services.BuildServiceProvider();
        MeterFactory = _services.GetRequiredService<IMeterFactory>();
        _metrics = new PrometheusText(MeterFactory);
    }

    /// <summary>The factory to create the broker's meter with, so that exactly its instruments are served.</summary>
    public IMeterFactory MeterFactory { get; }

    /// <summary>Starts listening. Throws <see cref="HttpListenerException"/> when the prefix cannot be bound.</summary>
    public void Start(MajordomoBroker broker)
    {
        _broker = broker;
        _http.Prefixes.Add(_prefix);
        _http.Start();
        OperatorLog.Serving(_logger, _prefix);
        _serving = ServeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_http.IsListening)
        {
            _http.Stop();
        }

        if (_serving is not null)
        {
            await _serving;
        }

        _http.Close();
        _metrics.Dispose();
        await _services.DisposeAsync();
    }

    private async Task ServeAsync()
    {
        var health = _services.GetRequiredService<HealthCheckService>();

        // Bounded by the listener: Stop makes GetContextAsync throw.
        while (_http.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _http.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            try
            {
                await AnswerAsync(context, health);
            }
            catch (Exception ex) when (ex is HttpListenerException or IOException)
            {
                // The scraper went away mid-answer; the next one is served as usual.
            }
        }
    }

    private async Task AnswerAsync(HttpListenerContext context, HealthCheckService health)
    {
        var response = context.Response;
        string path = context.Request.Url?.AbsolutePath.TrimEnd('/') ?? string.Empty;
        string body;
        if (path == "/metrics")
        {
            response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
            body = _metrics.Render();
        }
        else if (path is "/healthz" or "/readyz")
        {
            string tag = path == "/healthz" ? LiveTag : ReadyTag;
            var report = await health.CheckHealthAsync(check => check.Tags.Contains(tag));
            response.StatusCode = report.Status == HealthStatus.Healthy ? 200 : 503;
            response.ContentType = "text/plain; charset=utf-8";
            body = report.Status + "\n" + string.Concat(report.Entries.Select(e => $"{e.Key}: {e.Value.Status} ({e.Value.Description})\n"));
        }
        else
        {
            response.StatusCode = 404;
            body = "not found: try /metrics, /healthz or /readyz\n";
        }

        byte[] bytes = Encoding.UTF8.GetBytes(body);
        response.ContentLength64 = bytes.Length;
        await response.OutputStream.WriteAsync(bytes);
        response.Close();
    }
}

/// <summary>Operator endpoint log messages (event id 3195, inside the service's range).</summary>
internal static partial class OperatorLog
{
    [LoggerMessage(EventId = 3195, Level = LogLevel.Information, Message = "Serving /metrics, /healthz and /readyz on {Prefix}")]
    public static partial void Serving(ILogger logger, string prefix);
}
