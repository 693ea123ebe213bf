using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Reliability.Transport;

namespace Reliability.Examples;

/// <summary>An example program: parsed arguments and a token cancelled by Ctrl-C or SIGTERM; returns the exit code.</summary>
internal delegate Task<int> Example(ExampleArguments arguments, CancellationToken cancellationToken);

/// <summary>Bad command-line options; reported with exit code 2.</summary>
internal sealed class ExampleUsageException(string message) : Exception(message);

/// <summary>Minimal <c>--name value</c> option parsing with strict validation (unknown options are errors).</summary>
internal sealed class ExampleArguments
{
    private readonly Dictionary<string, List<string>> _values = new(StringComparer.Ordinal);
    private readonly HashSet<string> _consumed = new(StringComparer.Ordinal);

    public ExampleArguments(string name, IReadOnlyList<string> args)
    {
        Name = name;
        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
            {
                throw new ExampleUsageException($"unexpected argument '{arg}'");
            }

            if (i + 1 >= args.Count)
            {
                throw new ExampleUsageException($"option '{arg}' needs a value");
            }

            string option = arg[2..];
            if (!_values.TryGetValue(option, out var values))
            {
                _values[option] = values = [];
            }

            values.Add(args[++i]);
        }
    }

    public string Name { get; }

    /// <summary>The option's value (the last one when repeated), or <paramref name="defaultValue"/>.</summary>
    public string String(string option, string defaultValue)
    {
        _consumed.Add(option);
        return _values.TryGetValue(option, out var values) ? values[^1] : defaultValue;
    }

    /// <summary>Every value of a repeatable option, in command-line order; empty when it is absent.</summary>
    public IReadOnlyList<string> Strings(string option)
    {
        _consumed.Add(option);
        return _values.TryGetValue(option, out var values) ? values : [];
    }

    public int Int(string option, int defaultValue, int min = 0, int max = int.MaxValue)
    {
        _consumed.Add(option);
        if (!_values.TryGetValue(option, out var values))
        {
            return defaultValue;
        }

        string text = values[^1];

        if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int value) || value < min || value > max)
        {
            throw new ExampleUsageException($"--{option} must be an integer in {min}..{max} (was '{text}')");
        }

        return value;
    }

    /// <summary>Call after reading every option: unknown options are reported instead of silently ignored.</summary>
    public void EnsureAllUsed()
    {
        var unknown = _values.Keys.Where(k => !_consumed.Contains(k)).ToList();
        if (unknown.Count > 0)
        {
            throw new ExampleUsageException("unknown option(s): " + string.Join(", ", unknown.Select(u => "--" + u)));
        }
    }

    public ILoggerFactory CreateLoggerFactory() => LoggerFactory.Create(builder => builder
        .AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "HH:mm:ss.fff ";
        })
        .SetMinimumLevel(LogLevel.Information));
}

/// <summary>The bind-then-serve shape every queue and broker example shares.</summary>
internal static class ServeExample
{
    /// <summary>
    /// Binds; when an endpoint cannot be bound, reports it through <paramref name="bindFailed"/> and
    /// returns exit code 1. Otherwise serves until cancelled and returns 0.
    /// </summary>
    public static async Task<int> BindThenRunAsync(Action bind, Func<Task> run, Action<EndpointException> bindFailed)
    {
        try
        {
            bind();
        }
        catch (EndpointException ex)
        {
            bindFailed(ex);
            return 1;
        }

        await run();
        return 0;
    }
}

/// <summary>Turns Ctrl-C and SIGTERM into cancellation, so every example ends within a second.</summary>
internal sealed class ShutdownSignal : IDisposable
{
    private readonly CancellationTokenSource _source = new();
    private readonly PosixSignalRegistration _sigint;
    private readonly PosixSignalRegistration _sigterm;

    public ShutdownSignal()
    {
        _sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle);
        _sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle);
    }

    public CancellationToken Token => _source.Token;

    private void Handle(PosixSignalContext context)
    {
        context.Cancel = true;
        _source.Cancel();
    }

    public void Dispose()
    {
        _sigint.Dispose();
        _sigterm.Dispose();
        _source.Dispose();
    }
}
