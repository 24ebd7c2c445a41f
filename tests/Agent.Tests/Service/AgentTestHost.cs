using System.Collections.Concurrent;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Millisampler.Agent.Clock;
using Millisampler.Agent.Sampling;
using Millisampler.Agent.Schedule;
using Millisampler.Agent.Service;
using Millisampler.Contracts.V1;

namespace Millisampler.Agent.Tests.Service;

/// <summary>
/// The real agent host (<see cref="AgentApp.Build"/>) on Kestrel at 127.0.0.1:0 with a fake engine on a fake clock
/// and a run store in a temporary directory; a gRPC client to it.
/// </summary>
internal sealed class AgentTestHost : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly bool _ownsDirectory;

    private AgentTestHost(WebApplication app, string storeDirectory, bool ownsDirectory, FakeTimeProvider time, FakeHostClock clock, FakeRunEngine engine, LogSink logs)
    {
        _app = app;
        _ownsDirectory = ownsDirectory;
        StoreDirectory = storeDirectory;
        Time = time;
        Clock = clock;
        Engine = engine;
        Logs = logs;
        Address = app.Urls.First();
        MetricsAddress = app.Urls.Skip(1).FirstOrDefault() ?? "";
        Channel = GrpcChannel.ForAddress(Address);
        Client = new AgentService.AgentServiceClient(Channel);
    }

    public FakeTimeProvider Time { get; }
    public FakeHostClock Clock { get; }
    public FakeRunEngine Engine { get; }
    public LogSink Logs { get; }
    public string StoreDirectory { get; }
    public string Address { get; }

    /// <summary>The HTTP/1.1 endpoint of /metrics, /healthz and /readyz.</summary>
    public string MetricsAddress { get; }
    public GrpcChannel Channel { get; }
    public AgentService.AgentServiceClient Client { get; }
    public IServiceProvider Services => _app.Services;

    /// <summary>Starts an agent; <paramref name="settings"/> are extra --Key=value settings; <paramref name="storeDirectory"/> reuses a store;
    /// <paramref name="services"/> adds or replaces services (a seeded <see cref="Random"/> for the schedule's jitter).</summary>
    public static async Task<AgentTestHost> StartAsync(IEnumerable<string>? settings = null, string? storeDirectory = null, FakeTimeProvider? time = null,
        Action<IServiceCollection>? services = null)
    {
        bool owns = storeDirectory is null;
        storeDirectory ??= Directory.CreateTempSubdirectory("ms-agent-test-").FullName;
        time ??= new FakeTimeProvider(new DateTimeOffset(2025, 6, 1, 12, 0, 0, TimeSpan.Zero));
        var clock = new FakeHostClock(time);
        var identity = new HostIdentity("test-host", "rack-1", [new InterfaceInfo { Name = "eth0", Ifindex = 2, LinkSpeedBitsPerSecond = 12_500_000_000, LinkSpeedSource = "config" }]);
        var engine = new FakeRunEngine(clock, time, identity);
        var logs = new LogSink();
        string[] args =
        [
            "--urls=http://127.0.0.1:0",
            "--Agent:MetricsListen=http://127.0.0.1:0",
            // The service tests are about the agent's logic; Security/ runs it with certificates.
            "--Security:Insecure=true",
            "--Agent:Interfaces:0=eth0",
            "--Agent:Host=test-host",
            "--Agent:Rack=rack-1",
            "--Agent:Schedule:Enabled=false",
            $"--Agent:RunStore:Directory={storeDirectory}",
            "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:Millisampler=Information",
            .. settings ?? [],
        ];
        var app = AgentApp.Build(args, b =>
        {
            b.Services.AddSingleton<TimeProvider>(time);
            b.Services.AddSingleton<HostClock>(clock);
            b.Services.AddSingleton(identity);
            b.Services.AddSingleton<IRunEngine>(engine);
            services?.Invoke(b.Services);
            b.Logging.ClearProviders();
            b.Logging.AddProvider(logs);
        });
        var errors = AgentApp.ValidateConfiguration(app.Services);
        if (errors.Count > 0)
        {
            throw new InvalidOperationException(string.Join("\n", errors));
        }

        await app.StartAsync();
        return new AgentTestHost(app, storeDirectory, owns, time, clock, engine, logs);
    }

    public RunArbiter Runs => _app.Services.GetRequiredService<RunArbiter>();

    /// <summary>A ScheduleRun request for a run <paramref name="leadMs"/> ahead on the fake clock.</summary>
    public ScheduleRunRequest Request(string runId, long leadMs = 300, long binWidthNs = 1_000_000, uint bins = 2000) => new()
    {
        RunId = runId,
        StartTaiNs = Clock.NowTaiNs() + (leadMs * 1_000_000),
        BinWidthNs = binWidthNs,
        Bins = bins,
        Requester = "test-coordinator",
    };

    /// <summary>Advances the fake clock in small steps, so timers due on the way fire in order.</summary>
    public async Task AdvanceAsync(TimeSpan by, TimeSpan? step = null)
    {
        var s = step ?? TimeSpan.FromMilliseconds(100);
        for (var done = TimeSpan.Zero; done < by; done += s)
        {
            Time.Advance(by - done < s ? by - done : s);
            await Task.Delay(5);
        }
    }

    public async Task StopAsync() => await _app.StopAsync();

    public async ValueTask DisposeAsync()
    {
        Channel.Dispose();
        await _app.StopAsync();
        await _app.DisposeAsync();
        if (_ownsDirectory)
        {
            Directory.Delete(StoreDirectory, recursive: true);
        }
    }
}

/// <summary>Keeps every log message, for tests that check what the agent said.</summary>
internal sealed class LogSink : ILoggerProvider
{
    private readonly ConcurrentQueue<(string Category, EventId Id, string Message)> _entries = new();

    private readonly ConcurrentQueue<(LogLevel Level, string Category, string Message, Exception? Exception)> _all = new();

    public IReadOnlyList<(string Category, EventId Id, string Message)> Entries => [.. _entries];

    /// <summary>Every entry with its level and exception, to check that nothing logged a stack trace.</summary>
    public IReadOnlyList<(LogLevel Level, string Category, string Message, Exception? Exception)> All => [.. _all];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(LogSink sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            string message = formatter(state, exception);
            sink._entries.Enqueue((category, eventId, message));
            sink._all.Enqueue((logLevel, category, message, exception));
        }
    }
}
