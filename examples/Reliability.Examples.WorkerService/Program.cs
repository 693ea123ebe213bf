using System.Globalization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using OpenTelemetry.Trace;
using Reliability.Hosting;
using Reliability.Mdp.Client;
using Reliability.Mdp.Worker;
using Reliability.Transport;

// A worker service on the Generic Host, configured from appsettings.json (and, as any host, from
// environment variables such as Majordomo__Worker__BrokerEndpoint and the command line):
//   - a broker, unless Majordomo:RunBroker is false (then point the endpoints at a running mdbroker);
//   - a "clock" worker with a typed handler, resolved from DI for each request;
//   - a "greeter" worker whose handler asks "clock" through an injected (named) IMajordomoClient;
//   - a caller that sends Demo:Requests requests to "greeter", logs the replies and stops the host;
//   - with Demo:TraceToConsole, every request's trace on the console: caller → broker → greeter → broker → clock
//     in one trace (MDP/0.2 with TraceContext on both ends, docs/telemetry.md).
// Ctrl+C stops it gracefully: each worker finishes its request in progress, then sends DISCONNECT.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = args, ContentRootPath = AppContext.BaseDirectory });
var majordomo = builder.Configuration.GetSection("Majordomo");
if (majordomo.GetValue("RunBroker", true))
{
    builder.Services.AddMajordomoBroker(majordomo.GetSection("Broker"));
}

builder.Services.AddSingleton(TimeProvider.System);
if (builder.Configuration.GetValue("Demo:TraceToConsole", false))
{
    builder.Services.AddOpenTelemetry().WithTracing(tracing => tracing.AddReliabilityInstrumentation().AddConsoleExporter());
}

// Two named clients: MajordomoClient sends one request at a time, so the greeter's call to "clock" must not
// wait behind the caller's request to "greeter" on the same client. The first registered is also the plain IMajordomoClient.
builder.Services.AddMajordomoClient("main", majordomo.GetSection("Client"));
builder.Services.AddMajordomoClient("backend", majordomo.GetSection("Client"));
builder.Services.AddMajordomoWorker<ClockHandler>("clock", majordomo.GetSection("Worker"));
builder.Services.AddMajordomoWorker<GreeterHandler>("greeter", majordomo.GetSection("Worker"));
builder.Services.AddHostedService<Caller>();
await builder.Build().RunAsync();

/// <summary>"clock": replies with the current UTC time.</summary>
internal sealed class ClockHandler(TimeProvider time) : IMajordomoHandler
{
    public ValueTask<Message> HandleAsync(MdpRequest request, CancellationToken cancellationToken) =>
        ValueTask.FromResult(Message.FromStrings(time.GetUtcNow().ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture)));
}

/// <summary>"greeter": greets the name in the request, with the time it got from "clock".</summary>
internal sealed class GreeterHandler([FromKeyedServices("backend")] IMajordomoClient client) : IMajordomoHandler
{
    public async ValueTask<Message> HandleAsync(MdpRequest request, CancellationToken cancellationToken)
    {
        var now = await client.RequestAsync("clock", new Message(), cancellationToken);
        return Message.FromStrings($"Hello, {request.Body.GetString(0)}! It is {now.Body.GetString(0)} UTC.");
    }
}

/// <summary>Calls "greeter" a few times, then stops the application.</summary>
internal sealed partial class Caller(IMajordomoClient client, IConfiguration configuration, IHostApplicationLifetime lifetime, ILogger<Caller> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        int requests = configuration.GetValue("Demo:Requests", 3);
        for (int i = 1; i <= requests && !stoppingToken.IsCancellationRequested; i++)
        {
            try
            {
                var reply = await client.RequestAsync("greeter", Message.FromStrings($"caller #{i}"), stoppingToken);
                string text = reply.Body.GetString(0);
                Replied(logger, text);
            }
            catch (MdpRequestFailedException ex)
            {
                Failed(logger, ex.Message);
            }
        }

        lifetime.StopApplication();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "greeter replied: {Reply}")]
    private static partial void Replied(ILogger logger, string reply);

    [LoggerMessage(Level = LogLevel.Warning, Message = "greeter did not reply: {Reason}")]
    private static partial void Failed(ILogger logger, string reason);
}
