using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Reliability.Hosting;

/// <summary>
/// The settings of one registered component, built once from its configuration section and the
/// caller's adjustment. The toolkit's option types are immutable records, which the options pattern
/// cannot configure in place, so the options system holds this box instead: building and validating
/// happen in the options pipeline, where <c>ValidateOnStart</c> reports the problems before anything starts.
/// </summary>
/// <typeparam name="T">The component's option record (broker, worker or client options).</typeparam>
internal sealed class HostedOptions<T>
    where T : class
{
    /// <summary>The options to create the component with; null when building them failed.</summary>
    public T? Value { get; set; }

    /// <summary>What is wrong with the configuration, each naming its section and setting.</summary>
    public List<string> Problems { get; } = [];

    /// <summary>The options, once validation has passed.</summary>
    public T Valid => Value ?? throw new InvalidOperationException(string.Join("; ", Problems));

    /// <summary>
    /// Registers the box under <paramref name="name"/>, built by <paramref name="build"/> and validated on start.
    /// <paramref name="build"/> throws <see cref="ArgumentException"/> (the records' own validation) or
    /// <see cref="InvalidOperationException"/> (the configuration binder) for a bad setting.
    /// </summary>
    public static void Register(IServiceCollection services, string name, IConfiguration configuration, Func<List<string>, T> build)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HostedOptions<T>>, Validator>());
        string section = configuration is IConfigurationSection s ? s.Path : "(configuration root)";
        services.AddOptions<HostedOptions<T>>(name)
            .Configure(box =>
            {
                var problems = new List<string>();
                try
                {
                    box.Value = build(problems);
                }
                catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
                {
                    problems.Add(ex.Message);
                }

                if (problems.Count > 0)
                {
                    box.Value = null;
                    box.Problems.AddRange(problems.Select(p => $"{section}: {p}"));
                }
            })
            .ValidateOnStart();
    }

    /// <summary>Reports the problems found while building.</summary>
    private sealed class Validator : IValidateOptions<HostedOptions<T>>
    {
        public ValidateOptionsResult Validate(string? name, HostedOptions<T> options) =>
            options.Problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(options.Problems);
    }
}
