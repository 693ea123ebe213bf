using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using System.Diagnostics.Metrics;
using Reliability.Mdp.Broker;
using Reliability.Mdp.Client;
using Reliability.Mdp.Worker;
using Reliability.Transport;

namespace Reliability.Hosting;

/// <summary>
/// Registers Majordomo components with a .NET host (docs/hosting.md). Each takes its settings from a
/// configuration section, optionally adjusted in code, and checks them when the host starts
/// (<c>ValidateOnStart</c>, with the same checks as the option records), so a bad setting stops the host
/// at once with a message naming the section and the setting. Logging, the clock (a registered
/// <see cref="TimeProvider"/>, else the system clock) and, for the broker, the meter factory come from the container.
/// </summary>
// RS0026 guards against adding optional parameters to an existing overload set later; these overloads
// were born together and differ in a type parameter or the handler, so no call is ambiguous.
#pragma warning disable RS0026
public static class MajordomoServiceCollectionExtensions
{
    /// <summary>
    /// Adds a broker that runs while the host runs (bound on start, DISCONNECT sent to its workers on
    /// stop). The section uses the <c>mdbroker</c> settings schema (<see cref="BrokerSettings"/>: <c>Bind</c>,
    /// <c>HeartbeatMs</c>, <c>MaxRequeues</c>, ...), so an <c>mdbroker</c> configuration file works as it is.
    /// The broker itself is registered too (e.g. to read <see cref="MajordomoBroker.BoundEndpoints"/>).
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <param name="configuration">The broker's section, e.g. <c>Majordomo:Broker</c>.</param>
    /// <param name="configure">Adjusts the options read from <paramref name="configuration"/> (e.g. a callback); none when null.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddMajordomoBroker(this IServiceCollection services, IConfiguration configuration, Func<BrokerOptions, BrokerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        HostedOptions<BrokerOptions>.Register(services, Options.DefaultName, configuration, problems =>
        {
            BrokerSettings.TryCreateOptions(configuration.AsEnumerable(makePathsRelative: true), null, out var options, out var found);
            problems.AddRange(found);
            options = configure?.Invoke(options) ?? options;
            options.Validate();
            return options;
        });
        services.TryAddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<HostedOptions<BrokerOptions>>>().Value.Valid;
            options = options with { MeterFactory = options.MeterFactory ?? sp.GetService<IMeterFactory>() };
            return new MajordomoBroker(options, sp.GetService<ILoggerFactory>(), sp.GetService<TimeProvider>());
        });
        // One broker per container: a second call changes its settings instead of running a second loop.
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, BrokerHostedService>());
        return services;
    }

    /// <summary>
    /// Adds a worker for <paramref name="service"/> that serves requests with <paramref name="handler"/>
    /// while the host runs. On host shutdown it takes no further request, finishes the one in progress and
    /// answers it, then sends DISCONNECT, all within the host's shutdown timeout.
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <param name="service">The service the worker offers (overrides any <c>Service</c> in the section).</param>
    /// <param name="handler">Computes the reply body for one request at a time.</param>
    /// <param name="configuration">The worker's section, bound to <see cref="WorkerOptions"/> (e.g. <c>BrokerEndpoint</c>, <c>Heartbeat</c> as <c>00:00:02.5</c>).</param>
    /// <param name="configure">Adjusts the options read from <paramref name="configuration"/>; none when null.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddMajordomoWorker(
        this IServiceCollection services,
        string service,
        Func<MdpRequest, CancellationToken, ValueTask<Message>> handler,
        IConfiguration configuration,
        Func<WorkerOptions, WorkerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return AddWorker(services, service, configuration, configure, _ => handler);
    }

    /// <summary>
    /// Adds a worker for <paramref name="service"/> whose requests are answered by
    /// <typeparamref name="THandler"/>, resolved from a scope of its own for each request (registered as
    /// scoped unless already registered). Shutdown as for the handler overload.
    /// </summary>
    /// <typeparam name="THandler">The handler type.</typeparam>
    /// <param name="services">The host's services.</param>
    /// <param name="service">The service the worker offers.</param>
    /// <param name="configuration">The worker's section, bound to <see cref="WorkerOptions"/>.</param>
    /// <param name="configure">Adjusts the options read from <paramref name="configuration"/>; none when null.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddMajordomoWorker<THandler>(
        this IServiceCollection services,
        string service,
        IConfiguration configuration,
        Func<WorkerOptions, WorkerOptions>? configure = null)
        where THandler : class, IMajordomoHandler
    {
        ArgumentNullException.ThrowIfNull(services);
        services.TryAddScoped<THandler>();
        return AddWorker(services, service, configuration, configure, sp =>
        {
            var scopes = sp.GetRequiredService<IServiceScopeFactory>();
            return async (request, cancellationToken) =>
            {
                var scope = scopes.CreateAsyncScope();
                await using (scope.ConfigureAwait(false))
                {
                    return await scope.ServiceProvider.GetRequiredService<THandler>().HandleAsync(request, cancellationToken).ConfigureAwait(false);
                }
            };
        });
    }

    /// <summary>
    /// Adds a Majordomo client (<see cref="MajordomoClient"/>: one request at a time, retried on a fresh
    /// socket) named <paramref name="name"/>: injected as <c>[FromKeyedServices(name)] IMajordomoClient</c>,
    /// and as a plain <see cref="IMajordomoClient"/> when it is the first client registered. The container
    /// disposes it when the host ends.
    /// </summary>
    /// <param name="services">The host's services.</param>
    /// <param name="name">The client's name (its service key).</param>
    /// <param name="configuration">The client's section, bound to <see cref="MajordomoClientOptions"/> (e.g. <c>BrokerEndpoint</c>, <c>Timeout</c>, <c>Retries</c>).</param>
    /// <param name="configure">Adjusts the options read from <paramref name="configuration"/>; none when null.</param>
    /// <returns><paramref name="services"/>.</returns>
    public static IServiceCollection AddMajordomoClient(
        this IServiceCollection services,
        string name,
        IConfiguration configuration,
        Func<MajordomoClientOptions, MajordomoClientOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(name);
        HostedOptions<MajordomoClientOptions>.Register(services, name, configuration, _ =>
        {
            var options = Bind(new MajordomoClientOptions(), configuration);
            options = configure?.Invoke(options) ?? options;
            options.Validate();
            return options;
        });
        services.AddKeyedSingleton<IMajordomoClient>(name, (sp, _) => new MajordomoClient(
            sp.GetRequiredService<IOptionsMonitor<HostedOptions<MajordomoClientOptions>>>().Get(name).Valid,
            sp.GetService<ILoggerFactory>(),
            sp.GetService<TimeProvider>()));
        services.TryAddSingleton(sp => sp.GetRequiredKeyedService<IMajordomoClient>(name));
        return services;
    }

    private static IServiceCollection AddWorker(
        IServiceCollection services,
        string service,
        IConfiguration configuration,
        Func<WorkerOptions, WorkerOptions>? configure,
        Func<IServiceProvider, Func<MdpRequest, CancellationToken, ValueTask<Message>>> handler)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrEmpty(service);
        ArgumentNullException.ThrowIfNull(configuration);
        HostedOptions<WorkerOptions>.Register(services, service, configuration, _ =>
        {
            var options = Bind(new WorkerOptions(), configuration) with { Service = service };
            options = configure?.Invoke(options) ?? options;
            options.Validate();
            return options;
        });
        services.AddSingleton<IHostedService>(sp => new WorkerHostedService(
            sp.GetRequiredService<IOptionsMonitor<HostedOptions<WorkerOptions>>>().Get(service).Valid,
            handler(sp),
            sp.GetService<ILoggerFactory>(),
            sp.GetService<TimeProvider>() ?? TimeProvider.System));
        return services;
    }

    /// <summary>Binds a section onto an option record; a misspelt key is an error, not a silent default.</summary>
    private static T Bind<T>(T options, IConfiguration configuration)
        where T : class
    {
        configuration.Bind(options, binder => binder.ErrorOnUnknownConfiguration = true);
        return options;
    }
}
#pragma warning restore RS0026
