using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Reliability.Testing;

/// <summary>
/// A logger factory that keeps every line in memory, so a test can assert on what was logged and a
/// failing test can print what the components did (<see cref="ToString"/>).
/// </summary>
public sealed class InMemoryLog : ILoggerFactory
{
    private readonly ConcurrentQueue<string> _lines = new();

    /// <summary>The lines so far: <c>time level category[event id] message exception</c>.</summary>
    public IReadOnlyCollection<string> Lines => _lines;

    /// <inheritdoc />
    public void AddProvider(ILoggerProvider provider)
    {
    }

    /// <inheritdoc />
    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName[(categoryName.LastIndexOf('.') + 1)..]);

    /// <inheritdoc />
    public void Dispose()
    {
    }

    /// <summary>Every line, one per row.</summary>
    public override string ToString() => string.Join(Environment.NewLine, _lines);

    private sealed class Logger(InMemoryLog owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner._lines.Enqueue($"{TimeProvider.System.GetUtcNow():HH:mm:ss.fff} {logLevel} {category}[{eventId.Id}] {formatter(state, exception)}{(exception is null ? string.Empty : " " + exception)}");
    }
}
