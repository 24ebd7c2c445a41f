using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Millisampler.Agent.Tests.Storage;

/// <summary>An ILogger that keeps every entry, so tests can assert on warnings and event ids.</summary>
internal sealed class FakeLogger<T> : ILogger<T>
{
    private readonly ConcurrentQueue<FakeLogEntry> _entries = new();

    public IReadOnlyList<FakeLogEntry> Entries => _entries.ToArray();

    public IEnumerable<FakeLogEntry> AtLeast(LogLevel level) => Entries.Where(e => e.Level >= level);

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        _entries.Enqueue(new FakeLogEntry(logLevel, eventId, formatter(state, exception), exception));
}

internal sealed record FakeLogEntry(LogLevel Level, EventId EventId, string Message, Exception? Exception);
